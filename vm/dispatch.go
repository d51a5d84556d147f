package vm

import (
	"context"
	"errors"
	"fmt"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
)

// Result is the outcome of Dispatch: either the value the slot produced
// or, when the receiver did not understand the message, the mission that
// doesNotUnderstand started.
type Result struct {
	// Value is what the primitive or method returned, or the slot's value
	// when the slot holds data. It is nil when Mission is true.
	Value object.Value
	// Target is the receiver; Holder is the object whose slot answered.
	Target, Holder object.OID
	// Mission reports that the message was not understood and a cognitive
	// cycle was started (or was already running) to learn it.
	Mission bool
	// Cycle is the mission's cycle id (the OID of its CognitiveCycle).
	Cycle object.OID
	// Message is the blueprint's reply to a dispatched mission:
	// "Mission to handle 'X' dispatched to the Composite Mind."
	Message string
	// Capabilities are the capability calls the dispatch made, in order
	// (the dispatch's trace of them).
	Capabilities []CapabilityRecord
}

// Dispatch sends selector with args and kwargs to target (a root name or a
// decimal OID). The slot is found through delegation; a primitive runs in
// Go, a method runs in the sandbox, a data slot sent no arguments returns
// its value. Everything the slot writes commits in one transaction with
// the dispatch. When no slot answers, doesNotUnderstand reifies the message
// as a mission and Dispatch returns at once with Mission set and the
// cycle's id; WaitCycle waits for its outcome. Two misses of the same
// selector on the same object while its cycle runs share that cycle.
func (v *VM) Dispatch(ctx context.Context, target, selector string, args []object.Value, kwargs map[string]object.Value) (Result, error) {
	if !guardian.ValidSelector(selector) {
		return Result{}, fmt.Errorf("%w: %q", ErrBadSelector, selector)
	}
	var res Result
	scope := &capScope{note: func(r CapabilityRecord) { res.Capabilities = append(res.Capabilities, r) }}
	ctx = withCapScope(ctx, scope)
	err := v.store.Update(ctx, func(tx *object.Tx) error {
		res = Result{}
		oid, err := tx.Resolve(target)
		if err != nil {
			return err
		}
		res.Target = oid
		val, holder, err := tx.Lookup(oid, selector)
		if errors.Is(err, object.ErrNotUnderstood) {
			return errMiss
		}
		if err != nil {
			return err
		}
		res.Holder = holder
		res.Value, err = v.invoke(ctx, tx, oid, holder, selector, val, args, kwargs)
		return err
	})
	if errors.Is(err, errMiss) {
		return v.doesNotUnderstand(ctx, res.Target, selector, args, kwargs)
	}
	if err != nil {
		return Result{}, fmt.Errorf("vm: dispatch %s to %s: %w", selector, target, err)
	}
	return res, nil
}

// invoke runs the value found in a slot.
func (v *VM) invoke(ctx context.Context, tx *object.Tx, self, holder object.OID, selector string, val object.Value, args []object.Value, kwargs map[string]object.Value) (object.Value, error) {
	switch x := val.(type) {
	case object.Primitive:
		fn, err := v.primitive(string(x))
		if err != nil {
			return nil, err
		}
		return fn(ctx, &Call{VM: v, Tx: tx, Self: self, Holder: holder, Selector: selector, Args: args, Kwargs: kwargs})
	case *object.Method:
		if v.runner == nil {
			return nil, ErrNoRunner
		}
		return v.runner.Call(ctx, tx, self, x, args, kwargs)
	default:
		if len(args) > 0 || len(kwargs) > 0 {
			return nil, fmt.Errorf("%w: %s", ErrNotCallable, selector)
		}
		return object.CloneValue(val), nil
	}
}

// doesNotUnderstand is the universal generative mechanism: the failed
// message becomes a mission brief for the orchestrator.
func (v *VM) doesNotUnderstand(ctx context.Context, target object.OID, selector string, args []object.Value, kwargs map[string]object.Value) (Result, error) {
	lines := []string{
		fmt.Sprintf("[UVM] doesNotUnderstand: '%s' for OID %d.", selector, target),
		"[UVM] Reifying failed message as a creative mandate for the Orchestrator.",
	}
	for _, l := range lines {
		v.line(l, oidAttr(target))
	}
	mtype := MissionUnhandledMessage
	if v.holdsCapabilities(ctx, target) {
		// An object that holds capabilities learns the message as a
		// proxy around them (JIT for Agency).
		mtype = MissionAcquireCapability
	}
	brief := object.Map{
		"type":     object.String(mtype),
		"selector": object.String(selector),
		"args":     object.List(object.CloneValue(object.List(args)).(object.List)),
		"kwargs":   object.CloneValue(object.Map(kwargs)).(object.Map),
	}
	if mtype == MissionAcquireCapability {
		brief["proxy"] = object.Bool(false) // an ordinary method will do too
	}
	id, err := v.startMission(ctx, target, brief, &missionKey{target, selector}, lines)
	if err != nil {
		return Result{Target: target}, err
	}
	return Result{
		Target:  target,
		Mission: true,
		Cycle:   id,
		Message: fmt.Sprintf("Mission to handle '%s' dispatched to the Composite Mind.", selector),
	}, nil
}
