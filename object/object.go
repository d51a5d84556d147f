package object

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Object is a prototype object: an identity and a set of slots. An Object
// read from a transaction is a private copy; change it and Tx.Put it back.
type Object struct {
	OID   OID
	Slots map[string]Value
}

// IsParentSlot reports whether a slot name denotes a parent slot (ends in "*").
func IsParentSlot(name string) bool { return strings.HasSuffix(name, "*") }

// Get returns the value of the object's own slot name.
func (o *Object) Get(name string) (Value, bool) {
	v, ok := o.Slots[name]
	return v, ok
}

// Set sets the object's own slot name to v.
func (o *Object) Set(name string, v Value) {
	if o.Slots == nil {
		o.Slots = make(map[string]Value)
	}
	o.Slots[name] = v
}

// Delete removes the object's own slot name.
func (o *Object) Delete(name string) { delete(o.Slots, name) }

// Names returns the object's slot names in sorted order.
func (o *Object) Names() []string { return slices.Sorted(maps.Keys(o.Slots)) }

// Parents returns the OIDs in the object's parent slots: parent slots in
// name order, each slot's references in list order. Values that are not
// references are ignored.
func (o *Object) Parents() []OID {
	var names []string
	for name := range o.Slots {
		if IsParentSlot(name) {
			names = append(names, name)
		}
	}
	if len(names) > 1 {
		slices.Sort(names)
	}
	var out []OID
	for _, name := range names {
		switch v := o.Slots[name].(type) {
		case Ref:
			out = append(out, OID(v))
		case List:
			for _, e := range v {
				if r, ok := e.(Ref); ok {
					out = append(out, OID(r))
				}
			}
		}
	}
	return out
}

// Copy returns a deep copy of the object with the same OID.
func (o *Object) Copy() *Object {
	c := &Object{OID: o.OID, Slots: make(map[string]Value, len(o.Slots))}
	for k, v := range o.Slots {
		c.Slots[k] = CloneValue(v)
	}
	return c
}

// String renders the object as the blueprint's repr does:
// <UvmObject oid=1 slots=['a', 'parent*']>.
func (o *Object) String() string {
	names := o.Names()
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "'" + n + "'"
	}
	return fmt.Sprintf("<UvmObject oid=%d slots=[%s]>", uint64(o.OID), strings.Join(quoted, ", "))
}
