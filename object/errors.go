package object

import (
	"fmt"

	"github.com/batos/batos/errcode"
)

// Every sentinel error below is made by errcode.New: its method Code()
// string returns its class (an errcode constant, which the Synaptic
// Bridge sends as the reply code): "not_found", "busy",
// "bad_request", "unavailable" or "internal". A server finds it with
// errors.As on an interface{ Code() string }; the sentinels stay
// comparable with errors.Is.
var (
	// ErrNotFound is returned when an object, root, blob or key does not exist.
	ErrNotFound = errcode.New(errcode.NotFound, "object: not found")
	// ErrNotUnderstood is matched by a *NotUnderstoodError: a slot lookup
	// that failed on the object and all of its parents.
	ErrNotUnderstood = errcode.New(errcode.Internal, "object: message not understood")
	// ErrConflict is returned by Update when another transaction committed a
	// change to something this transaction read. Nothing was written.
	ErrConflict = errcode.New(errcode.Busy, "object: transaction conflict")
	// ErrCorrupt is returned when stored bytes fail to decode or a blob fails
	// its hash check.
	ErrCorrupt = errcode.New(errcode.Internal, "object: corrupt data")
	// ErrClosed is returned by operations on a closed Store.
	ErrClosed = errcode.New(errcode.Unavailable, "object: store closed")
	// ErrDoomed is returned by Update when the transaction was doomed with
	// Tx.Doom and its function returned nil.
	ErrDoomed = errcode.New(errcode.Internal, "object: transaction doomed")
	// ErrReadOnly is returned by writes inside View.
	ErrReadOnly = errcode.New(errcode.Internal, "object: read-only transaction")
	// ErrInvalid is returned for invalid arguments: OID 0, a bad slot name, a
	// value of an unsupported type, an empty root name.
	ErrInvalid = errcode.New(errcode.BadRequest, "object: invalid argument")
	// ErrSavepoint is returned by Tx.RollbackTo for a savepoint that is not
	// live in that transaction: the zero Savepoint, one taken in another
	// transaction, or one taken after a savepoint that was since rolled
	// back to.
	ErrSavepoint = errcode.New(errcode.Internal, "object: savepoint not live in this transaction")
	// ErrDiskFull is returned by a commit (and a blob write) refused
	// because the store's file system has less free space than
	// Options.MinFreeBytes. Nothing was written; reads keep working, and
	// writes resume without a restart once space is freed.
	ErrDiskFull = errcode.New(errcode.Unavailable, "object: not enough free disk space")
	// ErrStorage is returned by a write the storage failed (an I/O error
	// or a full disk reported by the write-ahead log), and by writes after
	// it while the fault lasts. Whether the failed write itself survives
	// is unknown until the store reopens; no write is ever half applied.
	// Reads keep being answered; the first write after the fault clears
	// reopens the database, without a restart.
	ErrStorage = errcode.New(errcode.Unavailable, "object: storage failed")
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

// Code returns ErrNotUnderstood's code.
func (e *NotUnderstoodError) Code() string { return errcode.CodeOf(ErrNotUnderstood) }

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

// Code returns ErrCorrupt's code.
func (e *CorruptError) Code() string { return errcode.CodeOf(ErrCorrupt) }

// PanicError wraps a panic recovered inside a transaction function.
type PanicError struct{ Value any }

func (e *PanicError) Error() string { return fmt.Sprintf("object: panic in transaction: %v", e.Value) }
