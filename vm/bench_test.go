package vm_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/sandbox"
	"github.com/batos/batos/vm/vmtest"
)

// benchVM opens a VM on a store without fsync, with a chain
// leaf -> p1 -> p2 -> p3 where p3 holds a Starlark method "hello" and
// inherits traits_obj's primitives: both are found through 3 parents.
func benchVM(b *testing.B, runner vm.MethodRunner) (*vm.VM, string) {
	return benchVMSync(b, runner, false)
}

func benchVMSync(b *testing.B, runner vm.MethodRunner, sync bool) (*vm.VM, string) {
	return benchVMLimits(b, runner, sync, vm.SandboxLimits{})
}

func benchVMLimits(b *testing.B, runner vm.MethodRunner, sync bool, limits vm.SandboxLimits) (*vm.VM, string) {
	store, err := object.Open(b.TempDir(), object.Options{NoSync: !sync, Retries: 16})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	ctx := context.Background()
	v, err := vm.Open(ctx, store, vm.Options{Model: &vmtest.Model{}, Runner: runner, Logger: slogDiscard(), CacheDir: b.TempDir(), SandboxLimits: limits})
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close(ctx) })
	var leaf object.OID
	err = store.Update(ctx, func(tx *object.Tx) error {
		traits, err := tx.Root(vm.RootTraits)
		if err != nil {
			return err
		}
		parent := traits
		for i := range 4 {
			slots := map[string]object.Value{"parent*": object.List{object.Ref(parent)}}
			if i == 0 {
				slots["hello"] = &object.Method{Selector: "hello", Source: "def hello(self):\n    return \"hello\"\n", Verdict: "passed"}
			}
			o, err := tx.New(slots)
			if err != nil {
				return err
			}
			parent = o.OID
		}
		leaf = parent
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return v, fmt.Sprint(leaf)
}

func benchDispatch(b *testing.B, v *vm.VM, target, selector string, want object.Value) {
	ctx := context.Background()
	res, err := v.Dispatch(ctx, target, selector, nil, nil)
	if err != nil || (want != nil && !object.Equal(res.Value, want)) {
		b.Fatalf("%v %v", res.Value, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := v.Dispatch(ctx, target, selector, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDispatchPrimitive: a primitive (oid) found through 3 parents.
func BenchmarkDispatchPrimitive(b *testing.B) {
	v, leaf := benchVM(b, nil)
	benchDispatch(b, v, leaf, vm.PrimOID, nil)
}

// BenchmarkDispatchMethodSandbox: a Starlark method found through 3
// parents, run by the default sandbox (a memory-bounded worker process).
func BenchmarkDispatchMethodSandbox(b *testing.B) {
	v, leaf := benchVM(b, nil)
	benchDispatch(b, v, leaf, "hello", object.String("hello"))
}

// BenchmarkDispatchMethodInProcess: the same method run in process
// (sandbox MaxAllocBytes < 0: step limits only, no memory bound).
func BenchmarkDispatchMethodInProcess(b *testing.B) {
	r := sandbox.New(sandbox.Options{MaxAllocBytes: -1})
	b.Cleanup(func() { r.Close() })
	v, leaf := benchVM(b, r)
	benchDispatch(b, v, leaf, "hello", object.String("hello"))
}

// BenchmarkCycle: one full doesNotUnderstand cycle with the instant fake
// model (4 model calls, the guardian audit, the cycle's transaction and 3
// cycle-log writes): the cost of the machinery without model time. Each
// iteration teaches a different object.
func BenchmarkCycle(b *testing.B) { benchCycle(b, false) }

// BenchmarkCycleSync: the same with every commit synced to the WAL (the
// daemon's setting): the cycle's 4 commits each wait for an fsync.
func BenchmarkCycleSync(b *testing.B) { benchCycle(b, true) }

func benchCycle(b *testing.B, sync bool) {
	v, _ := benchVMSync(b, nil, sync)
	ctx := context.Background()
	targets := make([]string, b.N)
	for i := range targets {
		res, err := v.Dispatch(ctx, vm.RootGenesis, vm.PrimClone, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		targets[i] = fmt.Sprint(res.Value.(object.Ref))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		res, err := v.Dispatch(ctx, targets[i], "display_yourself", nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		rec, err := v.WaitCycle(ctx, res.Cycle)
		if err != nil || rec.Status != vm.StatusComplete {
			b.Fatalf("%v %v", rec, err)
		}
	}
}

// benchCapability dispatches to a method that calls, once, either a
// capability granted to its receiver (echo, read-only, returns its
// argument) or the oid primitive, so the two differ only in the call.
func benchCapability(b *testing.B, limits vm.SandboxLimits, capability bool) {
	v, leaf := benchVMLimits(b, nil, false, limits)
	ctx := context.Background()
	err := v.RegisterCapability(vm.Capability{
		Name: "echo", Doc: "returns x", ReadOnly: true, Params: []vm.Param{{Name: "x", Kind: vm.KindNum}}, Result: vm.KindNum,
		Budget: vm.Budget{MaxCalls: 1 << 30},
		Func: func(ctx context.Context, tx *object.Tx, a map[string]object.Value) (object.Value, error) {
			return a["x"], nil
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := v.GrantCapability(ctx, leaf, "tool", "echo"); err != nil {
		b.Fatal(err)
	}
	src := "def ping(self):\n    return self.tool.call(x=1)\n"
	want := object.Value(object.Int(1))
	if !capability {
		src = "def ping(self):\n    return self.oid() * 0 + 1\n"
	}
	if err := v.SetSlot(ctx, leaf, "ping", &object.Method{Source: src}); err != nil {
		b.Fatal(err)
	}
	benchDispatch(b, v, leaf, "ping", want)
}

// BenchmarkCapabilityCallSandbox: a method calling a granted capability
// once, in a worker process (grant check, argument binding, budget and
// the trace record included).
func BenchmarkCapabilityCallSandbox(b *testing.B) { benchCapability(b, vm.SandboxLimits{}, true) }

// BenchmarkPrimitiveCallSandbox: the same method shape calling the oid
// primitive instead: the baseline for the capability's overhead.
func BenchmarkPrimitiveCallSandbox(b *testing.B) { benchCapability(b, vm.SandboxLimits{}, false) }

// BenchmarkCapabilityCallInProcess and BenchmarkPrimitiveCallInProcess:
// the same, run in process (no pipe round trips).
func BenchmarkCapabilityCallInProcess(b *testing.B) {
	benchCapability(b, vm.SandboxLimits{MaxAllocBytes: -1}, true)
}

func BenchmarkPrimitiveCallInProcess(b *testing.B) {
	benchCapability(b, vm.SandboxLimits{MaxAllocBytes: -1}, false)
}
