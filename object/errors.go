package object

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound is returned when an object, root, blob or key does not exist.
	ErrNotFound = errors.New("object: not found")
	// ErrNotUnderstood is matched by a *NotUnderstoodError: a slot lookup
	// that failed on the object and all of its parents.
	ErrNotUnderstood = errors.New("object: message not understood")
	// ErrConflict is returned by Update when another transaction committed a
	// change to something this transaction read. Nothing was written.
	ErrConflict = errors.New("object: transaction conflict")
	// ErrCorrupt is returned when stored bytes fail to decode or a blob fails
	// its hash check.
	ErrCorrupt = errors.New("object: corrupt data")
	// ErrClosed is returned by operations on a closed Store.
	ErrClosed = errors.New("object: store closed")
	// ErrDoomed is returned by Update when the transaction was doomed with
	// Tx.Doom and its function returned nil.
	ErrDoomed = errors.New("object: transaction doomed")
	// ErrReadOnly is returned by writes inside View.
	ErrReadOnly = errors.New("object: read-only transaction")
	// ErrInvalid is returned for invalid arguments: OID 0, a bad slot name, a
	// value of an unsupported type, an empty root name.
	ErrInvalid = errors.New("object: invalid argument")
	// ErrSavepoint is returned by Tx.RollbackTo for a savepoint that is not
	// live in that transaction: the zero Savepoint, one taken in another
	// transaction, or one taken after a savepoint that was since rolled
	// back to.
	ErrSavepoint = errors.New("object: savepoint not live in this transaction")
)

// NotUnderstoodError reports a failed slot lookup. It matches ErrNotUnderstood.
type NotUnderstoodError struct {
	OID  OID    // the receiver
	Slot string // the selector that was looked up
}

func (e *NotUnderstoodError) Error() string {
	return fmt.Sprintf("object: OID %d does not understand %q", e.OID, e.Slot)
}

// Is reports whether target is ErrNotUnderstood.
func (e *NotUnderstoodError) Is(target error) bool { return target == ErrNotUnderstood }

// CorruptError names the key whose value failed to decode. It matches ErrCorrupt.
type CorruptError struct {
	Key    []byte
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("object: corrupt value at key %q: %s", e.Key, e.Reason)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// PanicError wraps a panic recovered inside a transaction function.
type PanicError struct{ Value any }

func (e *PanicError) Error() string { return fmt.Sprintf("object: panic in transaction: %v", e.Value) }
