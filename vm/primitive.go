package vm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/sandbox"
)

// Call is one invocation of a primitive.
type Call struct {
	VM       *VM                     // the VM running the call
	Tx       *object.Tx              // the transaction of the dispatch or cycle
	Self     object.OID              // the receiver
	Holder   object.OID              // the object whose slot held the primitive
	Selector string                  // the message sent
	Args     []object.Value          // positional arguments
	Kwargs   map[string]object.Value // keyword arguments
}

// PrimitiveFunc is a native behaviour. Slots refer to it by name
// (object.Primitive), so it persists across restarts as long as the VM
// registers it under the same name.
type PrimitiveFunc func(ctx context.Context, c *Call) (object.Value, error)

// Names of the builtin primitives.
const (
	PrimRepr       = "repr"                               // "<UvmObject oid=N slots=[...]>"
	PrimDisplay    = "display"                            // repr plus one line per slot
	PrimClone      = "clone"                              // a copy of self; returns its Ref
	PrimOID        = "oid"                                // self's OID as an Int
	PrimSlotNames  = "slot_names"                         // self's own slot names, sorted
	PrimStartCycle = "orchestrator.start_cognitive_cycle" // start a mission from kwargs
)

// RegisterPrimitive registers fn under name, replacing any earlier one.
// Register before Start; a slot holding object.Primitive(name) then runs fn.
func (v *VM) RegisterPrimitive(name string, fn PrimitiveFunc) {
	v.primMu.Lock()
	v.prims[name] = fn
	delete(v.states, name) // a state's builtin behaviour replaced by fn
	v.primMu.Unlock()
}

// statePrimitive is the name of the primitive of state's builtin
// behaviour.
func statePrimitive(state string) string { return "psm." + strings.ToLower(state) }

// outsideCycle is what a state's builtin behaviour does when it is called
// as a plain primitive rather than by the cycle that is in the state.
func outsideCycle(context.Context, *Call) (object.Value, error) {
	return nil, errors.New("vm: state behaviour called outside a cognitive cycle")
}

// stateBuiltin returns the builtin behaviour a state slot's value names,
// unless a primitive registered under its name replaced it.
func (v *VM) stateBuiltin(val object.Value) (stateFunc, bool) {
	p, ok := val.(object.Primitive)
	if !ok {
		return nil, false
	}
	v.primMu.RLock()
	fn, ok := v.states[string(p)]
	v.primMu.RUnlock()
	return fn, ok
}

func (v *VM) primitive(name string) (PrimitiveFunc, error) {
	v.primMu.RLock()
	fn, ok := v.prims[name]
	v.primMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownPrimitive, name)
	}
	return fn, nil
}

// CallPrimitive runs the primitive name with self as receiver inside tx. It
// is the hook the sandbox uses when a method calls a slot that holds a
// primitive.
func (v *VM) CallPrimitive(ctx context.Context, tx *object.Tx, self object.OID, name string, args []object.Value, kwargs map[string]object.Value) (object.Value, error) {
	if name == sandbox.CapabilityPrimitive {
		// Methods reach capabilities through the sandbox's grant check
		// (Options.Capability), never through the primitive path.
		return nil, fmt.Errorf("%w: capabilities are called through a granted reference", sandbox.ErrCapability)
	}
	fn, err := v.primitive(name)
	if err != nil {
		return nil, err
	}
	return fn(ctx, &Call{VM: v, Tx: tx, Self: self, Holder: self, Selector: name, Args: args, Kwargs: kwargs})
}

func (v *VM) registerBuiltins() {
	v.RegisterPrimitive(PrimRepr, func(ctx context.Context, c *Call) (object.Value, error) {
		o, err := c.Tx.Get(c.Self)
		if err != nil {
			return nil, err
		}
		return object.String(o.String()), nil
	})
	v.RegisterPrimitive(PrimDisplay, func(ctx context.Context, c *Call) (object.Value, error) {
		o, err := c.Tx.Get(c.Self)
		if err != nil {
			return nil, err
		}
		var sb strings.Builder
		sb.WriteString(o.String())
		for _, n := range o.Names() {
			fmt.Fprintf(&sb, "\n  %s: %s", n, object.Format(o.Slots[n]))
		}
		return object.String(sb.String()), nil
	})
	v.RegisterPrimitive(PrimClone, func(ctx context.Context, c *Call) (object.Value, error) {
		o, err := c.Tx.Clone(c.Self)
		if err != nil {
			return nil, err
		}
		return object.Ref(o.OID), nil
	})
	v.RegisterPrimitive(PrimOID, func(ctx context.Context, c *Call) (object.Value, error) {
		return object.Int(c.Self), nil
	})
	v.RegisterPrimitive(PrimSlotNames, func(ctx context.Context, c *Call) (object.Value, error) {
		o, err := c.Tx.Get(c.Self)
		if err != nil {
			return nil, err
		}
		out := object.List{}
		for _, n := range o.Names() {
			out = append(out, object.String(n))
		}
		return out, nil
	})
	v.RegisterPrimitive(PrimStartCycle, v.primStartCycle)
	v.RegisterPrimitive(sandbox.CapabilityPrimitive, v.primCapability)
	for _, name := range stateNames {
		prim := statePrimitive(name)
		v.RegisterPrimitive(prim, outsideCycle)
		v.states[prim] = stateFuncs[name]
	}
}

// primStartCycle is the orchestrator's start_cognitive_cycle: it queues a
// mission whose brief is the call's kwargs (plus "target", an OID or a
// root name; the orchestrator by default) once the dispatch commits.
func (v *VM) primStartCycle(ctx context.Context, c *Call) (object.Value, error) {
	brief := object.Map{}
	for k, val := range c.Kwargs {
		brief[k] = val
	}
	target := c.Self
	if t, ok := brief["target"].(object.String); ok {
		oid, err := c.Tx.Resolve(string(t))
		if err != nil {
			return nil, err
		}
		target = oid
	}
	if _, ok := brief["type"]; !ok {
		brief["type"] = object.String("query")
	}
	// The mission starts when the calling transaction commits (never if
	// it rolls back, or if the call was a trial run that is discarded).
	c.Tx.OnCommit(func() {
		if _, err := v.startMission(context.WithoutCancel(ctx), target, brief, nil, nil); err != nil {
			v.log.Warn("[Orchestrator] could not start the requested cycle", "err", err)
		}
	})
	return object.String("Cognitive cycle requested."), nil
}
