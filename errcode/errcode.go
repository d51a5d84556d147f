// Package errcode gives the module's sentinel errors the stable class a
// server reports them under, so that the classes are defined once and
// travel with the errors (the bridge's reply codes are these strings).
//
// A package declares its sentinels with New; they stay comparable with
// errors.Is, and Of finds the class of any error that wraps one (or that
// has a Code() string method of its own) with errors.As. The package
// imports nothing of the module, so every core package may use it.
package errcode

import "errors"

// The classes.
const (
	BadRequest  = "bad_request" // the request or its input is at fault
	NotFound    = "not_found"   // an object, cycle, document or blob does not exist
	Busy        = "busy"        // a queue is full or a transaction conflicted: retry
	Timeout     = "timeout"     // a deadline passed
	TooLarge    = "too_large"   // an input or output exceeds a bound
	Unavailable = "unavailable" // shutting down, no model, or the storage cannot write now
	Internal    = "internal"    // anything else: a fault of the server
)

// Error is a sentinel error with its class.
type Error struct{ code, msg string }

// New returns a sentinel error with message msg in class code.
func New(code, msg string) error { return &Error{code: code, msg: msg} }

// Error returns the message.
func (e *Error) Error() string { return e.msg }

// Code returns the class, e.g. NotFound.
func (e *Error) Code() string { return e.code }

// Of returns the class of the first error on err's chain that has one,
// or "" when none has.
func Of(err error) string {
	var c interface{ Code() string }
	if errors.As(err, &c) {
		return c.Code()
	}
	return ""
}

// CodeOf returns the class of sentinel, which must be made by New.
func CodeOf(sentinel error) string { return sentinel.(*Error).code }
