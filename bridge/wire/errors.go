package wire

import (
	"errors"
	"fmt"

	"github.com/tinylib/msgp/msgp"
)

var (
	// ErrNotMap is returned by DecodeRequest and DecodeReply when the top
	// level of a payload is not a msgpack map.
	ErrNotMap = errors.New("wire: message is not a map")
	// ErrTrailingBytes is returned when bytes follow the one message a
	// payload must hold.
	ErrTrailingBytes = errors.New("wire: trailing bytes after message")
	// ErrTooDeep is returned when a value nests lists and maps deeper than
	// MaxDepth.
	ErrTooDeep = errors.New("wire: value nested too deeply")
	// ErrTooLarge is returned when a list or map claims more than
	// MaxElements elements, or more elements than the payload can hold.
	ErrTooLarge = errors.New("wire: container too large")
	// ErrUnsupportedType is returned when a value is not one of the types
	// listed on Value (for example a msgpack extension, or a Go channel).
	ErrUnsupportedType = errors.New("wire: unsupported value type")
	// ErrMapKey is returned when a map key is not a string.
	ErrMapKey = errors.New("wire: map key is not a string")
	// ErrUnknownCommand is returned by Validate for a command that is not
	// one of the Cmd constants.
	ErrUnknownCommand = errors.New("wire: unknown command")
	// ErrMissingField is returned (inside a *FieldError) when a field the
	// command requires is absent or empty.
	ErrMissingField = errors.New("wire: missing required field")
	// ErrInvalidField is returned (inside a *FieldError) when a field has a
	// value the command does not accept, such as a negative limit.
	ErrInvalidField = errors.New("wire: invalid field")
	// ErrUnknownField is returned by DecodeRequestStrict (inside a
	// *FieldError) for a key that no command defines.
	ErrUnknownField = errors.New("wire: unknown field")
	// ErrBadStatus is returned by DecodeReply when status is neither "ok"
	// nor "error".
	ErrBadStatus = errors.New("wire: bad reply status")
)

// FieldError reports a problem with one field of a message.
type FieldError struct {
	Field string // msgpack key, e.g. "target_oid"
	Err   error  // ErrMissingField, ErrInvalidField, ErrUnknownField, ...
}

// Error implements error.
func (e *FieldError) Error() string { return fmt.Sprintf("%v: %q", e.Err, e.Field) }

// Unwrap returns e.Err.
func (e *FieldError) Unwrap() error { return e.Err }

// ReplyError is the error a client sees when a Reply has status "error".
// Code is one of the Code constants (or a code the server invented).
type ReplyError struct {
	Code    string // the reply's code
	Message string // the reply's message
}

// Error implements error.
func (e *ReplyError) Error() string {
	if e.Code == "" {
		return "wire: remote error: " + e.Message
	}
	return "wire: remote error (" + e.Code + "): " + e.Message
}

// CodeOf maps a decoding or validation error to the reply code a server
// should send: CodeUnknownCommand for ErrUnknownCommand, CodeTooLarge for
// ErrTooLarge, CodeBadRequest for anything else that is not nil.
func CodeOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrUnknownCommand):
		return CodeUnknownCommand
	case errors.Is(err, ErrTooLarge), errors.Is(err, msgp.ErrLimitExceeded):
		return CodeTooLarge
	default:
		return CodeBadRequest
	}
}
