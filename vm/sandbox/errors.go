package sandbox

import (
	"errors"
	"fmt"
)

var (
	// ErrCovenant is returned when a method changed state (on its receiver
	// or, through their own methods, on other objects) without setting
	// self._p_changed = True after the change. Nothing the call did is
	// applied.
	ErrCovenant = errors.New("sandbox: covenant violation: state changed without self._p_changed = True")
	// ErrSteps is returned when a call ran past Options.MaxSteps.
	ErrSteps = errors.New("sandbox: step limit exceeded")
	// ErrMemory is returned when a call tried to use more memory than
	// Options.MaxAllocBytes allows (the worker process hit its limit).
	ErrMemory = errors.New("sandbox: memory limit exceeded")
	// ErrCanceled is returned when the call's context was canceled or its
	// deadline (or Options.Timeout) passed; the error also matches the
	// context's error (context.Canceled or context.DeadlineExceeded).
	ErrCanceled = errors.New("sandbox: call canceled")
	// ErrDepth is returned when nested method calls went deeper than
	// Options.MaxCallDepth, or the worker ran out of Go stack.
	ErrDepth = errors.New("sandbox: call depth exceeded")
	// ErrOutput is returned when print output went over
	// Options.MaxPrintBytes or the result went over Options.MaxResultBytes.
	ErrOutput = errors.New("sandbox: output limit exceeded")
	// ErrFailed is matched by a *MethodError: the method raised a Starlark
	// error (fail(), a type error, an unknown attribute, ...).
	ErrFailed = errors.New("sandbox: method failed")
	// ErrRejected is returned when the method's source does not pass the
	// guardian audit the sandbox repeats before compiling it; the error
	// also matches guardian.ErrRejected.
	ErrRejected = errors.New("sandbox: method rejected")
	// ErrWorker is returned when the worker process failed for a reason
	// other than the limits above (it could not start, or crashed).
	ErrWorker = errors.New("sandbox: worker failed")
	// ErrClosed is returned by Call after Close.
	ErrClosed = errors.New("sandbox: runner closed")
)

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
