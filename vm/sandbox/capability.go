package sandbox

import (
	"context"
	"fmt"
	"slices"

	"github.com/batos/batos/object"
)

// CapabilityPrimitive is the primitive name a capability object's call
// slot holds (object.Primitive(CapabilityPrimitive)). A method calls a
// capability as cap.call(...) where cap is a reference it was granted:
// see CapabilityCall and the package documentation.
const (
	CapabilityPrimitive = "capability.call"
	// CapabilitySlot is the slot of a capability object that holds
	// CapabilityPrimitive.
	CapabilitySlot = "call"
)

// IsCapability reports whether o is a capability object: its call slot
// holds CapabilityPrimitive.
func IsCapability(o *object.Object) bool {
	p, ok := o.Slots[CapabilitySlot].(object.Primitive)
	return ok && string(p) == CapabilityPrimitive
}

// CapabilityCall is one call of a capability by a method, after the
// sandbox checked that the method was granted it.
type CapabilityCall struct {
	// Capability is the capability object called.
	Capability object.OID
	// Holder and Slot say where the method got the reference: a slot of
	// a receiver (Holder is that receiver), or, with Holder 0, an
	// argument of the call.
	Holder object.OID
	Slot   string
	// Receiver is the receiver of the call the sandbox is running.
	Receiver object.OID
	// Args and Kwargs are the capability's arguments.
	Args   []object.Value
	Kwargs map[string]object.Value
	// N counts the calls of this capability in this method call, this one
	// included (1 for the first), for per-call budgets.
	N int
}

// CapabilityFunc runs a capability call. It runs in the calling process
// with the call's transaction, like a PrimitiveFunc; its error reaches
// the method as a Starlark error, which stops it.
type CapabilityFunc func(ctx context.Context, tx *object.Tx, c *CapabilityCall) (object.Value, error)

// capability checks the grant of a capability call and runs it.
func (h *txHost) capability(capOID object.OID, via grant, args []object.Value, kwargs map[string]object.Value) (object.Value, error) {
	v, err := h.checkedCapability(capOID, via, args, kwargs)
	if err != nil {
		h.mu.Lock()
		h.primErr = err
		h.mu.Unlock()
	}
	return v, err
}

func (h *txHost) checkedCapability(capOID object.OID, via grant, args []object.Value, kwargs map[string]object.Value) (object.Value, error) {
	if err := h.granted(capOID, via); err != nil {
		return nil, err
	}
	if h.opts.Capability == nil {
		return nil, fmt.Errorf("%w: no capabilities in this sandbox", ErrCapability)
	}
	h.mu.Lock()
	if h.caps == nil {
		h.caps = map[object.OID]int{}
	}
	h.caps[capOID]++
	n := h.caps[capOID]
	h.prims++
	total := h.prims
	h.mu.Unlock()
	if total > h.opts.MaxPrimitives {
		return nil, limitErr(ErrSteps, fmt.Sprintf("more than %d primitive calls", h.opts.MaxPrimitives))
	}
	v, err := h.opts.Capability(h.ctx, h.tx, &CapabilityCall{
		Capability: capOID, Holder: via.holder, Slot: via.slot, Receiver: h.self,
		Args: args, Kwargs: kwargs, N: n,
	})
	// What capabilities write stays in this process until commit, as
	// primitives' writes do: it counts against the memory bound.
	if grown := int64(h.tx.PendingBytes() - h.startBytes); err == nil && h.opts.MaxAllocBytes > 0 && grown > h.opts.MaxAllocBytes {
		v, err = nil, limitErr(ErrMemory, fmt.Sprintf("capabilities wrote %d bytes", grown))
	}
	return v, err
}

// granted reports whether the reference a method called capOID through
// grants it: it was read from a slot of a receiver that holds capOID
// there (own or inherited), or it was an argument of the call.
func (h *txHost) granted(capOID object.OID, via grant) error {
	switch {
	case via.arg:
		for _, a := range h.args {
			if r, ok := a.(object.Ref); ok && object.OID(r) == capOID {
				return nil
			}
		}
		for _, a := range h.kwargs {
			if r, ok := a.(object.Ref); ok && object.OID(r) == capOID {
				return nil
			}
		}
	case via.holder != 0 && via.slot != "":
		v, _, err := h.tx.Lookup(via.holder, via.slot)
		if r, ok := v.(object.Ref); err == nil && ok && object.OID(r) == capOID {
			return nil
		}
	}
	return fmt.Errorf("%w: capability %d was not granted to this method (a capability is usable only through a slot of the method's receiver that holds it, or as an argument of the call)", ErrCapability, uint64(capOID))
}

// checkGrants refuses changes that would store a reference to a
// capability object in a slot that did not hold it: methods use
// capabilities; only the host grants them.
func checkGrants(tx *object.Tx, changes []change) error {
	for _, c := range changes {
		refs := object.AppendRefs(nil, c.value)
		if len(refs) == 0 {
			continue
		}
		o, err := tx.Get(c.oid)
		if err != nil {
			return err
		}
		old := object.AppendRefs(nil, o.Slots[c.name])
		for _, r := range refs {
			if slices.Contains(old, r) {
				continue
			}
			target, err := tx.Get(r)
			if err != nil {
				continue // a dangling reference is not a capability
			}
			if IsCapability(target) {
				return fmt.Errorf("%w: a method may not store a reference to capability %d (in %d.%s): only the host grants capabilities", ErrCapability, uint64(r), uint64(c.oid), c.name)
			}
		}
	}
	return nil
}
