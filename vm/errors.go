package vm

import "fmt"

// Every sentinel error below has a method Code() string that returns its
// class, one of the stable codes of the Synaptic Bridge (package
// bridge/wire, which vm does not import): "not_found", "busy",
// "bad_request", "unavailable" or "internal". A server finds it with
// errors.As on an interface{ Code() string }; the sentinels stay
// comparable with errors.Is. *AuditError and *ContextError report the
// code of the sentinel they match; a *TrialError has none of its own, so
// errors.As finds its sandbox error's.
var (
	// ErrClosed is returned by calls on a VM that is closing or closed.
	ErrClosed = newError("unavailable", "vm: closed")
	// ErrQueueFull is returned when a mission cannot be queued because the
	// mission queue holds Options.QueueSize missions (backpressure).
	ErrQueueFull = newError("busy", "vm: mission queue full")
	// ErrUnknownPrimitive is returned when a slot names a primitive that no
	// one registered.
	ErrUnknownPrimitive = newError("internal", "vm: unknown primitive")
	// ErrNoRunner is returned when a Starlark method must run and the VM has
	// no MethodRunner.
	ErrNoRunner = newError("internal", "vm: no method runner")
	// ErrNoModel is returned by a cycle that needs the model when none is set.
	ErrNoModel = newError("unavailable", "vm: no model")
	// ErrBadSelector is returned when a selector is not an identifier.
	ErrBadSelector = newError("bad_request", "vm: bad selector")
	// ErrNoCycle is returned when a cycle id is unknown.
	ErrNoCycle = newError("not_found", "vm: no such cycle")
	// ErrNotCallable is returned when a data slot is sent arguments.
	ErrNotCallable = newError("bad_request", "vm: slot is not callable")
	// ErrAudit is matched by an *AuditError: the guardian rejected a method.
	ErrAudit = newError("bad_request", "vm: method failed its audit")
	// ErrBadPlan is returned by DECOMPOSING when the plan does not parse.
	ErrBadPlan = newError("internal", "vm: plan does not parse")
	// ErrStarted is returned by Start on a VM already started.
	ErrStarted = newError("internal", "vm: already started")
	// ErrNoBlob is returned by MaterializeModel when no model was imported.
	ErrNoBlob = newError("internal", "vm: no model blob in the image")
	// ErrTrial is matched by a *TrialError: a method failed its trial run.
	ErrTrial = newError("internal", "vm: method failed its trial run")
	// ErrContextTooSmall is matched by a *ContextError: a prompt's fixed
	// parts and output bound do not fit in the model's context.
	ErrContextTooSmall = newError("internal", "vm: model context too small")
)

// codedError is a sentinel error with the code a server reports it under.
type codedError struct{ code, msg string }

func newError(code, msg string) error { return &codedError{code: code, msg: msg} }

func (e *codedError) Error() string { return e.msg }

// Code returns the error's class, e.g. "not_found".
func (e *codedError) Code() string { return e.code }

// AuditError reports a method the guardian rejected.
type AuditError struct {
	Selector string
	Err      error // the guardian's findings
}

// Error reports the selector and the findings.
func (e *AuditError) Error() string {
	return fmt.Sprintf("vm: method %q failed its audit: %v", e.Selector, e.Err)
}

// Unwrap returns the guardian's error.
func (e *AuditError) Unwrap() error { return e.Err }

// Is reports whether target is ErrAudit.
func (e *AuditError) Is(target error) bool { return target == ErrAudit }

// Code returns ErrAudit's code: the method, not the server, is at fault.
func (e *AuditError) Code() string { return ErrAudit.(*codedError).code }

// TrialError reports a method that audited but failed when the cycle ran
// it on the message's arguments (an exception, a limit, a covenant error).
type TrialError struct {
	Selector string
	Err      error // the sandbox's error
}

// Error reports the selector and the failure.
func (e *TrialError) Error() string {
	return fmt.Sprintf("vm: method %q failed its trial run: %v", e.Selector, e.Err)
}

// Unwrap returns the sandbox's error.
func (e *TrialError) Unwrap() error { return e.Err }

// Is reports whether target is ErrTrial.
func (e *TrialError) Is(target error) bool { return target == ErrTrial }

// ContextError reports a prompt that cannot fit: its fixed parts (the
// instruction, the selector and arguments) and its output bound need more
// tokens than the model's context holds. The cycle fails at once with it
// instead of sending a prompt the model must refuse.
type ContextError struct {
	Persona string
	Need    int // the smallest context, in tokens, the request would fit in
	Context int // the model's context
}

// Error names the context size needed.
func (e *ContextError) Error() string {
	return fmt.Sprintf("vm: %s's prompt needs a context of at least %d tokens, the model has %d (raise the context size)", e.Persona, e.Need, e.Context)
}

// Is reports whether target is ErrContextTooSmall.
func (e *ContextError) Is(target error) bool { return target == ErrContextTooSmall }

// Code returns ErrContextTooSmall's code.
func (e *ContextError) Code() string { return ErrContextTooSmall.(*codedError).code }
