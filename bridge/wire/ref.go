package wire

import (
	"fmt"
	"strconv"

	"github.com/tinylib/msgp/msgp"
)

// Ref names an object in a request's "target_oid": either by a name (a
// msgpack string, as in the blueprint's "genesis_obj") or by a numeric OID
// (a non-negative msgpack integer). The zero Ref names nothing and encodes
// as nil.
type Ref struct {
	// Name is the object's name when the client sent a string.
	Name string
	// OID is the object's number when ByOID is set.
	OID uint64
	// ByOID reports that the client sent an integer.
	ByOID bool
}

// Named returns a Ref to the object called name.
func Named(name string) Ref { return Ref{Name: name} }

// ByNumber returns a Ref to the object with the numeric OID oid.
func ByNumber(oid uint64) Ref { return Ref{OID: oid, ByOID: true} }

// IsZero reports whether r names nothing.
func (r Ref) IsZero() bool { return r.Name == "" && !r.ByOID }

// String returns the name, or the OID in decimal.
func (r Ref) String() string {
	if r.ByOID {
		return strconv.FormatUint(r.OID, 10)
	}
	return r.Name
}

// MarshalMsg implements msgp.Marshaler.
func (r Ref) MarshalMsg(b []byte) ([]byte, error) {
	switch {
	case r.ByOID:
		return msgp.AppendUint64(b, r.OID), nil
	case r.Name != "":
		return msgp.AppendString(b, r.Name), nil
	default:
		return msgp.AppendNil(b), nil
	}
}

// UnmarshalMsg implements msgp.Unmarshaler. It accepts a string, a
// non-negative integer, or nil (the zero Ref).
func (r *Ref) UnmarshalMsg(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return b, msgp.ErrShortBytes
	}
	switch t := msgp.NextType(b); t {
	case msgp.NilType:
		*r = Ref{}
		return b[1:], nil
	case msgp.StrType:
		s, o, err := msgp.ReadStringBytes(b)
		if err != nil {
			return b, err
		}
		*r = Ref{Name: s}
		return o, nil
	case msgp.IntType:
		n, o, err := msgp.ReadInt64Bytes(b)
		if err != nil {
			return b, err
		}
		if n < 0 {
			return b, fmt.Errorf("%w: negative OID %d", ErrInvalidField, n)
		}
		*r = ByNumber(uint64(n))
		return o, nil
	case msgp.UintType:
		n, o, err := msgp.ReadUint64Bytes(b)
		if err != nil {
			return b, err
		}
		*r = ByNumber(n)
		return o, nil
	default:
		return b, fmt.Errorf("%w: target must be a string or an integer, got %v", ErrInvalidField, t)
	}
}

// Msgsize implements msgp.Sizer.
func (r Ref) Msgsize() int {
	return max(msgp.Uint64Size, msgp.StringPrefixSize+len(r.Name))
}

// RefValue returns a reference to the object oid as it travels in a slot
// value, a message argument or an inspect result: the map {"oid": oid}.
// A server reads a map of exactly that shape (the one key "oid") in
// set_slot's value and dispatch_message's arguments back as a reference,
// so a client can set a parent* slot; see AsRefValue.
func RefValue(oid uint64) Map { return Map{"oid": oid} }

// AsRefValue reports whether v is a reference in RefValue's form and
// returns its OID. A map whose only key is "oid" is always read as a
// reference: ok is true, and err is non-nil (ErrInvalidField) when the
// value is not a non-negative integer. Anything else is not a reference
// (ok false).
func AsRefValue(v any) (oid uint64, ok bool, err error) {
	var m map[string]any
	switch x := v.(type) {
	case map[string]any:
		m = x
	case Map:
		m = x
	default:
		return 0, false, nil
	}
	n, has := m["oid"]
	if !has || len(m) != 1 {
		return 0, false, nil
	}
	switch n := n.(type) {
	case int64:
		if n >= 0 {
			return uint64(n), true, nil
		}
	case uint64:
		return n, true, nil
	case int:
		if n >= 0 {
			return uint64(n), true, nil
		}
	}
	return 0, true, fmt.Errorf("%w: a reference {\"oid\": N} needs a non-negative integer N, got %v", ErrInvalidField, n)
}
