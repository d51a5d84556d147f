package vm_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/sandbox"
)

// counter is a capability that counts its calls.
func counter(n *atomic.Int64, readOnly bool) vm.Capability {
	return vm.Capability{
		Name: "count_up", Doc: "adds step to a counter and returns it", ReadOnly: readOnly,
		Params: []vm.Param{{Name: "step", Kind: vm.KindNum}}, Result: vm.KindNum,
		Budget: vm.Budget{MaxCalls: 3},
		Func: func(ctx context.Context, tx *object.Tx, args map[string]object.Value) (object.Value, error) {
			return object.Int(n.Add(int64(args["step"].(object.Int)))), nil
		},
	}
}

func setMethod(t *testing.T, e *env, target, sel, src string) {
	t.Helper()
	if err := e.v.SetSlot(ctxT(t), target, sel, &object.Method{Source: src}); err != nil {
		t.Fatal(err)
	}
}

func TestCapabilityGoAPI(t *testing.T) {
	var n atomic.Int64
	e := open(t, nil, func(o *vm.Options) { o.Runner = nil })
	ctx := ctxT(t)
	if err := e.v.RegisterCapability(counter(&n, true)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.GrantCapability(ctx, "genesis_obj", "counter", "count_up"); err != nil {
		t.Fatal(err)
	}
	other, err := e.v.CloneObject(ctx, "traits_obj", "stranger")
	if err != nil {
		t.Fatal(err)
	}
	_ = other
	src := "def bump(self, k):\n    return self.counter.call(step=k)\n"
	setMethod(t, e, "genesis_obj", "bump", src)
	res, err := e.v.Dispatch(ctx, "genesis_obj", "bump", []object.Value{object.Int(2)}, nil)
	if err != nil || res.Value != object.Int(2) {
		t.Fatalf("bump: %v, %v", res.Value, err)
	}
	if len(res.Capabilities) != 1 || res.Capabilities[0].Capability != "count_up" || res.Capabilities[0].Args != "step=2" || res.Capabilities[0].Slot != "counter" {
		t.Fatalf("trace %+v", res.Capabilities)
	}

	// The same method on an object without the grant fails clearly.
	setMethod(t, e, "stranger", "bump", src)
	_, err = e.v.Dispatch(ctx, "stranger", "bump", []object.Value{object.Int(1)}, nil)
	if err == nil || !strings.Contains(err.Error(), "counter") {
		t.Fatalf("stranger: %v", err)
	}

	// Reaching genesis_obj's capability through a reference is refused.
	if err := e.v.SetSlot(ctx, "stranger", "friend", object.Ref(res.Target)); err != nil {
		t.Fatal(err)
	}
	setMethod(t, e, "stranger", "borrow", "def borrow(self):\n    return self.friend.counter.call(step=1)\n")
	if _, err := e.v.Dispatch(ctx, "stranger", "borrow", nil, nil); !errors.Is(err, sandbox.ErrCapability) {
		t.Fatalf("borrow: %v", err)
	}

	// Four calls where the budget allows three stop the method.
	setMethod(t, e, "genesis_obj", "many", "def many(self):\n    for i in range(4):\n        self.counter.call(1)\n    return 0\n")
	before := n.Load()
	if _, err := e.v.Dispatch(ctx, "genesis_obj", "many", nil, nil); !errors.Is(err, vm.ErrCapabilityBudget) {
		t.Fatalf("many: %v", err)
	}
	if got := n.Load() - before; got != 3 {
		t.Fatalf("%d calls ran, want 3", got)
	}

	// Bad arguments are Starlark errors that name the parameter.
	setMethod(t, e, "genesis_obj", "wrong", "def wrong(self):\n    return self.counter.call(step=\"x\")\n")
	if _, err := e.v.Dispatch(ctx, "genesis_obj", "wrong", nil, nil); !errors.Is(err, vm.ErrCapabilityArgs) {
		t.Fatalf("wrong: %v", err)
	}
	if n.Load() != before+3 {
		t.Fatal("a refused call ran")
	}
}

func TestCapabilityRegister(t *testing.T) {
	e := open(t, nil, nil)
	if err := e.v.RegisterCapability(vm.Capability{Name: "bad name"}); !errors.Is(err, vm.ErrCapabilityArgs) {
		t.Fatalf("got %v", err)
	}
	if _, err := e.v.GrantCapability(ctxT(t), "genesis_obj", "x", "unknown"); !errors.Is(err, vm.ErrUnknownCapability) {
		t.Fatalf("got %v", err)
	}
}
