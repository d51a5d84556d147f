package vm

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
)

// Slot kinds in an Inspection.
const (
	SlotData      = "data"
	SlotParent    = "parent"
	SlotPrimitive = "primitive"
	SlotMethod    = "method"
)

// Inspection describes one object for the operator.
type Inspection struct {
	OID     object.OID
	Repr    string       // "<UvmObject oid=N slots=[...]>"
	Parents []object.OID // in lookup order
	Slots   []SlotInfo   // sorted by name
}

// SlotInfo describes one own slot of an inspected object.
type SlotInfo struct {
	Name  string
	Kind  string       // SlotData, SlotParent, SlotPrimitive or SlotMethod
	Value object.Value // a copy of the slot's value
	// Method is set for SlotMethod: source, author, cycle, audit verdict
	// and findings.
	Method *object.Method
}

// Inspect describes target (a root name or a decimal OID).
func (v *VM) Inspect(ctx context.Context, target string) (*Inspection, error) {
	var ins *Inspection
	err := v.store.View(ctx, func(tx *object.Tx) error {
		o, err := tx.GetTarget(target)
		if err != nil {
			return err
		}
		oid := o.OID
		ins = &Inspection{OID: oid, Repr: o.String(), Parents: o.Parents()}
		for _, n := range o.Names() {
			val := object.CloneValue(o.Slots[n])
			si := SlotInfo{Name: n, Kind: SlotData, Value: val}
			switch x := val.(type) {
			case object.Primitive:
				si.Kind = SlotPrimitive
			case *object.Method:
				si.Kind, si.Method = SlotMethod, x
			}
			if object.IsParentSlot(n) {
				si.Kind = SlotParent
			}
			ins.Slots = append(ins.Slots, si)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vm: inspect %s: %w", target, err)
	}
	return ins, nil
}

// SetSlot sets slot name of target to value in one transaction. A
// *object.Method value is audited by the guardian first (an *AuditError
// when it fails) and stamped with the verdict; a parent slot (name ending
// in "*") must hold a Ref or a List of Refs, and may not make the object
// delegate to itself; a reference to a missing object is ErrNotFound.
func (v *VM) SetSlot(ctx context.Context, target, name string, value object.Value) error {
	if m, ok := value.(*object.Method); ok {
		m = object.CloneValue(m).(*object.Method)
		if m.Selector == "" {
			m.Selector = name
		}
		if err := guardian.Check(m.Source, guardian.DefaultPolicy(name)); err != nil {
			return &AuditError{Selector: name, Err: err}
		}
		m.Verdict, m.Findings = VerdictPassed, nil
		if m.Author == "" {
			m.Author = AuthorArchitect
		}
		value = m
	}
	if object.IsParentSlot(name) {
		if !isRefs(value) {
			return fmt.Errorf("vm: set %s: %w: a parent slot holds a Ref or a List of Refs", name, object.ErrInvalid)
		}
	}
	err := v.store.Update(ctx, func(tx *object.Tx) error {
		o, err := tx.GetTarget(target)
		if err != nil {
			return err
		}
		oid := o.OID
		if err := v.checkWiring(tx, oid, name, value); err != nil {
			return err
		}
		if err := checkRefs(tx, oid, name, value); err != nil {
			return err
		}
		if m, ok := value.(*object.Method); ok {
			return v.installMethod(tx, o, name, m, "set by the architect")
		}
		o.Set(name, value)
		return tx.Put(o)
	})
	if err != nil {
		return fmt.Errorf("vm: set %s on %s: %w", name, target, err)
	}
	return nil
}

// checkWiring refuses writes that would leave the image unable to open:
// the state slots of the state-machine prototypes must reference objects.
// (A state may be replaced by another object, or its behaviour by a method;
// that is how the system's way of thinking is edited.)
func (v *VM) checkWiring(tx *object.Tx, oid object.OID, name string, value object.Value) error {
	if oid != v.r.psm || !slices.Contains(stateNames, name) {
		return nil
	}
	ref, ok := value.(object.Ref)
	if !ok {
		return fmt.Errorf("%w: %s.%s must reference a state object", object.ErrInvalid, RootPSM, name)
	}
	if ok, err := tx.Exists(object.OID(ref)); err != nil || !ok {
		return fmt.Errorf("%w: %s.%s: no object %d", object.ErrInvalid, RootPSM, name, uint64(ref))
	}
	return nil
}

// checkRefs refuses a value that refers to a missing object and, in a
// parent slot, one that would make oid delegate to itself.
func checkRefs(tx *object.Tx, oid object.OID, name string, value object.Value) error {
	if err := tx.CheckRefs(value); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !object.IsParentSlot(name) {
		return nil
	}
	for _, r := range object.AppendRefs(nil, value) {
		cycle := false
		if err := tx.Delegates(r, 0, func(p *object.Object) { cycle = cycle || p.OID == oid }); err != nil {
			return err
		}
		if cycle {
			return fmt.Errorf("%w: %s -> %d would make object %d delegate to itself", object.ErrInvalid, name, r, oid)
		}
	}
	return nil
}

func isRefs(v object.Value) bool {
	switch x := v.(type) {
	case object.Ref:
		return true
	case object.List:
		for _, e := range x {
			if _, ok := e.(object.Ref); !ok {
				return false
			}
		}
		return true
	}
	return false
}

// RemoveSlot removes slot name from the object target in one transaction.
// A slot it does not have is object.ErrNotFound; removing a state slot of
// psm_prototypes_obj (which would unwire the state machine) is refused
// with object.ErrInvalid, as SetSlot refuses it.
func (v *VM) RemoveSlot(ctx context.Context, target, name string) error {
	err := v.store.Update(ctx, func(tx *object.Tx) error {
		o, err := tx.GetTarget(target)
		if err != nil {
			return err
		}
		oid := o.OID
		if _, ok := o.Slots[name]; !ok {
			return fmt.Errorf("%w: no slot %q", object.ErrNotFound, name)
		}
		if oid == v.r.psm && slices.Contains(stateNames, name) {
			return fmt.Errorf("%w: %s.%s wires the state machine", object.ErrInvalid, RootPSM, name)
		}
		delete(o.Slots, name)
		return tx.Put(o)
	})
	if err != nil {
		return fmt.Errorf("vm: remove %s from %s: %w", name, target, err)
	}
	return nil
}

// CloneObject copies the object target into a new object (nested values
// copied, references shared, methods with their metadata) and returns its
// OID; with root set, the new object is also the named root root, which
// must not name one already.
func (v *VM) CloneObject(ctx context.Context, target, root string) (object.OID, error) {
	if root != "" && !guardian.ValidSelector(root) {
		return 0, fmt.Errorf("vm: clone %s: %w: root name %q", target, object.ErrInvalid, root)
	}
	var oid object.OID
	err := v.store.Update(ctx, func(tx *object.Tx) error {
		src, err := tx.Resolve(target)
		if err != nil {
			return err
		}
		if root != "" {
			if _, err := tx.Root(root); err == nil {
				return fmt.Errorf("%w: root %q exists", object.ErrInvalid, root)
			} else if !errors.Is(err, object.ErrNotFound) {
				return err
			}
		}
		c, err := tx.Clone(src)
		if err != nil {
			return err
		}
		oid = c.OID
		if root != "" {
			return tx.SetRoot(root, c.OID)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("vm: clone %s: %w", target, err)
	}
	return oid, nil
}
