package gguf

import (
	"fmt"
	"math"
)

// MaxNameLen is the longest tensor name, in bytes, that llama.cpp accepts
// (GGML_MAX_NAME is 64 including the terminating NUL).
const MaxNameLen = 63

// MaxDims is the largest number of tensor dimensions.
const MaxDims = 4

// TensorInfo describes one tensor. Shape lists dimensions innermost first,
// as ggml's ne does: a weight matrix that maps n_in to n_out values has
// Shape {n_in, n_out} and is stored as n_out rows of n_in elements.
type TensorInfo struct {
	Name  string
	Type  TensorType
	Shape []int64
	// Offset is the position of the tensor's data relative to the start of
	// the data section. NewWriter computes it; Read fills it in.
	Offset uint64
}

// Elements returns the number of elements (the product of Shape).
func (t TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Size returns the size of the tensor's data in bytes.
func (t TensorInfo) Size() int64 { return t.Type.RowSize(t.Elements()) }

// maxElements bounds a tensor's element count so byte sizes never overflow.
const maxElements = math.MaxInt64 / 16

// validate checks name, type and shape.
func (t TensorInfo) validate() error {
	if t.Name == "" || len(t.Name) > MaxNameLen {
		return fmt.Errorf("%w: tensor name %q must be 1 to %d bytes", ErrInvalid, t.Name, MaxNameLen)
	}
	if !t.Type.Known() {
		return fmt.Errorf("%w: tensor %q has unknown type %v", ErrInvalid, t.Name, t.Type)
	}
	if err := checkShape(t.Name, t.Shape); err != nil {
		return err
	}
	if bs := t.Type.BlockSize(); t.Shape[0]%bs != 0 {
		return fmt.Errorf("%w: tensor %q row length %d is not a multiple of the %v block size %d",
			ErrInvalid, t.Name, t.Shape[0], t.Type, bs)
	}
	return nil
}

// checkShape checks that a tensor has 1 to MaxDims dimensions, each
// positive (gguf.cpp divides by them) and together small enough that byte
// sizes cannot overflow.
func checkShape(name string, shape []int64) error {
	if len(shape) == 0 || len(shape) > MaxDims {
		return fmt.Errorf("%w: tensor %q has %d dimensions, want 1 to %d", ErrInvalid, name, len(shape), MaxDims)
	}
	n := int64(1)
	for _, d := range shape {
		if d <= 0 || d > maxElements/n {
			return fmt.Errorf("%w: tensor %q has shape %v", ErrInvalid, name, shape)
		}
		n *= d
	}
	return nil
}

func pad(n, align uint64) uint64 { return (n + align - 1) / align * align }

// Layout validates md and tensors and assigns each tensor's Offset, as
// NewWriter does, without writing anything. It returns the tensors with
// offsets set, the offset of the data section and the total file size.
func Layout(md Metadata, tensors []TensorInfo) (laid []TensorInfo, dataOffset, fileSize int64, err error) {
	var hdr []byte
	laid, hdr, err = encodeHeader(md, tensors)
	if err != nil {
		return nil, 0, 0, err
	}
	align, _ := md.alignment()
	dataOffset = int64(pad(uint64(len(hdr)), align))
	fileSize = dataOffset
	if n := len(laid); n > 0 {
		last := laid[n-1]
		fileSize += int64(pad(last.Offset+uint64(last.Size()), align))
	}
	return laid, dataOffset, fileSize, nil
}
