package gguf

import (
	"errors"
	"fmt"
)

// Errors returned by the reader and writer. They are wrapped with context;
// test for them with errors.Is.
var (
	// ErrMagic is returned when a file does not start with "GGUF".
	ErrMagic = errors.New("gguf: bad magic (not a GGUF file)")
	// ErrVersion is returned for a GGUF version other than 2 or 3.
	ErrVersion = errors.New("gguf: unsupported version")
	// ErrTruncated is returned when the file ends before a structure it
	// announces (header, metadata, tensor infos or tensor data), including
	// when a count or length claims more bytes than the file has left.
	ErrTruncated = errors.New("gguf: truncated file")
	// ErrInvalid is returned for a structurally invalid file: an unknown
	// value or tensor type, a bad shape, alignment or offset, a duplicate
	// key or tensor name.
	ErrInvalid = errors.New("gguf: invalid file")
	// ErrNotFound is returned when a metadata key or tensor is absent.
	ErrNotFound = errors.New("gguf: not found")
	// ErrType is returned when a metadata value or tensor has another type
	// than the one asked for.
	ErrType = errors.New("gguf: wrong type")
	// ErrUnsupported is returned when asked to decode or encode a tensor
	// type this package can only carry as raw bytes.
	ErrUnsupported = errors.New("gguf: unsupported tensor type")
	// ErrRange is returned by Encode for a value that is not finite or
	// that the target type cannot represent (a float16 overflow).
	ErrRange = errors.New("gguf: value out of range")
	// ErrWriter is returned for misuse of a Writer: tensor data longer or
	// shorter than declared, or a write after Close.
	ErrWriter = errors.New("gguf: writer misuse")
)

// FormatError describes where in a file parsing failed. It wraps one of
// the sentinel errors above.
type FormatError struct {
	Offset int64  // byte offset in the file where the problem was found
	What   string // the structure being read, e.g. `key "general.name"`
	Err    error  // ErrTruncated, ErrInvalid, ...
	Detail string // optional human explanation
}

// Error describes the problem and where it was found.
func (e *FormatError) Error() string {
	s := fmt.Sprintf("%v at offset %d reading %s", e.Err, e.Offset, e.What)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *FormatError) Unwrap() error { return e.Err }
