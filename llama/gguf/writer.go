package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// Version is the GGUF version this package writes.
const Version = 3

// Writer streams a GGUF file: NewWriter writes the header, then the data
// of every tensor is written, in the order the tensors were declared,
// through Write (padding between tensors is inserted automatically), and
// Close checks that every tensor was completed. A Writer never holds more
// than its buffer of tensor data, so files larger than memory can be
// produced. It is not safe for concurrent use.
type Writer struct {
	bw      *bufio.Writer
	tensors []TensorInfo
	align   uint64
	cur     int   // index of the tensor being written
	done    int64 // bytes of tensors[cur] written so far
	err     error // sticky error
	closed  bool
}

var zeros [4096]byte

// NewWriter validates md and tensors, assigns tensor offsets and writes
// the header to w. The alignment is md's general.alignment (a uint32) or
// DefaultAlignment.
func NewWriter(w io.Writer, md Metadata, tensors []TensorInfo) (*Writer, error) {
	laid, hdr, err := encodeHeader(md, tensors)
	if err != nil {
		return nil, err
	}
	align, _ := md.alignment()
	zw := &Writer{bw: bufio.NewWriterSize(w, 1<<20), tensors: laid, align: align}
	if _, err := zw.bw.Write(hdr); err != nil {
		return nil, err
	}
	if err := zw.writeZeros(pad(uint64(len(hdr)), align) - uint64(len(hdr))); err != nil {
		return nil, err
	}
	return zw, nil
}

// Tensors returns the declared tensors with their offsets.
func (w *Writer) Tensors() []TensorInfo { return w.tensors }

func (w *Writer) writeZeros(n uint64) error {
	for n > 0 {
		k := min(n, uint64(len(zeros)))
		if _, err := w.bw.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// Current returns the tensor whose data the next Write continues, or
// false when all tensors are complete.
func (w *Writer) Current() (TensorInfo, bool) {
	if w.cur >= len(w.tensors) {
		return TensorInfo{}, false
	}
	return w.tensors[w.cur], true
}

// Write writes tensor data. Data for consecutive tensors may be split or
// joined across calls arbitrarily; writing more bytes than the declared
// tensors hold is an error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, fmt.Errorf("%w: write after Close", ErrWriter)
	}
	n := 0
	for len(p) > 0 {
		if w.cur >= len(w.tensors) {
			w.err = fmt.Errorf("%w: %d bytes beyond the last tensor", ErrWriter, len(p))
			return n, w.err
		}
		t := w.tensors[w.cur]
		k := min(int64(len(p)), t.Size()-w.done)
		m, err := w.bw.Write(p[:k])
		n += m
		w.done += int64(m)
		if err != nil {
			w.err = err
			return n, err
		}
		p = p[k:]
		if w.done == t.Size() {
			end := t.Offset + uint64(t.Size())
			if err := w.writeZeros(pad(end, w.align) - end); err != nil {
				w.err = err
				return n, err
			}
			w.cur++
			w.done = 0
		}
	}
	return n, nil
}

// Close flushes buffered data and reports an error if any tensor is
// incomplete. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = err
		return err
	}
	if w.cur < len(w.tensors) {
		t := w.tensors[w.cur]
		w.err = fmt.Errorf("%w: tensor %q has %d of %d bytes", ErrWriter, t.Name, w.done, t.Size())
		return w.err
	}
	return nil
}

// encodeHeader validates md and tensors and returns the tensors with
// offsets assigned and the encoded header (unpadded).
func encodeHeader(md Metadata, tensors []TensorInfo) ([]TensorInfo, []byte, error) {
	align, err := md.alignment()
	if err != nil {
		return nil, nil, err
	}
	seen := make(map[string]bool, len(md))
	e := encoder{}
	e.bytes([]byte(Magic))
	e.u32(Version)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(md)))
	for _, kv := range md {
		if kv.Key == "" {
			return nil, nil, fmt.Errorf("%w: empty key", ErrInvalid)
		}
		if seen[kv.Key] {
			return nil, nil, fmt.Errorf("%w: duplicate key %q", ErrInvalid, kv.Key)
		}
		seen[kv.Key] = true
		if err := e.kv(kv); err != nil {
			return nil, nil, err
		}
	}
	laid := make([]TensorInfo, len(tensors))
	names := make(map[string]bool, len(tensors))
	var off uint64
	for i, t := range tensors {
		if err := t.validate(); err != nil {
			return nil, nil, err
		}
		if names[t.Name] {
			return nil, nil, fmt.Errorf("%w: duplicate tensor %q", ErrInvalid, t.Name)
		}
		names[t.Name] = true
		t.Shape = append([]int64(nil), t.Shape...)
		t.Offset = off
		laid[i] = t
		off = pad(off+uint64(t.Size()), align)
		e.str(t.Name)
		e.u32(uint32(len(t.Shape)))
		for _, d := range t.Shape {
			e.u64(uint64(d))
		}
		e.u32(uint32(t.Type))
		e.u64(t.Offset)
	}
	return laid, e.b, nil
}

type encoder struct{ b []byte }

func (e *encoder) bytes(p []byte) { e.b = append(e.b, p...) }
func (e *encoder) u8(v uint8)     { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16)   { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32)   { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64)   { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *encoder) str(s string)   { e.u64(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) boolean(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

func (e *encoder) kv(kv KV) error {
	typ, elem, err := TypeOf(kv.Value)
	if err != nil {
		return fmt.Errorf("key %q: %w", kv.Key, err)
	}
	e.str(kv.Key)
	e.u32(uint32(typ))
	if typ == TypeArray {
		e.u32(uint32(elem))
	}
	switch v := kv.Value.(type) {
	case uint8:
		e.u8(v)
	case int8:
		e.u8(uint8(v))
	case uint16:
		e.u16(v)
	case int16:
		e.u16(uint16(v))
	case uint32:
		e.u32(v)
	case int32:
		e.u32(uint32(v))
	case float32:
		e.u32(math.Float32bits(v))
	case bool:
		e.boolean(v)
	case string:
		e.str(v)
	case uint64:
		e.u64(v)
	case int64:
		e.u64(uint64(v))
	case float64:
		e.u64(math.Float64bits(v))
	case []uint8:
		e.u64(uint64(len(v)))
		e.bytes(v)
	case []int8:
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.u8(uint8(x))
		}
	case []uint16:
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.u16(x)
		}
	case []int16:
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.u16(uint16(x))
		}
	case []uint32:
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.u32(x)
		}
	case []int32:
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.u32(uint32(x))
		}
	case []float32:
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.u32(math.Float32bits(x))
		}
	case []bool:
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.boolean(x)
		}
	case []string:
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.str(x)
		}
	case []uint64:
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.u64(x)
		}
	case []int64:
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.u64(uint64(x))
		}
	case []float64:
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.u64(math.Float64bits(x))
		}
	}
	return nil
}
