package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// decoder reads the parts of a GGUF header for Read and Check, checking
// every count and length against the bytes left in the file.
type decoder struct {
	r      *bufio.Reader
	pos    int64
	size   int64
	maxStr int // longest string str reads into memory (0: no limit but the file)
	buf    [8]byte
	what   string
}

func (d *decoder) fail(err error, detail string, args ...any) error {
	return &FormatError{Offset: d.pos, What: d.what, Err: err, Detail: fmt.Sprintf(detail, args...)}
}

func (d *decoder) remaining() int64 { return d.size - d.pos }

func (d *decoder) read(n int) ([]byte, error) {
	b := d.buf[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, d.fail(ErrTruncated, "need %d bytes, file has %d left", n, d.remaining())
		}
		return nil, d.fail(err, "")
	}
	d.pos += int64(n)
	return b, nil
}

func (d *decoder) u8() (uint8, error) {
	b, err := d.read(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *decoder) u16() (uint16, error) {
	b, err := d.read(2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (d *decoder) u32() (uint32, error) {
	b, err := d.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64() (uint64, error) {
	b, err := d.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// count reads a uint64 count of items each at least minSize bytes long
// and checks that they can fit in what is left of the file.
func (d *decoder) count(minSize int64) (int, error) {
	n, err := d.u64()
	if err != nil {
		return 0, err
	}
	if minSize > 0 && n > uint64(d.remaining()/minSize) {
		return 0, d.fail(ErrTruncated, "count %d of %d-byte items exceeds the %d bytes left", n, minSize, d.remaining())
	}
	if n > math.MaxInt32 {
		return 0, d.fail(ErrInvalid, "count %d too large", n)
	}
	return int(n), nil
}

func (d *decoder) str() (string, error) {
	n, err := d.count(1)
	if err != nil {
		return "", err
	}
	if d.maxStr > 0 && n > d.maxStr {
		return "", d.fail(ErrInvalid, "string of %d bytes (at most %d are read)", n, d.maxStr)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return "", d.fail(ErrTruncated, "string of %d bytes", n)
	}
	d.pos += int64(n)
	return string(b), nil
}

// skip discards n bytes.
func (d *decoder) skip(n int64) error {
	if n > d.remaining() {
		return d.fail(ErrTruncated, "need %d bytes, file has %d left", n, d.remaining())
	}
	m, err := d.r.Discard(int(n))
	d.pos += int64(m)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return d.fail(ErrTruncated, "need %d bytes, file has %d left", n-int64(m), d.remaining())
		}
		return d.fail(err, "")
	}
	return nil
}

// skipStr discards a string.
func (d *decoder) skipStr() error {
	n, err := d.count(1)
	if err != nil {
		return err
	}
	return d.skip(int64(n))
}

// preamble reads the magic, the version and the tensor and metadata
// counts, and checks that that many entries can fit in the file.
func (d *decoder) preamble() (version uint32, nTensors, nKV uint64, err error) {
	d.what = "magic"
	b, err := d.read(4)
	if err != nil {
		return 0, 0, 0, err
	}
	if string(b) != Magic {
		return 0, 0, 0, d.fail(ErrMagic, "got %q", b)
	}
	d.what = "version"
	if version, err = d.u32(); err != nil {
		return 0, 0, 0, err
	}
	if version != 2 && version != 3 {
		return 0, 0, 0, d.fail(ErrVersion, "version %d (want 2 or 3)", version)
	}
	d.what = "tensor count"
	// A tensor info is at least 8 (name length) + 1 (name) + 4 (n_dims) +
	// 8 (one dimension) + 4 (type) + 8 (offset) bytes; a key/value pair at
	// least 8 + 1 + 4 + 1.
	if nTensors, err = d.u64(); err != nil {
		return 0, 0, 0, err
	}
	d.what = "metadata count"
	if nKV, err = d.u64(); err != nil {
		return 0, 0, 0, err
	}
	if nTensors > uint64(d.remaining()/33) || nKV > uint64(d.remaining()/14) ||
		nTensors*33+nKV*14 > uint64(d.remaining()) {
		return 0, 0, 0, d.fail(ErrTruncated, "%d tensors and %d keys cannot fit in %d bytes", nTensors, nKV, d.remaining())
	}
	return version, nTensors, nKV, nil
}

// key reads metadata key i, rejects an empty key (llama.cpp asserts keys
// are not empty) or one already in seen, and adds it to seen.
func (d *decoder) key(i uint64, seen map[string]bool) (string, error) {
	d.what = fmt.Sprintf("metadata key %d", i)
	key, err := d.str()
	if err != nil {
		return "", err
	}
	if key == "" {
		return "", d.fail(ErrInvalid, "empty key")
	}
	d.what = fmt.Sprintf("metadata key %q", key)
	if seen[key] {
		return "", d.fail(ErrInvalid, "duplicate key")
	}
	seen[key] = true
	return key, nil
}

// tensorInfo reads tensor info i up to its type: its name, its 1 to
// MaxDims dimensions and its type, otherwise unchecked.
func (d *decoder) tensorInfo(i uint64) (TensorInfo, error) {
	d.what = fmt.Sprintf("tensor info %d", i)
	var t TensorInfo
	var err error
	if t.Name, err = d.str(); err != nil {
		return t, err
	}
	d.what = fmt.Sprintf("tensor info %q", t.Name)
	nd, err := d.u32()
	if err != nil {
		return t, err
	}
	if nd == 0 || nd > MaxDims {
		return t, d.fail(ErrInvalid, "%d dimensions", nd)
	}
	t.Shape = make([]int64, nd)
	for j := range t.Shape {
		v, err := d.u64()
		if err != nil {
			return t, err
		}
		if v > math.MaxInt64 {
			return t, d.fail(ErrInvalid, "dimension %d", v)
		}
		t.Shape[j] = int64(v)
	}
	typ, err := d.u32()
	if err != nil {
		return t, err
	}
	t.Type = TensorType(typ)
	return t, nil
}

func (d *decoder) value() (any, error) {
	t, err := d.u32()
	if err != nil {
		return nil, err
	}
	return d.valueOf(ValueType(t))
}

// valueOf reads a value of type typ.
func (d *decoder) valueOf(typ ValueType) (any, error) {
	if typ != TypeArray {
		return d.scalar(typ)
	}
	elem, n, err := d.arrayHeader()
	if err != nil {
		return nil, err
	}
	switch elem {
	case TypeUint8:
		return readArray(d, n, (*decoder).u8)
	case TypeInt8:
		return readArray(d, n, func(d *decoder) (int8, error) { v, err := d.u8(); return int8(v), err })
	case TypeUint16:
		return readArray(d, n, (*decoder).u16)
	case TypeInt16:
		return readArray(d, n, func(d *decoder) (int16, error) { v, err := d.u16(); return int16(v), err })
	case TypeUint32:
		return readArray(d, n, (*decoder).u32)
	case TypeInt32:
		return readArray(d, n, func(d *decoder) (int32, error) { v, err := d.u32(); return int32(v), err })
	case TypeFloat32:
		return readArray(d, n, func(d *decoder) (float32, error) { v, err := d.u32(); return math.Float32frombits(v), err })
	case TypeBool:
		return readArray(d, n, func(d *decoder) (bool, error) { v, err := d.u8(); return v != 0, err })
	case TypeString:
		return readArray(d, n, (*decoder).str)
	case TypeUint64:
		return readArray(d, n, (*decoder).u64)
	case TypeInt64:
		return readArray(d, n, func(d *decoder) (int64, error) { v, err := d.u64(); return int64(v), err })
	default: // TypeFloat64
		return readArray(d, n, func(d *decoder) (float64, error) { v, err := d.u64(); return math.Float64frombits(v), err })
	}
}

// arrayHeader reads an array's element type and length, and checks that
// the type is known and not an array and that the elements can fit in
// the file.
func (d *decoder) arrayHeader() (elem ValueType, n int, err error) {
	et, err := d.u32()
	if err != nil {
		return 0, 0, err
	}
	elem = ValueType(et)
	sz := int64(elem.size())
	switch {
	case sz < 0:
		return 0, 0, d.fail(ErrInvalid, "array of unknown type %d", et)
	case elem == TypeArray:
		return 0, 0, d.fail(ErrInvalid, "nested arrays are not supported")
	case elem == TypeString:
		sz = 8
	}
	if n, err = d.count(sz); err != nil {
		return 0, 0, err
	}
	return elem, n, nil
}

func readArray[T any](d *decoder, n int, read func(*decoder) (T, error)) ([]T, error) {
	// n was checked against the bytes left in the file; grow as elements
	// actually arrive all the same.
	s := make([]T, 0, min(n, 1<<12))
	for i := 0; i < n; i++ {
		v, err := read(d)
		if err != nil {
			return nil, err
		}
		s = append(s, v)
	}
	return s, nil
}

func (d *decoder) scalar(typ ValueType) (any, error) {
	switch typ {
	case TypeUint8:
		return d.u8()
	case TypeInt8:
		v, err := d.u8()
		return int8(v), err
	case TypeUint16:
		return d.u16()
	case TypeInt16:
		v, err := d.u16()
		return int16(v), err
	case TypeUint32:
		return d.u32()
	case TypeInt32:
		v, err := d.u32()
		return int32(v), err
	case TypeFloat32:
		v, err := d.u32()
		return math.Float32frombits(v), err
	case TypeBool:
		v, err := d.u8()
		return v != 0, err
	case TypeString:
		return d.str()
	case TypeUint64:
		return d.u64()
	case TypeInt64:
		v, err := d.u64()
		return int64(v), err
	case TypeFloat64:
		v, err := d.u64()
		return math.Float64frombits(v), err
	}
	return nil, d.fail(ErrInvalid, "unknown value type %d", uint32(typ))
}
