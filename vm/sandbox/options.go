package sandbox

import (
	"context"
	"time"

	"github.com/batos/batos/object"
)

// PrimitiveFunc runs a native behaviour: it is called when a method calls a
// slot (found on self or through delegation) that holds an
// object.Primitive. self is the receiver, name the primitive's name (the
// slot's value). It runs in the calling process with the call's
// transaction.
type PrimitiveFunc func(ctx context.Context, tx *object.Tx, self object.OID, name string, args []object.Value, kwargs map[string]object.Value) (object.Value, error)

// Defaults for zero Options fields.
const (
	DefaultMaxSteps       = 1_000_000
	DefaultMaxAllocBytes  = 256 << 20
	DefaultMaxPrintBytes  = 64 << 10
	DefaultMaxResultBytes = 16 << 20
	DefaultMaxCallDepth   = 16
	DefaultMaxPrimitives  = 1000
	DefaultTimeout        = 10 * time.Second
)

// Options configure a Runner. The zero value of every field means its
// default.
type Options struct {
	// MaxSteps bounds the Starlark steps of one call, nested method calls
	// included (default DefaultMaxSteps).
	MaxSteps uint64
	// MaxAllocBytes bounds the memory one call may use (default
	// DefaultMaxAllocBytes). Calls run in worker processes whose address
	// space is limited accordingly (see the package documentation). A
	// negative value runs calls in the calling process with no memory
	// bound: only for trusted code and for measuring.
	MaxAllocBytes int64
	// MaxPrintBytes bounds the print output of one call (default
	// DefaultMaxPrintBytes); going over it fails the call with ErrOutput.
	MaxPrintBytes int
	// MaxResultBytes bounds the encoded size of a call's result and
	// changes (default DefaultMaxResultBytes).
	MaxResultBytes int
	// Print receives each line a method prints; nil discards them.
	Print func(msg string)
	// Primitive runs primitive slots a method calls; nil makes such calls
	// fail.
	Primitive PrimitiveFunc
	// Capability runs the capability calls a method makes through
	// references it was granted (see CapabilityCall); nil makes them
	// fail with ErrCapability. Calls count against MaxPrimitives too.
	Capability CapabilityFunc
	// MaxCallDepth bounds nested method calls (default DefaultMaxCallDepth).
	MaxCallDepth int
	// MaxPrimitives bounds the primitive calls of one call (default
	// DefaultMaxPrimitives). Primitives run in the calling process, outside
	// the worker's memory bound, so their number is bounded, and what they
	// write into the transaction counts against MaxAllocBytes.
	MaxPrimitives int
	// Timeout bounds one call in addition to ctx (default DefaultTimeout).
	Timeout time.Duration
	// Workers bounds the number of worker processes, which is the number
	// of calls that run at once (default 2).
	Workers int
	// WorkerCommand is the command that starts a worker process; nil
	// means the running executable itself (os.Executable), which must
	// call Worker first in main (it serves as a worker when a Runner
	// started it as one).
	WorkerCommand []string
	// NoAudit skips the guardian audit the sandbox repeats (once per
	// distinct source) before compiling a method.
	NoAudit bool
}

func (o *Options) ensureDefaults() {
	if o.MaxSteps == 0 {
		o.MaxSteps = DefaultMaxSteps
	}
	if o.MaxAllocBytes == 0 {
		o.MaxAllocBytes = DefaultMaxAllocBytes
	}
	if o.MaxPrintBytes <= 0 {
		o.MaxPrintBytes = DefaultMaxPrintBytes
	}
	if o.MaxResultBytes <= 0 {
		o.MaxResultBytes = DefaultMaxResultBytes
	}
	if o.MaxCallDepth <= 0 {
		o.MaxCallDepth = DefaultMaxCallDepth
	}
	if o.MaxPrimitives <= 0 {
		o.MaxPrimitives = DefaultMaxPrimitives
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
}
