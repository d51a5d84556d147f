package gguf

import "fmt"

// ValueType is the type tag of a metadata value as stored in the file.
type ValueType uint32

// Metadata value types, numbered as in the GGUF specification.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32",
	"float32", "bool", "string", "array", "uint64", "int64", "float64"}

// String returns the type's name as the GGUF specification spells it.
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("ValueType(%d)", uint32(t))
}

// size returns the encoded size of a scalar of type t, 0 for string and
// array (variable) and -1 for an unknown type.
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	case TypeString, TypeArray:
		return 0
	}
	return -1
}

// TensorType is a ggml tensor data type.
type TensorType uint32

// Tensor types, numbered as ggml numbers them. F32, F16, Q8_0 and Q4_K
// can be encoded and decoded by this package; the others are known by
// size only, so files holding them can be read, validated and copied.
const (
	F32  TensorType = 0
	F16  TensorType = 1
	Q4_0 TensorType = 2
	Q4_1 TensorType = 3
	Q5_0 TensorType = 6
	Q5_1 TensorType = 7
	Q8_0 TensorType = 8
	Q8_1 TensorType = 9
	Q2_K TensorType = 10
	Q3_K TensorType = 11
	Q4_K TensorType = 12
	Q5_K TensorType = 13
	Q6_K TensorType = 14
	Q8_K TensorType = 15
	I8   TensorType = 24
	I16  TensorType = 25
	I32  TensorType = 26
	I64  TensorType = 27
	F64  TensorType = 28
	BF16 TensorType = 30
)

type typeInfo struct {
	name      string
	blockSize int64 // elements per block
	typeSize  int64 // bytes per block
}

var tensorTypes = map[TensorType]typeInfo{
	F32:  {"F32", 1, 4},
	F16:  {"F16", 1, 2},
	Q4_0: {"Q4_0", 32, 18},
	Q4_1: {"Q4_1", 32, 20},
	Q5_0: {"Q5_0", 32, 22},
	Q5_1: {"Q5_1", 32, 24},
	Q8_0: {"Q8_0", 32, 34},
	Q8_1: {"Q8_1", 32, 36},
	Q2_K: {"Q2_K", 256, 84},
	Q3_K: {"Q3_K", 256, 110},
	Q4_K: {"Q4_K", 256, 144},
	Q5_K: {"Q5_K", 256, 176},
	Q6_K: {"Q6_K", 256, 210},
	Q8_K: {"Q8_K", 256, 292},
	I8:   {"I8", 1, 1},
	I16:  {"I16", 1, 2},
	I32:  {"I32", 1, 4},
	I64:  {"I64", 1, 8},
	F64:  {"F64", 1, 8},
	BF16: {"BF16", 1, 2},
}

// String returns ggml's name of the type, e.g. "Q4_K".
func (t TensorType) String() string {
	if ti, ok := tensorTypes[t]; ok {
		return ti.name
	}
	return fmt.Sprintf("TensorType(%d)", uint32(t))
}

// ParseTensorType returns the tensor type with the given name ("F32",
// "q4_k", ...), case-insensitively.
func ParseTensorType(s string) (TensorType, error) {
	for t, ti := range tensorTypes {
		if equalFold(ti.name, s) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown tensor type %q", ErrUnsupported, s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Known reports whether t is a tensor type whose block layout this
// package knows (and so can size, read and copy).
func (t TensorType) Known() bool { _, ok := tensorTypes[t]; return ok }

// Codec reports whether this package can encode and decode t
// (F32, F16, Q8_0, Q4_K).
func (t TensorType) Codec() bool {
	switch t {
	case F32, F16, Q8_0, Q4_K:
		return true
	}
	return false
}

// BlockSize returns the number of elements per block (1 for plain types,
// 32 for Q8_0, 256 for K-quants), or 0 for an unknown type.
func (t TensorType) BlockSize() int64 { return tensorTypes[t].blockSize }

// BlockBytes returns the encoded size of one block in bytes, or 0 for an
// unknown type.
func (t TensorType) BlockBytes() int64 { return tensorTypes[t].typeSize }

// RowSize returns the number of bytes n elements of type t occupy. n must
// be a multiple of the block size.
func (t TensorType) RowSize(n int64) int64 {
	ti := tensorTypes[t]
	if ti.blockSize == 0 {
		return 0
	}
	return n / ti.blockSize * ti.typeSize
}
