package object

import (
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OID identifies an object. OIDs are never reused; 0 is never a valid OID.
type OID uint64

// String formats the OID in decimal.
func (o OID) String() string { return strconv.FormatUint(uint64(o), 10) }

// Value is a slot value: nil or one of Bool, Int, Float, String, Bytes, Ref,
// List, Map, *Method, Primitive and BlobRef. The set is sealed.
type Value interface{ isValue() }

// Bool is a boolean slot value.
type Bool bool

// Int is an integer slot value.
type Int int64

// Float is a floating-point slot value.
type Float float64

// String is a text slot value.
type String string

// Bytes is a binary slot value.
type Bytes []byte

// Ref is a reference to another object.
type Ref OID

// List is an ordered list of values.
type List []Value

// Map is a map with string keys.
type Map map[string]Value

// Primitive names a native Go behaviour registered by the VM. Storing the
// name rather than the function lets the behaviour persist.
type Primitive string

// Method is a generated behaviour: Starlark source plus the metadata of its
// making.
type Method struct {
	Selector string    // the message it answers
	Source   string    // Starlark source: one def named Selector
	Author   string    // persona that wrote it (ALFRED, ...)
	Cycle    OID       // cognitive cycle that produced it, 0 if none
	Verdict  string    // guardian audit verdict ("passed", ...)
	Findings []string  // audit findings, if any
	Created  time.Time // when it was installed
	Version  int64     // incremented each time the selector is reinstalled
}

// BlobRef refers to a blob stored with Store.PutBlob.
type BlobRef struct {
	ID     uint64
	Size   int64
	SHA256 [32]byte
}

func (Bool) isValue()      {}
func (Int) isValue()       {}
func (Float) isValue()     {}
func (String) isValue()    {}
func (Bytes) isValue()     {}
func (Ref) isValue()       {}
func (List) isValue()      {}
func (Map) isValue()       {}
func (Primitive) isValue() {}
func (*Method) isValue()   {}
func (BlobRef) isValue()   {}

// Hex returns the blob's SHA-256 in hexadecimal.
func (b BlobRef) Hex() string { return hex.EncodeToString(b.SHA256[:]) }

// CloneValue returns a deep copy of v: lists, maps, bytes and methods are
// copied; references are shared (they still point at the same objects).
func CloneValue(v Value) Value {
	switch x := v.(type) {
	case Bytes:
		return Bytes(slices.Clone([]byte(x)))
	case List:
		if x == nil {
			return List(nil)
		}
		out := make(List, len(x))
		for i, e := range x {
			out[i] = CloneValue(e)
		}
		return out
	case Map:
		if x == nil {
			return Map(nil)
		}
		out := make(Map, len(x))
		for k, e := range x {
			out[k] = CloneValue(e)
		}
		return out
	case *Method:
		if x == nil {
			return (*Method)(nil)
		}
		m := *x
		m.Findings = slices.Clone(x.Findings)
		return &m
	default:
		return v
	}
}

// Equal reports whether a and b are the same value, comparing lists, maps
// and methods deeply.
func Equal(a, b Value) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case Bytes:
		y, ok := b.(Bytes)
		return ok && string(x) == string(y)
	case List:
		y, ok := b.(List)
		return ok && slices.EqualFunc(x, y, Equal)
	case Map:
		y, ok := b.(Map)
		return ok && maps.EqualFunc(x, y, Equal)
	case *Method:
		y, ok := b.(*Method)
		if !ok || (x == nil) != (y == nil) {
			return false
		}
		return x == nil || (x.Selector == y.Selector && x.Source == y.Source && x.Author == y.Author &&
			x.Cycle == y.Cycle && x.Verdict == y.Verdict && slices.Equal(x.Findings, y.Findings) &&
			x.Created.Equal(y.Created) && x.Version == y.Version)
	case Float:
		y, ok := b.(Float)
		return ok && (x == y || (x != x && y != y))
	default:
		return a == b
	}
}

// Format renders v for humans and for the blueprint's display_yourself
// ("<UvmObject oid=1 slots=['parent*']>" uses it for slot values).
func Format(v Value) string {
	var sb strings.Builder
	format(&sb, v)
	return sb.String()
}

func format(sb *strings.Builder, v Value) {
	switch x := v.(type) {
	case nil:
		sb.WriteString("None")
	case Bool:
		if x {
			sb.WriteString("True")
		} else {
			sb.WriteString("False")
		}
	case Int:
		sb.WriteString(strconv.FormatInt(int64(x), 10))
	case Float:
		sb.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 64))
	case String:
		sb.WriteString(strconv.Quote(string(x)))
	case Bytes:
		fmt.Fprintf(sb, "b%q", []byte(x))
	case Ref:
		fmt.Fprintf(sb, "<ref oid=%d>", uint64(x))
	case List:
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				sb.WriteString(", ")
			}
			format(sb, e)
		}
		sb.WriteByte(']')
	case Map:
		sb.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(strconv.Quote(k))
			sb.WriteString(": ")
			format(sb, x[k])
		}
		sb.WriteByte('}')
	case Primitive:
		fmt.Fprintf(sb, "<primitive %s>", string(x))
	case *Method:
		if x == nil {
			sb.WriteString("<method nil>")
		} else {
			fmt.Fprintf(sb, "<method %s by %s v%d>", x.Selector, x.Author, x.Version)
		}
	case BlobRef:
		fmt.Fprintf(sb, "<blob id=%d size=%d sha256=%s>", x.ID, x.Size, x.Hex()[:12])
	default:
		fmt.Fprintf(sb, "<%T>", v)
	}
}

// FirstKeys returns the n smallest keys of m in order, without sorting
// all of them (a slot may hold a million keys).
func (m Map) FirstKeys(n int) []string {
	out := make([]string, 0, n+1)
	for k := range m {
		i, _ := slices.BinarySearch(out, k)
		if i >= n {
			continue
		}
		out = slices.Insert(out, i, k)
		if len(out) > n {
			out = out[:n]
		}
	}
	return out
}

// AppendRefs appends the OIDs v refers to, in lists and maps too, to dst.
func AppendRefs(dst []OID, v Value) []OID {
	switch x := v.(type) {
	case Ref:
		return append(dst, OID(x))
	case List:
		for _, e := range x {
			dst = AppendRefs(dst, e)
		}
	case Map:
		for _, e := range x {
			dst = AppendRefs(dst, e)
		}
	}
	return dst
}
