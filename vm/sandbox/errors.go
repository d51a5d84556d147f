package sandbox

import (
	"github.com/batos/batos/errcode"

	"errors"
	"fmt"
)

// Every sentinel error below is made by errcode.New: its method Code()
// string returns its class (an errcode constant, which the Synaptic
// Bridge sends as the reply code): a method that broke a rule
// or a limit is "bad_request" (the request ran it), except the size limits
// ("too_large") and the time limit ("timeout"). A server finds it with
// errors.As on an interface{ Code() string }; the sentinels stay
// comparable with errors.Is.
var (
	// ErrCovenant is returned when a method changed state (on its receiver
	// or, through their own methods, on other objects) without setting
	// self._p_changed = True after the change. Nothing the call did is
	// applied.
	ErrCovenant = errcode.New(errcode.BadRequest, "sandbox: covenant violation: state changed without self._p_changed = True")
	// ErrSteps is returned when a call ran past Options.MaxSteps.
	ErrSteps = errcode.New(errcode.BadRequest, "sandbox: step limit exceeded")
	// ErrMemory is returned when a call tried to use more memory than
	// Options.MaxAllocBytes allows (the worker process hit its limit).
	ErrMemory = errcode.New(errcode.TooLarge, "sandbox: memory limit exceeded")
	// ErrCanceled is returned when the call's context was canceled or its
	// deadline (or Options.Timeout) passed; the error also matches the
	// context's error (context.Canceled or context.DeadlineExceeded).
	ErrCanceled = errcode.New(errcode.Timeout, "sandbox: call canceled")
	// ErrDepth is returned when nested method calls went deeper than
	// Options.MaxCallDepth, or the worker ran out of Go stack.
	ErrDepth = errcode.New(errcode.BadRequest, "sandbox: call depth exceeded")
	// ErrOutput is returned when print output went over
	// Options.MaxPrintBytes or the result went over Options.MaxResultBytes.
	ErrOutput = errcode.New(errcode.TooLarge, "sandbox: output limit exceeded")
	// ErrFailed is matched by a *MethodError: the method raised a Starlark
	// error (fail(), a type error, an unknown attribute, ...).
	ErrFailed = errcode.New(errcode.BadRequest, "sandbox: method failed")
	// ErrRejected is returned when the method's source does not pass the
	// guardian audit the sandbox repeats before compiling it; the error
	// also matches guardian.ErrRejected.
	ErrRejected = errcode.New(errcode.BadRequest, "sandbox: method rejected")
	// ErrWorker is returned when the worker process failed for a reason
	// other than the limits above (it could not start, or crashed).
	ErrWorker = errcode.New(errcode.Internal, "sandbox: worker failed")
	// ErrCapability is matched by the error of a method that called a
	// capability it was not granted (reached through another object, a
	// computed value or nested data), or tried to store a reference to
	// a capability object in a slot.
	ErrCapability = errcode.New(errcode.BadRequest, "sandbox: capability not granted")
	// ErrClosed is returned by Call after Close.
	ErrClosed = errcode.New(errcode.Unavailable, "sandbox: runner closed")
)

// coder is what Code methods report through.
type coder interface{ Code() string }

// MethodError reports a Starlark error raised by a method. It matches
// ErrFailed and, when the error came from a primitive that the method
// called, that primitive's error.
type MethodError struct {
	Selector  string
	Msg       string // the Starlark error message
	Backtrace string // Starlark backtrace, when known
	Err       error  // the primitive's error, if any
}

// Error formats the selector and the Starlark message.
func (e *MethodError) Error() string {
	return fmt.Sprintf("sandbox: method %s failed: %s", e.Selector, e.Msg)
}

// Unwrap returns ErrFailed and the primitive's error, if any.
func (e *MethodError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrFailed, e.Err}
	}
	return []error{ErrFailed}
}

// Code returns the code of the primitive's error when it has one other
// than "internal" (a primitive that found no object is not_found), else
// ErrFailed's: the method is at fault.
func (e *MethodError) Code() string {
	var c coder
	if e.Err != nil && errors.As(e.Err, &c) && c.Code() != "internal" {
		return c.Code()
	}
	return errcode.CodeOf(ErrFailed)
}

// limitError is a limit error with detail; it matches its sentinel and any
// extra errors (such as ctx.Err()).
type limitError struct {
	msg  string
	errs []error
}

func (e *limitError) Error() string   { return e.msg }
func (e *limitError) Unwrap() []error { return e.errs }

func limitErr(sentinel error, detail string, extra ...error) error {
	msg := sentinel.Error()
	if detail != "" {
		msg += ": " + detail
	}
	return &limitError{msg: msg, errs: append([]error{sentinel}, extra...)}
}
