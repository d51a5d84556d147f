package vm

import "github.com/batos/batos/vm/sandbox"

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
	})
}

var _ MethodRunner = (*sandbox.Runner)(nil)
