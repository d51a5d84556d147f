package sandbox

import (
	"fmt"
	"maps"
	"slices"

	"go.starlark.net/starlark"

	"github.com/batos/batos/object"
)

// maxValueDepth bounds the nesting of values converted between Starlark
// and object values (the object encoding allows 64).
const maxValueDepth = 64

// toStarlark converts a slot value. Lists and maps become fresh mutable
// Starlark lists and dicts; references become read-only object values;
// methods, primitives and blob references nested in data become opaque
// values that convert back unchanged.
func (s *session) toStarlark(v object.Value) starlark.Value {
	switch x := v.(type) {
	case nil:
		return starlark.None
	case object.Bool:
		return starlark.Bool(x)
	case object.Int:
		return starlark.MakeInt64(int64(x))
	case object.Float:
		return starlark.Float(x)
	case object.String:
		return starlark.String(x)
	case object.Bytes:
		return starlark.Bytes(x)
	case object.Ref:
		return &objValue{oid: object.OID(x), s: s}
	case object.List:
		elems := make([]starlark.Value, len(x))
		for i, e := range x {
			elems[i] = s.toStarlark(e)
		}
		return starlark.NewList(elems)
	case object.Map:
		d := starlark.NewDict(len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			_ = d.SetKey(starlark.String(k), s.toStarlark(x[k])) // fresh dict: cannot fail
		}
		return d
	default: // *Method, Primitive, BlobRef
		return &opaque{v: v}
	}
}

// toValue converts a Starlark value back into a slot value.
func toValue(v starlark.Value) (object.Value, error) { return toValueDepth(v, 0) }

func toValueDepth(v starlark.Value, depth int) (object.Value, error) {
	if depth > maxValueDepth {
		return nil, fmt.Errorf("value nested deeper than %d", maxValueDepth)
	}
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return object.Bool(x), nil
	case starlark.Int:
		i, ok := x.Int64()
		if !ok {
			return nil, fmt.Errorf("integer %s does not fit in 64 bits", x)
		}
		return object.Int(i), nil
	case starlark.Float:
		return object.Float(x), nil
	case starlark.String:
		return object.String(x), nil
	case starlark.Bytes:
		return object.Bytes(x), nil
	case *starlark.List:
		return listValue(x, x.Len(), x.Index, depth)
	case starlark.Tuple:
		return listValue(x, len(x), func(i int) starlark.Value { return x[i] }, depth)
	case *starlark.Dict:
		m := make(object.Map, x.Len())
		for _, it := range x.Items() {
			k, ok := it[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict key %s is not a string", it[0].Type())
			}
			e, err := toValueDepth(it[1], depth+1)
			if err != nil {
				return nil, err
			}
			m[string(k)] = e
		}
		return m, nil
	case *objValue:
		return object.Ref(x.oid), nil
	case *opaque:
		return object.CloneValue(x.v), nil
	}
	return nil, fmt.Errorf("a value of type %s cannot be stored or returned", v.Type())
}

func listValue(_ starlark.Value, n int, at func(int) starlark.Value, depth int) (object.Value, error) {
	out := make(object.List, n)
	for i := range n {
		e, err := toValueDepth(at(i), depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// opaque carries a method, primitive or blob reference through Starlark
// code unchanged.
type opaque struct{ v object.Value }

var _ starlark.Value = (*opaque)(nil)

func (o *opaque) String() string        { return object.Format(o.v) }
func (o *opaque) Type() string          { return "opaque" }
func (o *opaque) Freeze()               {}
func (o *opaque) Truth() starlark.Bool  { return true }
func (o *opaque) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: %s", o.Type()) }
