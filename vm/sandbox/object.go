package sandbox

import (
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/batos/batos/object"
)

// objValue is an object seen from Starlark. The receiver of a running
// method (self) is writable: its attribute writes go to the call's change
// set. Objects reached through references are read-only; their methods can
// still be called, and then run with that object as their own writable
// receiver.
type objValue struct {
	oid      object.OID
	s        *session
	writable bool
	// via is how this value was obtained when that grants the use of a
	// capability: read from a slot of a method's own receiver, or passed
	// as an argument of the call. Values read through other objects, or
	// nested in data, have none.
	via grant
}

// grant is where a reference came from, for the capability check: a
// slot of a receiver (holder, slot) or an argument of the call (arg).
// The zero grant grants nothing.
type grant struct {
	holder object.OID
	slot   string
	arg    bool
}

var (
	_ starlark.HasSetField = (*objValue)(nil)
	_ starlark.Comparable  = (*objValue)(nil)
	_ starlark.Callable    = (*method)(nil)
	_ starlark.Callable    = (*primitive)(nil)
)

func (o *objValue) String() string        { return fmt.Sprintf("<object %d>", uint64(o.oid)) }
func (o *objValue) Type() string          { return "object" }
func (o *objValue) Freeze()               {}
func (o *objValue) Truth() starlark.Bool  { return true }
func (o *objValue) Hash() (uint32, error) { return uint32(o.oid) ^ uint32(o.oid>>32), nil }

// CompareSameType makes two values of the same object equal.
func (o *objValue) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	same := o.oid == y.(*objValue).oid
	switch op {
	case syntax.EQL:
		return same, nil
	case syntax.NEQ:
		return !same, nil
	}
	return false, fmt.Errorf("objects cannot be ordered")
}

// AttrNames returns no names: the slots of an object (and its parents)
// are found on demand.
func (o *objValue) AttrNames() []string { return nil }

func forbiddenName(name string) bool {
	return name == "_slots" || strings.HasPrefix(name, "_p_") || strings.HasPrefix(name, "__")
}

// Attr returns the slot name, found on the object or through delegation.
func (o *objValue) Attr(name string) (starlark.Value, error) {
	if forbiddenName(name) {
		return nil, fmt.Errorf("attribute %s is not accessible", name)
	}
	s := o.s
	st := s.state(o.oid)
	if o.writable {
		if sl := st.get(name); sl != nil {
			return sl.cur, nil
		}
	} else if v, ok := st.ro[name]; ok {
		return v, nil
	}
	if v, ok := st.behaviour[name]; ok {
		return v, nil
	}
	v, _, err := s.h.lookup(o.oid, name)
	if errors.Is(err, object.ErrNotUnderstood) {
		return nil, nil // Starlark reports the missing attribute
	}
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case *object.Method:
		fn, err := s.cache.function(x)
		if err != nil {
			return nil, err
		}
		m := &method{recv: o.oid, s: s, fn: fn, name: name}
		st.setBehaviour(name, m)
		return m, nil
	case object.Primitive:
		p := &primitive{recv: o.oid, s: s, prim: string(x), name: name}
		if string(x) == CapabilityPrimitive {
			// Not cached: each reference to a capability carries its
			// own grant.
			p.via = o.via
			return p, nil
		}
		st.setBehaviour(name, p)
		return p, nil
	}
	sv := s.toStarlark(v)
	if ov, ok := sv.(*objValue); ok && o.writable {
		// A reference read from a slot of a method's own receiver: the
		// receiver may use the capability it refers to.
		ov.via = grant{holder: o.oid, slot: name}
	}
	if !o.writable {
		sv.Freeze() // other objects are read-only
		if st.ro == nil {
			st.ro = make(map[string]starlark.Value)
		}
		st.ro[name] = sv
		return sv, nil
	}
	st.slots = append(st.slots, &slot{name: name, orig: v, origKnown: true, cur: sv})
	return sv, nil
}

func (st *objState) setBehaviour(name string, v starlark.Value) {
	if st.behaviour == nil {
		st.behaviour = make(map[string]starlark.Value)
	}
	st.behaviour[name] = v
}

// SetField assigns slot name of the receiver; self._p_changed = True
// flags the changes made so far.
func (o *objValue) SetField(name string, v starlark.Value) error {
	if !o.writable {
		return fmt.Errorf("object %d is read-only here: a method can only change its own receiver", uint64(o.oid))
	}
	if name == "_p_changed" {
		if v != starlark.True {
			return fmt.Errorf("_p_changed may only be set to True")
		}
		return o.s.flag(o.oid)
	}
	if forbiddenName(name) {
		return fmt.Errorf("attribute %s cannot be assigned", name)
	}
	st := o.s.state(o.oid)
	delete(st.behaviour, name)
	sl := st.get(name)
	if sl == nil {
		sl = &slot{name: name}
		st.slots = append(st.slots, sl)
	}
	sl.cur = v
	sl.assigned = true
	return nil
}

// method is a Starlark method bound to its receiver (not to the object
// that holds it).
type method struct {
	recv object.OID
	s    *session
	fn   *starlark.Function
	name string
}

func (m *method) String() string        { return fmt.Sprintf("<method %s of %d>", m.name, uint64(m.recv)) }
func (m *method) Type() string          { return "method" }
func (m *method) Freeze()               {}
func (m *method) Truth() starlark.Bool  { return true }
func (m *method) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: method") }
func (m *method) Name() string          { return m.name }

// CallInternal runs the method with a writable receiver.
func (m *method) CallInternal(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s := m.s
	if s.depth >= s.lim.maxDepth {
		s.stopWith(limitErr(ErrDepth, fmt.Sprintf("more than %d nested method calls", s.lim.maxDepth)))
		return nil, fmt.Errorf("call depth exceeded")
	}
	s.depth++
	defer func() { s.depth-- }()
	all := make(starlark.Tuple, 0, len(args)+1)
	all = append(all, &objValue{oid: m.recv, s: s, writable: true})
	all = append(all, args...)
	return starlark.Call(thread, m.fn, all, kwargs)
}

// primitive is a primitive slot bound to its receiver.
type primitive struct {
	recv object.OID
	s    *session
	prim string
	name string
	via  grant // for CapabilityPrimitive: the grant of the reference it was read through
}

func (p *primitive) String() string {
	return fmt.Sprintf("<primitive %s of %d>", p.prim, uint64(p.recv))
}
func (p *primitive) Type() string          { return "primitive" }
func (p *primitive) Freeze()               {}
func (p *primitive) Truth() starlark.Bool  { return true }
func (p *primitive) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: primitive") }
func (p *primitive) Name() string          { return p.name }

// CallInternal converts the arguments and asks the host to run the
// primitive.
func (p *primitive) CallInternal(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	vals := make([]object.Value, len(args))
	for i, a := range args {
		v, err := toValue(a)
		if err != nil {
			return nil, fmt.Errorf("%s: argument %d: %v", p.name, i+1, err)
		}
		vals[i] = v
	}
	var kw map[string]object.Value
	if len(kwargs) > 0 {
		kw = make(map[string]object.Value, len(kwargs))
		for _, pair := range kwargs {
			v, err := toValue(pair[1])
			if err != nil {
				return nil, fmt.Errorf("%s: argument %s: %v", p.name, pair[0], err)
			}
			kw[string(pair[0].(starlark.String))] = v
		}
	}
	res, err := p.s.h.primitive(p.recv, p.prim, p.via, vals, kw)
	if err != nil {
		return nil, err
	}
	return p.s.toStarlark(res), nil
}
