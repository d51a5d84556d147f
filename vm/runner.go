package vm

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/sandbox"
)

// NewRunner returns the sandbox runner the VM uses when Options.Runner is
// nil: Starlark methods run under limits, and the primitives they call run
// in the VM (CallPrimitive). Printed lines go to the VM's logger. A runner
// the VM built itself is closed by Close.
func (v *VM) NewRunner(l SandboxLimits) MethodRunner {
	return sandbox.New(sandbox.Options{
		MaxSteps:      l.MaxSteps,
		MaxAllocBytes: l.MaxAllocBytes,
		MaxPrintBytes: l.MaxPrintBytes,
		MaxCallDepth:  l.MaxCallDepth,
		Timeout:       l.Timeout,
		Print:         func(msg string) { v.log.Info("[Method] " + msg) },
		Primitive:     v.CallPrimitive,
		Capability:    v.callCapability,
	})
}

var _ MethodRunner = (*sandbox.Runner)(nil)

// MethodStats count the method calls the VM's runner made since Open:
// messages, trials and facet calls alike.
type MethodStats struct {
	Calls  int64 `json:"calls"`  // calls made
	Failed int64 `json:"failed"` // calls that returned an error (LimitHits included)
	// LimitHits are calls stopped by a sandbox limit: steps, memory,
	// output, call depth or time (sandbox.ErrSteps, ErrMemory, ErrOutput,
	// ErrDepth, ErrCanceled).
	LimitHits int64 `json:"limit_hits"`
}

// countedRunner counts the calls of the runner it wraps.
type countedRunner struct {
	r                     MethodRunner
	calls, failed, limits *atomic.Int64
}

func (c countedRunner) Call(ctx context.Context, tx *object.Tx, self object.OID, m *object.Method, args []object.Value, kwargs map[string]object.Value) (object.Value, error) {
	res, err := c.r.Call(ctx, tx, self, m, args, kwargs)
	c.calls.Add(1)
	if err != nil {
		c.failed.Add(1)
		if isLimit(err) {
			c.limits.Add(1)
		}
	}
	return res, err
}

func isLimit(err error) bool {
	for _, l := range []error{sandbox.ErrSteps, sandbox.ErrMemory, sandbox.ErrOutput, sandbox.ErrDepth, sandbox.ErrCanceled} {
		if errors.Is(err, l) {
			return true
		}
	}
	return false
}
