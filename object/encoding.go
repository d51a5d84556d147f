package object

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// encodingVersion is the first byte of every encoded object.
const encodingVersion = 1

// maxDepth bounds the nesting of lists and maps, when encoding and decoding.
const maxDepth = 64

const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagBytes
	tagRef
	tagList
	tagMap
	tagPrimitive
	tagMethod
	tagBlob
)

// AppendObject appends the encoding of o's slots to dst. Slots are written
// in sorted order, so equal objects encode to equal bytes.
func AppendObject(dst []byte, o *Object) ([]byte, error) {
	dst = append(dst, encodingVersion)
	dst = binary.AppendUvarint(dst, uint64(len(o.Slots)))
	var err error
	for _, name := range o.Names() {
		if name == "" {
			return nil, fmt.Errorf("%w: empty slot name", ErrInvalid)
		}
		dst = appendString(dst, name)
		if dst, err = appendValue(dst, o.Slots[name], 0); err != nil {
			return nil, fmt.Errorf("slot %q: %w", name, err)
		}
	}
	return dst, nil
}

// AppendValue appends the encoding of one value to dst.
func AppendValue(dst []byte, v Value) ([]byte, error) { return appendValue(dst, v, 0) }

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendValue(dst []byte, v Value, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: value nested deeper than %d", ErrInvalid, maxDepth)
	}
	var err error
	switch x := v.(type) {
	case nil:
		dst = append(dst, tagNil)
	case Bool:
		if x {
			dst = append(dst, tagTrue)
		} else {
			dst = append(dst, tagFalse)
		}
	case Int:
		dst = binary.AppendVarint(append(dst, tagInt), int64(x))
	case Float:
		dst = binary.LittleEndian.AppendUint64(append(dst, tagFloat), math.Float64bits(float64(x)))
	case String:
		dst = appendString(append(dst, tagString), string(x))
	case Bytes:
		dst = appendString(append(dst, tagBytes), string(x))
	case Ref:
		dst = binary.AppendUvarint(append(dst, tagRef), uint64(x))
	case Primitive:
		dst = appendString(append(dst, tagPrimitive), string(x))
	case List:
		dst = binary.AppendUvarint(append(dst, tagList), uint64(len(x)))
		for _, e := range x {
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
	case Map:
		dst = binary.AppendUvarint(append(dst, tagMap), uint64(len(x)))
		for _, k := range sortedKeys(x) {
			dst = appendString(dst, k)
			if dst, err = appendValue(dst, x[k], depth+1); err != nil {
				return nil, err
			}
		}
	case *Method:
		if x == nil {
			return nil, fmt.Errorf("%w: nil *Method", ErrInvalid)
		}
		dst = append(dst, tagMethod)
		dst = appendString(dst, x.Selector)
		dst = appendString(dst, x.Source)
		dst = appendString(dst, x.Author)
		dst = binary.AppendUvarint(dst, uint64(x.Cycle))
		dst = appendString(dst, x.Verdict)
		dst = binary.AppendUvarint(dst, uint64(len(x.Findings)))
		for _, f := range x.Findings {
			dst = appendString(dst, f)
		}
		var created int64
		if !x.Created.IsZero() {
			created = x.Created.UnixNano()
		}
		dst = binary.AppendVarint(dst, created)
		dst = binary.AppendVarint(dst, x.Version)
	case BlobRef:
		dst = binary.AppendUvarint(append(dst, tagBlob), x.ID)
		dst = binary.AppendVarint(dst, x.Size)
		dst = append(dst, x.SHA256[:]...)
	default:
		return nil, fmt.Errorf("%w: unsupported value type %T", ErrInvalid, v)
	}
	return dst, nil
}

func sortedKeys(m Map) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// DecodeObject decodes an object encoded by AppendObject. It never panics:
// malformed input returns an error matching ErrCorrupt.
func DecodeObject(oid OID, data []byte) (*Object, error) {
	d := decoder{buf: data}
	if v := d.byte(); v != encodingVersion {
		if d.err == nil {
			d.fail(fmt.Sprintf("unknown encoding version %d", v))
		}
		return nil, d.err
	}
	n := d.count()
	o := &Object{OID: oid, Slots: make(map[string]Value, n)}
	for i := 0; i < n && d.err == nil; i++ {
		name := d.string()
		v := d.value(0)
		if d.err == nil && name == "" {
			d.fail("empty slot name")
		}
		o.Slots[name] = v
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.buf)))
	}
	if d.err != nil {
		return nil, d.err
	}
	return o, nil
}

// DecodeValue decodes one value encoded by AppendValue, which must span
// all of data.
func DecodeValue(data []byte) (Value, error) {
	d := decoder{buf: data}
	v := d.value(0)
	if d.err == nil && len(d.buf) != 0 {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.buf)))
	}
	if d.err != nil {
		return nil, d.err
	}
	return v, nil
}

type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(reason string) {
	if d.err == nil {
		d.err = &CorruptError{Reason: reason}
	}
	d.buf = nil
}

func (d *decoder) byte() byte {
	if len(d.buf) < 1 {
		d.fail("unexpected end of data")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// count reads an element count; every element takes at least one byte, so
// a count larger than the remaining input is corrupt (and never allocated).
func (d *decoder) count() int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.buf)) {
		d.fail(fmt.Sprintf("count %d exceeds remaining %d bytes", n, len(d.buf)))
		return 0
	}
	return int(n)
}

func (d *decoder) raw() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.fail(fmt.Sprintf("length %d exceeds remaining %d bytes", n, len(d.buf)))
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) string() string { return string(d.raw()) }

func (d *decoder) value(depth int) Value {
	if depth > maxDepth {
		d.fail("value nested too deeply")
		return nil
	}
	switch tag := d.byte(); tag {
	case tagNil:
		return nil
	case tagFalse:
		return Bool(false)
	case tagTrue:
		return Bool(true)
	case tagInt:
		return Int(d.varint())
	case tagFloat:
		if len(d.buf) < 8 {
			d.fail("short float")
			return nil
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.buf))
		d.buf = d.buf[8:]
		return Float(f)
	case tagString:
		return String(d.string())
	case tagBytes:
		return Bytes(slices.Clone(d.raw()))
	case tagRef:
		return Ref(d.uvarint())
	case tagPrimitive:
		return Primitive(d.string())
	case tagList:
		n := d.count()
		l := make(List, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			l = append(l, d.value(depth+1))
		}
		return l
	case tagMap:
		n := d.count()
		m := make(Map, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.string()
			m[k] = d.value(depth + 1)
		}
		return m
	case tagMethod:
		m := &Method{Selector: d.string(), Source: d.string(), Author: d.string()}
		m.Cycle = OID(d.uvarint())
		m.Verdict = d.string()
		n := d.count()
		for i := 0; i < n && d.err == nil; i++ {
			m.Findings = append(m.Findings, d.string())
		}
		if ns := d.varint(); ns != 0 {
			m.Created = time.Unix(0, ns).UTC()
		}
		m.Version = d.varint()
		return m
	case tagBlob:
		b := BlobRef{ID: d.uvarint(), Size: d.varint()}
		if len(d.buf) < 32 {
			d.fail("short blob hash")
			return nil
		}
		copy(b.SHA256[:], d.buf)
		d.buf = d.buf[32:]
		return b
	default:
		if d.err == nil {
			d.fail(fmt.Sprintf("unknown value tag %d", tag))
		}
		return nil
	}
}
