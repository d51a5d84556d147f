package object

import "fmt"

// Every sentinel error below has a method Code() string that returns its
// class, one of the stable codes of the Synaptic Bridge (package
// bridge/wire, which object does not import): "not_found", "busy",
// "bad_request", "unavailable" or "internal". A server finds it with
// errors.As on an interface{ Code() string }; the sentinels stay
// comparable with errors.Is.
var (
	// ErrNotFound is returned when an object, root, blob or key does not exist.
	ErrNotFound = newError("not_found", "object: not found")
	// ErrNotUnderstood is matched by a *NotUnderstoodError: a slot lookup
	// that failed on the object and all of its parents.
	ErrNotUnderstood = newError("internal", "object: message not understood")
	// ErrConflict is returned by Update when another transaction committed a
	// change to something this transaction read. Nothing was written.
	ErrConflict = newError("busy", "object: transaction conflict")
	// ErrCorrupt is returned when stored bytes fail to decode or a blob fails
	// its hash check.
	ErrCorrupt = newError("internal", "object: corrupt data")
	// ErrClosed is returned by operations on a closed Store.
	ErrClosed = newError("unavailable", "object: store closed")
	// ErrDoomed is returned by Update when the transaction was doomed with
	// Tx.Doom and its function returned nil.
	ErrDoomed = newError("internal", "object: transaction doomed")
	// ErrReadOnly is returned by writes inside View.
	ErrReadOnly = newError("internal", "object: read-only transaction")
	// ErrInvalid is returned for invalid arguments: OID 0, a bad slot name, a
	// value of an unsupported type, an empty root name.
	ErrInvalid = newError("bad_request", "object: invalid argument")
	// ErrSavepoint is returned by Tx.RollbackTo for a savepoint that is not
	// live in that transaction: the zero Savepoint, one taken in another
	// transaction, or one taken after a savepoint that was since rolled
	// back to.
	ErrSavepoint = newError("internal", "object: savepoint not live in this transaction")
	// ErrDiskFull is returned by a commit (and a blob write) refused
	// because the store's file system has less free space than
	// Options.MinFreeBytes. Nothing was written; reads keep working, and
	// writes resume without a restart once space is freed.
	ErrDiskFull = newError("unavailable", "object: not enough free disk space")
	// ErrStorage is returned by a write the storage failed (an I/O error
	// or a full disk reported by the write-ahead log), and by writes after
	// it while the fault lasts. Whether the failed write itself survives
	// is unknown until the store reopens; no write is ever half applied.
	// Reads keep being answered; the first write after the fault clears
	// reopens the database, without a restart.
	ErrStorage = newError("unavailable", "object: storage failed")
)

// codedError is a sentinel error with the code a server reports it under.
type codedError struct{ code, msg string }

func newError(code, msg string) error { return &codedError{code: code, msg: msg} }

func (e *codedError) Error() string { return e.msg }

// Code returns the error's class, e.g. "not_found".
func (e *codedError) Code() string { return e.code }

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
func (e *NotUnderstoodError) Code() string { return ErrNotUnderstood.(*codedError).code }

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
func (e *CorruptError) Code() string { return ErrCorrupt.(*codedError).code }

// PanicError wraps a panic recovered inside a transaction function.
type PanicError struct{ Value any }

func (e *PanicError) Error() string { return fmt.Sprintf("object: panic in transaction: %v", e.Value) }
