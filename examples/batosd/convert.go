package main

import (
	"fmt"
	"math"

	"github.com/batos/batos/bridge/wire"
	"github.com/batos/batos/object"
)

// fromWire converts a decoded wire value into a slot value. A map of
// exactly the shape {"oid": N} is a reference (wire.AsRefValue), as
// toWire sends one; that the object exists is checkRefs's business.
func fromWire(v any) (object.Value, error) {
	if oid, ok, err := wire.AsRefValue(v); ok {
		if err != nil {
			return nil, err
		}
		return object.Ref(oid), nil
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return object.Bool(x), nil
	case int64:
		return object.Int(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d out of range", x)
		}
		return object.Int(int64(x)), nil
	case float64:
		return object.Float(x), nil
	case string:
		return object.String(x), nil
	case []byte:
		return object.Bytes(x), nil
	case []any:
		return listFromWire(x)
	case wire.List:
		return listFromWire(x)
	case map[string]any:
		return mapFromWire(x)
	case wire.Map:
		return mapFromWire(x)
	case wire.Value:
		return fromWire(x.V)
	default:
		return nil, fmt.Errorf("unsupported value type %T", v)
	}
}

func listFromWire(l []any) (object.List, error) {
	out := make(object.List, len(l))
	for i, e := range l {
		v, err := fromWire(e)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func mapFromWire(m map[string]any) (object.Map, error) {
	out := make(object.Map, len(m))
	for k, e := range m {
		v, err := fromWire(e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

// toWire converts a slot value to a wire value. References become
// {"oid": N} (wire.RefValue), which fromWire reads back; methods, primitives and blobs become descriptive maps; parts
// nested deeper than the wire format allows are sent as their text form.
func toWire(v object.Value) any { return toWireDepth(v, 0) }

func toWireDepth(v object.Value, depth int) any {
	if depth >= wire.MaxDepth-2 {
		return object.Format(v)
	}
	switch x := v.(type) {
	case nil:
		return nil
	case object.Bool:
		return bool(x)
	case object.Int:
		return int64(x)
	case object.Float:
		return float64(x)
	case object.String:
		return string(x)
	case object.Bytes:
		return []byte(x)
	case object.Ref:
		return wire.RefValue(uint64(x))
	case object.List:
		out := make(wire.List, len(x))
		for i, e := range x {
			out[i] = toWireDepth(e, depth+1)
		}
		return out
	case object.Map:
		out := make(wire.Map, len(x))
		for k, e := range x {
			out[k] = toWireDepth(e, depth+1)
		}
		return out
	case object.Primitive:
		return wire.Map{"primitive": string(x)}
	case *object.Method:
		return wire.Map{"method": x.Selector, "author": x.Author, "version": x.Version}
	case object.BlobRef:
		return wire.Map{"blob": int64(x.ID), "size": x.Size, "sha256": x.Hex()}
	default:
		return object.Format(v)
	}
}
