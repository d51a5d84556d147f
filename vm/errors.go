package vm

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by calls on a VM that is closing or closed.
	ErrClosed = errors.New("vm: closed")
	// ErrQueueFull is returned when a mission cannot be queued because the
	// mission queue holds Options.QueueSize missions (backpressure).
	ErrQueueFull = errors.New("vm: mission queue full")
	// ErrUnknownPrimitive is returned when a slot names a primitive that no
	// one registered.
	ErrUnknownPrimitive = errors.New("vm: unknown primitive")
	// ErrNoRunner is returned when a Starlark method must run and the VM has
	// no MethodRunner.
	ErrNoRunner = errors.New("vm: no method runner")
	// ErrNoModel is returned by a cycle that needs the model when none is set.
	ErrNoModel = errors.New("vm: no model")
	// ErrBadSelector is returned when a selector is not an identifier.
	ErrBadSelector = errors.New("vm: bad selector")
	// ErrNoCycle is returned when a cycle id is unknown.
	ErrNoCycle = errors.New("vm: no such cycle")
	// ErrNotCallable is returned when a data slot is sent arguments.
	ErrNotCallable = errors.New("vm: slot is not callable")
	// ErrAudit is matched by an *AuditError: the guardian rejected a method.
	ErrAudit = errors.New("vm: method failed its audit")
	// ErrBadPlan is returned by DECOMPOSING when the plan does not parse.
	ErrBadPlan = errors.New("vm: plan does not parse")
	// ErrStarted is returned by Start on a VM already started.
	ErrStarted = errors.New("vm: already started")
	// ErrNoBlob is returned by MaterializeModel when no model was imported.
	ErrNoBlob = errors.New("vm: no model blob in the image")
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
