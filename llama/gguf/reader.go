package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// File is a parsed and validated GGUF file. The header (metadata and
// tensor infos) is held in memory; tensor data is read on demand from the
// underlying io.ReaderAt. A File may be used by several goroutines at
// once as long as its ReaderAt allows concurrent ReadAt (an *os.File
// does).
type File struct {
	Version    uint32
	Metadata   Metadata
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset int64 // file offset of the data section
	Size       int64 // file size

	r      io.ReaderAt
	closer io.Closer
	index  map[string]int
}

// Open opens and parses the GGUF file at path. Close the File when done.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	gf, err := Read(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	gf.closer = f
	return gf, nil
}

// Close closes the file opened by Open; for a File from Read it does
// nothing.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	c := f.closer
	f.closer = nil
	return c.Close()
}

// Read parses and validates the GGUF file of the given size held by r.
// It checks the magic, the version, every count and length against the
// bytes that remain (so a forged header cannot make it allocate more than
// the file's size), value and tensor types, tensor shapes and names, the
// alignment, and that the tensor data lies, aligned and in order, inside
// the file. It never panics on malformed input.
func Read(r io.ReaderAt, size int64) (*File, error) {
	d := &decoder{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10), size: size}
	f := &File{r: r, Size: size}
	if err := d.header(f); err != nil {
		return nil, err
	}
	return f, nil
}

// Tensor returns the info of the named tensor.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// TensorReader returns a reader of the named tensor's raw data.
func (f *File) TensorReader(name string) (*io.SectionReader, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("%w: tensor %q", ErrNotFound, name)
	}
	return io.NewSectionReader(f.r, f.DataOffset+int64(t.Offset), t.Size()), nil
}

// TensorData reads the named tensor's raw data.
func (f *File) TensorData(name string) ([]byte, error) {
	sr, err := f.TensorReader(name)
	if err != nil {
		return nil, err
	}
	b := make([]byte, sr.Size())
	if _, err := io.ReadFull(sr, b); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	return b, nil
}

// Float32s reads the named tensor and decodes it to float32 values
// (F32, F16, Q8_0 and Q4_K tensors).
func (f *File) Float32s(name string) ([]float32, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("%w: tensor %q", ErrNotFound, name)
	}
	if !t.Type.Codec() {
		return nil, fmt.Errorf("%w: tensor %q is %v", ErrUnsupported, name, t.Type)
	}
	b, err := f.TensorData(name)
	if err != nil {
		return nil, err
	}
	return Decode(make([]float32, 0, t.Elements()), t.Type, b)
}

type decoder struct {
	r    *bufio.Reader
	pos  int64
	size int64
	buf  [8]byte
	what string
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
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return "", d.fail(ErrTruncated, "string of %d bytes", n)
	}
	d.pos += int64(n)
	return string(b), nil
}

func (d *decoder) header(f *File) error {
	d.what = "magic"
	b, err := d.read(4)
	if err != nil {
		return err
	}
	if string(b) != Magic {
		return d.fail(ErrMagic, "got %q", b)
	}
	d.what = "version"
	if f.Version, err = d.u32(); err != nil {
		return err
	}
	if f.Version != 2 && f.Version != 3 {
		return d.fail(ErrVersion, "version %d (want 2 or 3)", f.Version)
	}
	d.what = "tensor count"
	// A tensor info is at least 8 (name length) + 1 (name) + 4 (n_dims) +
	// 8 (one dimension) + 4 (type) + 8 (offset) bytes; a key/value pair at
	// least 8 + 1 + 4 + 1.
	nTensors, err := d.u64()
	if err != nil {
		return err
	}
	d.what = "metadata count"
	nKV, err := d.u64()
	if err != nil {
		return err
	}
	if nTensors > uint64(d.remaining()/33) || nKV > uint64(d.remaining()/14) ||
		nTensors*33+nKV*14 > uint64(d.remaining()) {
		return d.fail(ErrTruncated, "%d tensors and %d keys cannot fit in %d bytes", nTensors, nKV, d.remaining())
	}

	keys := make(map[string]bool)
	for i := uint64(0); i < nKV; i++ {
		d.what = fmt.Sprintf("metadata key %d", i)
		key, err := d.str()
		if err != nil {
			return err
		}
		d.what = fmt.Sprintf("metadata key %q", key)
		if keys[key] {
			return d.fail(ErrInvalid, "duplicate key")
		}
		keys[key] = true
		v, err := d.value()
		if err != nil {
			return err
		}
		f.Metadata = append(f.Metadata, KV{key, v})
	}
	d.what = "alignment"
	if f.Alignment, err = f.Metadata.alignment(); err != nil {
		return d.fail(ErrInvalid, "%v", err)
	}

	f.index = make(map[string]int)
	var want uint64
	for i := uint64(0); i < nTensors; i++ {
		d.what = fmt.Sprintf("tensor info %d", i)
		var t TensorInfo
		if t.Name, err = d.str(); err != nil {
			return err
		}
		d.what = fmt.Sprintf("tensor info %q", t.Name)
		nd, err := d.u32()
		if err != nil {
			return err
		}
		if nd == 0 || nd > MaxDims {
			return d.fail(ErrInvalid, "%d dimensions", nd)
		}
		t.Shape = make([]int64, nd)
		for j := range t.Shape {
			v, err := d.u64()
			if err != nil {
				return err
			}
			if v > math.MaxInt64 {
				return d.fail(ErrInvalid, "dimension %d", v)
			}
			t.Shape[j] = int64(v)
		}
		typ, err := d.u32()
		if err != nil {
			return err
		}
		t.Type = TensorType(typ)
		if err := t.validate(); err != nil {
			return d.fail(ErrInvalid, "%v", err)
		}
		if t.Offset, err = d.u64(); err != nil {
			return err
		}
		if t.Offset != want {
			return d.fail(ErrInvalid, "data offset %d, want %d (tensors must be stored in order, each aligned to %d)",
				t.Offset, want, f.Alignment)
		}
		if _, dup := f.index[t.Name]; dup {
			return d.fail(ErrInvalid, "duplicate tensor name")
		}
		want = pad(t.Offset+uint64(t.Size()), f.Alignment)
		if want > uint64(d.size) {
			return d.fail(ErrTruncated, "tensor data ends past the end of the %d-byte file", d.size)
		}
		f.index[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	d.what = "data section"
	f.DataOffset = int64(pad(uint64(d.pos), f.Alignment))
	if f.DataOffset > d.size {
		return d.fail(ErrTruncated, "data section starts at %d, past the end of the %d-byte file", f.DataOffset, d.size)
	}
	if n := len(f.Tensors); n > 0 {
		last := f.Tensors[n-1]
		end := f.DataOffset + int64(last.Offset) + last.Size()
		if end > d.size {
			return d.fail(ErrTruncated, "tensor %q data ends at %d, past the end of the %d-byte file", last.Name, end, d.size)
		}
	}
	return nil
}

func (d *decoder) value() (any, error) {
	t, err := d.u32()
	if err != nil {
		return nil, err
	}
	typ := ValueType(t)
	if typ != TypeArray {
		return d.scalar(typ)
	}
	et, err := d.u32()
	if err != nil {
		return nil, err
	}
	elem := ValueType(et)
	sz := int64(elem.size())
	switch {
	case sz < 0:
		return nil, d.fail(ErrInvalid, "array of unknown type %d", et)
	case elem == TypeArray:
		return nil, d.fail(ErrInvalid, "nested arrays are not supported")
	case elem == TypeString:
		sz = 8
	}
	n, err := d.count(sz)
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

// Rewrite writes to w a copy of f with its metadata replaced by md (for
// instance f.Metadata with a key changed or removed) and the same tensors
// and data, streamed.
func (f *File) Rewrite(w io.Writer, md Metadata) error {
	zw, err := NewWriter(w, md, f.Tensors)
	if err != nil {
		return err
	}
	for _, t := range f.Tensors {
		sr, err := f.TensorReader(t.Name)
		if err != nil {
			return err
		}
		if _, err := io.Copy(zw, sr); err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
	}
	return zw.Close()
}
