package vm

import (
	"fmt"

	"github.com/batos/batos/errcode"
)

// Every sentinel error below is made by errcode.New: its method Code()
// string returns its class (an errcode constant, which the Synaptic
// Bridge sends as the reply code): "not_found", "busy",
// "bad_request", "unavailable" or "internal". A server finds it with
// errors.As on an interface{ Code() string }; the sentinels stay
// comparable with errors.Is. *AuditError and *ContextError report the
// code of the sentinel they match; a *TrialError has none of its own, so
// errors.As finds its sandbox error's.
var (
	// ErrClosed is returned by calls on a VM that is closing or closed.
	ErrClosed = errcode.New(errcode.Unavailable, "vm: closed")
	// ErrQueueFull is returned when a mission cannot be queued because the
	// mission queue holds Options.QueueSize missions (backpressure).
	ErrQueueFull = errcode.New(errcode.Busy, "vm: mission queue full")
	// ErrUnknownPrimitive is returned when a slot names a primitive that no
	// one registered.
	ErrUnknownPrimitive = errcode.New(errcode.Internal, "vm: unknown primitive")
	// ErrNoRunner is returned when a Starlark method must run and the VM has
	// no MethodRunner.
	ErrNoRunner = errcode.New(errcode.Internal, "vm: no method runner")
	// ErrNoModel is returned by a cycle that needs the model when none is set.
	ErrNoModel = errcode.New(errcode.Unavailable, "vm: no model")
	// ErrBadSelector is returned when a selector is not an identifier.
	ErrBadSelector = errcode.New(errcode.BadRequest, "vm: bad selector")
	// ErrNoCycle is returned when a cycle id is unknown.
	ErrNoCycle = errcode.New(errcode.NotFound, "vm: no such cycle")
	// ErrNotCallable is returned when a data slot is sent arguments.
	ErrNotCallable = errcode.New(errcode.BadRequest, "vm: slot is not callable")
	// ErrAudit is matched by an *AuditError: the guardian rejected a method.
	ErrAudit = errcode.New(errcode.BadRequest, "vm: method failed its audit")
	// ErrBadPlan is returned by DECOMPOSING when the plan does not parse.
	ErrBadPlan = errcode.New(errcode.Internal, "vm: plan does not parse")
	// ErrStarted is returned by Start on a VM already started.
	ErrStarted = errcode.New(errcode.Internal, "vm: already started")
	// ErrNoBlob is returned by MaterializeModel when no model was imported,
	// and by MaterializeEmbedModel when no embedding model was.
	ErrNoBlob = errcode.New(errcode.Internal, "vm: no model blob in the image")
	// ErrTrial is matched by a *TrialError: a method failed its trial run.
	ErrTrial = errcode.New(errcode.Internal, "vm: method failed its trial run")
	// ErrUnknownCapability is returned when a capability object names a
	// capability no one registered.
	ErrUnknownCapability = errcode.New(errcode.NotFound, "vm: unknown capability")
	// ErrCapabilityArgs is returned when a capability is called with
	// arguments that do not match its parameters, or registered badly.
	ErrCapabilityArgs = errcode.New(errcode.BadRequest, "vm: bad capability arguments")
	// ErrCapabilityBudget is returned when a capability call goes over its
	// Budget (calls per method call, bytes in or out, wall time); it
	// stops the method.
	ErrCapabilityBudget = errcode.New(errcode.TooLarge, "vm: capability budget exceeded")
	// ErrCapabilitySkipped stops a trial run at a call of a capability
	// that is not read-only and has no DryRun: the call is not made, and
	// the cycle records the trial as stopped there.
	ErrCapabilitySkipped = errcode.New(errcode.BadRequest, "vm: state-changing capability not called in a trial run")
	// ErrContextTooSmall is matched by a *ContextError: a prompt's fixed
	// parts and output bound do not fit in the model's context.
	ErrContextTooSmall = errcode.New(errcode.Internal, "vm: model context too small")
	// ErrBatchMismatch: a BatchGenerator answered with another number of
	// outputs than it was asked for.
	ErrBatchMismatch = errcode.New(errcode.Internal, "vm: batch answer does not match its requests")
)

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
func (e *AuditError) Code() string { return errcode.CodeOf(ErrAudit) }

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
func (e *ContextError) Code() string { return errcode.CodeOf(ErrContextTooSmall) }
