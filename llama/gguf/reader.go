package gguf

import (
	"bufio"
	"fmt"
	"io"
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
// the file's size), that keys are neither empty nor repeated, value and
// tensor types, tensor shapes and names, the alignment, and that the
// tensor data lies, aligned and in order, inside the file. It never
// panics on malformed input. It does not check what only llama.cpp's
// loaders assume (Check does) or what a Llama model needs (ValidateLlama).
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

func (d *decoder) header(f *File) error {
	var nTensors, nKV uint64
	var err error
	if f.Version, nTensors, nKV, err = d.preamble(); err != nil {
		return err
	}
	keys := make(map[string]bool)
	for i := uint64(0); i < nKV; i++ {
		key, err := d.key(i, keys)
		if err != nil {
			return err
		}
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
		t, err := d.tensorInfo(i)
		if err != nil {
			return err
		}
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
