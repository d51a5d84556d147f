package wire

import (
	"fmt"
	"math"

	"github.com/tinylib/msgp/msgp"
)

// Bounds enforced by every decoder in this package. Together with the
// payload size limit of the transport they bound the memory and time a
// hostile message can cost: every element consumes at least one byte of
// input, so no header can make the decoder allocate more than a small
// multiple of the payload's size.
const (
	// MaxDepth is the deepest nesting of lists and maps accepted.
	MaxDepth = 32
	// MaxElements is the most elements one list or map may hold. It
	// matches the //msgp:limit directive of the generated code.
	MaxElements = 65536
)

// Value holds one dynamically typed msgpack value in V.
//
// Decoding produces only these Go types in V (and inside lists and maps):
// nil, bool, int64 (every integer that fits), uint64 (only integers above
// math.MaxInt64), float64 (float32 is widened), string, []byte, []any and
// map[string]any. Msgpack extensions and timestamps are rejected with
// ErrUnsupportedType; map keys must be strings (ErrMapKey).
//
// Encoding also accepts the other Go integer and float types, []string,
// []int, []int64, []float32, []float64, map[string]string, List, Map,
// Value, and any msgp.Marshaler (so typed results can be returned as-is).
type Value struct {
	V any
}

// List is a msgpack array of values with the element types of Value.
type List []any

// Map is a msgpack map with string keys and values with the types of Value.
type Map map[string]any

// IsZero reports whether v holds nil.
func (v Value) IsZero() bool { return v.V == nil }

// MarshalMsg implements msgp.Marshaler.
func (v Value) MarshalMsg(b []byte) ([]byte, error) { return appendValue(b, v.V, 0) }

// UnmarshalMsg implements msgp.Unmarshaler.
func (v *Value) UnmarshalMsg(b []byte) ([]byte, error) {
	x, o, err := readValue(b, 0)
	if err != nil {
		return b, err
	}
	v.V = x
	return o, nil
}

// Msgsize implements msgp.Sizer; the result is an estimate.
func (v Value) Msgsize() int { return sizeValue(v.V, 0) }

// IsZero reports whether l is empty.
func (l List) IsZero() bool { return len(l) == 0 }

// MarshalMsg implements msgp.Marshaler.
func (l List) MarshalMsg(b []byte) ([]byte, error) { return appendList(b, l, 0) }

// UnmarshalMsg implements msgp.Unmarshaler. Nil decodes as a nil List.
func (l *List) UnmarshalMsg(b []byte) ([]byte, error) {
	if msgp.IsNil(b) {
		*l = nil
		return b[1:], nil
	}
	if msgp.NextType(b) != msgp.ArrayType {
		return b, fmt.Errorf("%w: want array, got %v", ErrInvalidField, msgp.NextType(b))
	}
	x, o, err := readList(b, 0)
	if err != nil {
		return b, err
	}
	*l = x
	return o, nil
}

// Msgsize implements msgp.Sizer; the result is an estimate.
func (l List) Msgsize() int { return sizeValue([]any(l), 0) }

// IsZero reports whether m is empty.
func (m Map) IsZero() bool { return len(m) == 0 }

// MarshalMsg implements msgp.Marshaler.
func (m Map) MarshalMsg(b []byte) ([]byte, error) { return appendMap(b, m, 0) }

// UnmarshalMsg implements msgp.Unmarshaler. Nil decodes as a nil Map.
func (m *Map) UnmarshalMsg(b []byte) ([]byte, error) {
	if msgp.IsNil(b) {
		*m = nil
		return b[1:], nil
	}
	if msgp.NextType(b) != msgp.MapType {
		return b, fmt.Errorf("%w: want map, got %v", ErrInvalidField, msgp.NextType(b))
	}
	x, o, err := readMap(b, 0)
	if err != nil {
		return b, err
	}
	*m = x
	return o, nil
}

// Msgsize implements msgp.Sizer; the result is an estimate.
func (m Map) Msgsize() int { return sizeValue(map[string]any(m), 0) }

// readValue decodes one value of a closed set of types, under MaxDepth
// and MaxElements.
func readValue(b []byte, depth int) (any, []byte, error) {
	if len(b) == 0 {
		return nil, b, msgp.ErrShortBytes
	}
	switch t := msgp.NextType(b); t {
	case msgp.NilType:
		o, err := msgp.ReadNilBytes(b)
		return nil, o, err
	case msgp.BoolType:
		return msgp.ReadBoolBytes(b)
	case msgp.IntType:
		return msgp.ReadInt64Bytes(b)
	case msgp.UintType:
		u, o, err := msgp.ReadUint64Bytes(b)
		if err != nil {
			return nil, b, err
		}
		if u <= math.MaxInt64 {
			return int64(u), o, nil
		}
		return u, o, nil
	case msgp.Float32Type:
		f, o, err := msgp.ReadFloat32Bytes(b)
		return float64(f), o, err
	case msgp.Float64Type:
		return msgp.ReadFloat64Bytes(b)
	case msgp.StrType:
		return msgp.ReadStringBytes(b)
	case msgp.BinType:
		return msgp.ReadBytesBytes(b, nil)
	case msgp.ArrayType:
		return readList(b, depth)
	case msgp.MapType:
		return readMap(b, depth)
	default:
		return nil, b, fmt.Errorf("%w: msgpack %v (byte 0x%02x)", ErrUnsupportedType, t, b[0])
	}
}

func readList(b []byte, depth int) ([]any, []byte, error) {
	if depth >= MaxDepth {
		return nil, b, ErrTooDeep
	}
	sz, o, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, b, err
	}
	if sz > MaxElements {
		return nil, b, fmt.Errorf("%w: array of %d elements (limit %d)", ErrTooLarge, sz, MaxElements)
	}
	if uint64(sz) > uint64(len(o)) { // every element takes at least one byte
		return nil, b, msgp.ErrShortBytes
	}
	l := make([]any, sz)
	for i := range l {
		l[i], o, err = readValue(o, depth+1)
		if err != nil {
			return nil, b, err
		}
	}
	return l, o, nil
}

func readMap(b []byte, depth int) (map[string]any, []byte, error) {
	if depth >= MaxDepth {
		return nil, b, ErrTooDeep
	}
	sz, o, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return nil, b, err
	}
	if sz > MaxElements {
		return nil, b, fmt.Errorf("%w: map of %d entries (limit %d)", ErrTooLarge, sz, MaxElements)
	}
	if 2*uint64(sz) > uint64(len(o)) { // a key and a value take two bytes at least
		return nil, b, msgp.ErrShortBytes
	}
	m := make(map[string]any, sz)
	for range sz {
		if len(o) == 0 {
			return nil, b, msgp.ErrShortBytes
		}
		if msgp.NextType(o) != msgp.StrType {
			return nil, b, fmt.Errorf("%w: got %v", ErrMapKey, msgp.NextType(o))
		}
		var k []byte
		k, o, err = msgp.ReadStringZC(o)
		if err != nil {
			return nil, b, err
		}
		var v any
		v, o, err = readValue(o, depth+1)
		if err != nil {
			return nil, b, err
		}
		m[string(k)] = v
	}
	return m, o, nil
}

// appendValue encodes x; see Value for the accepted types.
func appendValue(b []byte, x any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return b, ErrTooDeep
	}
	switch x := x.(type) {
	case nil:
		return msgp.AppendNil(b), nil
	case bool:
		return msgp.AppendBool(b, x), nil
	case int:
		return msgp.AppendInt64(b, int64(x)), nil
	case int8:
		return msgp.AppendInt64(b, int64(x)), nil
	case int16:
		return msgp.AppendInt64(b, int64(x)), nil
	case int32:
		return msgp.AppendInt64(b, int64(x)), nil
	case int64:
		return msgp.AppendInt64(b, x), nil
	case uint:
		return msgp.AppendUint64(b, uint64(x)), nil
	case uint8:
		return msgp.AppendUint64(b, uint64(x)), nil
	case uint16:
		return msgp.AppendUint64(b, uint64(x)), nil
	case uint32:
		return msgp.AppendUint64(b, uint64(x)), nil
	case uint64:
		return msgp.AppendUint64(b, x), nil
	case float32:
		return msgp.AppendFloat32(b, x), nil
	case float64:
		return msgp.AppendFloat64(b, x), nil
	case string:
		return msgp.AppendString(b, x), nil
	case []byte:
		return msgp.AppendBytes(b, x), nil
	case []any:
		return appendList(b, x, depth)
	case List:
		return appendList(b, x, depth)
	case map[string]any:
		return appendMap(b, x, depth)
	case Map:
		return appendMap(b, x, depth)
	case Value:
		return appendValue(b, x.V, depth)
	case *Value:
		if x == nil {
			return msgp.AppendNil(b), nil
		}
		return appendValue(b, x.V, depth)
	case []string:
		b = msgp.AppendArrayHeader(b, uint32(len(x)))
		for _, s := range x {
			b = msgp.AppendString(b, s)
		}
		return b, nil
	case []int:
		b = msgp.AppendArrayHeader(b, uint32(len(x)))
		for _, n := range x {
			b = msgp.AppendInt64(b, int64(n))
		}
		return b, nil
	case []int64:
		b = msgp.AppendArrayHeader(b, uint32(len(x)))
		for _, n := range x {
			b = msgp.AppendInt64(b, n)
		}
		return b, nil
	case []float32:
		b = msgp.AppendArrayHeader(b, uint32(len(x)))
		for _, f := range x {
			b = msgp.AppendFloat32(b, f)
		}
		return b, nil
	case []float64:
		b = msgp.AppendArrayHeader(b, uint32(len(x)))
		for _, f := range x {
			b = msgp.AppendFloat64(b, f)
		}
		return b, nil
	case map[string]string:
		b = msgp.AppendMapHeader(b, uint32(len(x)))
		for k, v := range x {
			b = msgp.AppendString(b, k)
			b = msgp.AppendString(b, v)
		}
		return b, nil
	case msgp.Marshaler:
		return x.MarshalMsg(b)
	default:
		return b, fmt.Errorf("%w: Go %T", ErrUnsupportedType, x)
	}
}

func appendList(b []byte, l []any, depth int) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, uint32(len(l)))
	var err error
	for _, e := range l {
		if b, err = appendValue(b, e, depth+1); err != nil {
			return b, err
		}
	}
	return b, nil
}

func appendMap(b []byte, m map[string]any, depth int) ([]byte, error) {
	b = msgp.AppendMapHeader(b, uint32(len(m)))
	var err error
	for k, v := range m {
		b = msgp.AppendString(b, k)
		if b, err = appendValue(b, v, depth+1); err != nil {
			return b, err
		}
	}
	return b, nil
}

// sizeValue estimates the encoded size of x (exact for the common types).
func sizeValue(x any, depth int) int {
	if depth > MaxDepth {
		return 0
	}
	switch x := x.(type) {
	case nil, bool:
		return 1
	case string:
		return msgp.StringPrefixSize + len(x)
	case []byte:
		return msgp.BytesPrefixSize + len(x)
	case []any:
		n := msgp.ArrayHeaderSize
		for _, e := range x {
			n += sizeValue(e, depth+1)
		}
		return n
	case List:
		return sizeValue([]any(x), depth)
	case map[string]any:
		n := msgp.MapHeaderSize
		for k, v := range x {
			n += msgp.StringPrefixSize + len(k) + sizeValue(v, depth+1)
		}
		return n
	case Map:
		return sizeValue(map[string]any(x), depth)
	case Value:
		return sizeValue(x.V, depth)
	case []string:
		n := msgp.ArrayHeaderSize
		for _, s := range x {
			n += msgp.StringPrefixSize + len(s)
		}
		return n
	case msgp.Sizer:
		return x.Msgsize()
	default:
		return 9 // numbers; other slices grow the buffer as they append
	}
}

// Decode converts v into a typed result such as *ObjectInfo: it encodes
// V and decodes the bytes into dst, so it works both on a value decoded
// from the wire (maps and lists) and on one that already holds the type.
func (v Value) Decode(dst msgp.Unmarshaler) error {
	b, err := appendValue(nil, v.V, 0)
	if err != nil {
		return err
	}
	o, err := dst.UnmarshalMsg(b)
	if err != nil {
		return fmt.Errorf("wire: decoding %T: %w", dst, err)
	}
	if len(o) != 0 {
		return fmt.Errorf("%w (%d bytes)", ErrTrailingBytes, len(o))
	}
	return nil
}

// Mission reports whether v is the result of a dispatch_message that
// started a cognitive cycle (a map with "mission": true) and decodes it.
// Any other result is the method's own value.
func (v Value) Mission() (*MissionStarted, bool) {
	var m map[string]any
	switch x := v.V.(type) {
	case map[string]any:
		m = x
	case Map:
		m = x
	case *MissionStarted:
		return x, x != nil && x.Mission
	default:
		return nil, false
	}
	if m["mission"] != true {
		return nil, false
	}
	var ms MissionStarted
	if err := v.Decode(&ms); err != nil {
		return nil, false
	}
	return &ms, true
}
