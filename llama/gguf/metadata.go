package gguf

import (
	"fmt"
	"math"
)

// KV is one metadata entry. Value holds one of the Go types
// uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32,
// float64, bool, string, or a slice of one of them (a GGUF array).
// Nested arrays are not supported (llama.cpp rejects them too).
type KV struct {
	Key   string
	Value any
}

// Metadata is the ordered list of key/value pairs of a file. Keys are
// unique; order is preserved on write.
type Metadata []KV

// Well-known keys.
const (
	KeyArchitecture = "general.architecture"
	KeyAlignment    = "general.alignment"
	KeyName         = "general.name"
	KeyType         = "general.type"
	KeyFileType     = "general.file_type"
)

// DefaultAlignment is the data alignment used when general.alignment is
// absent.
const DefaultAlignment = 32

// TypeOf returns the GGUF type of a Go value accepted in KV.Value; for a
// slice it returns TypeArray and the element type.
func TypeOf(v any) (typ, elem ValueType, err error) {
	switch v.(type) {
	case uint8:
		return TypeUint8, 0, nil
	case int8:
		return TypeInt8, 0, nil
	case uint16:
		return TypeUint16, 0, nil
	case int16:
		return TypeInt16, 0, nil
	case uint32:
		return TypeUint32, 0, nil
	case int32:
		return TypeInt32, 0, nil
	case float32:
		return TypeFloat32, 0, nil
	case bool:
		return TypeBool, 0, nil
	case string:
		return TypeString, 0, nil
	case uint64:
		return TypeUint64, 0, nil
	case int64:
		return TypeInt64, 0, nil
	case float64:
		return TypeFloat64, 0, nil
	case []uint8:
		return TypeArray, TypeUint8, nil
	case []int8:
		return TypeArray, TypeInt8, nil
	case []uint16:
		return TypeArray, TypeUint16, nil
	case []int16:
		return TypeArray, TypeInt16, nil
	case []uint32:
		return TypeArray, TypeUint32, nil
	case []int32:
		return TypeArray, TypeInt32, nil
	case []float32:
		return TypeArray, TypeFloat32, nil
	case []bool:
		return TypeArray, TypeBool, nil
	case []string:
		return TypeArray, TypeString, nil
	case []uint64:
		return TypeArray, TypeUint64, nil
	case []int64:
		return TypeArray, TypeInt64, nil
	case []float64:
		return TypeArray, TypeFloat64, nil
	}
	return 0, 0, fmt.Errorf("%w: metadata value of Go type %T", ErrType, v)
}

// Get returns the value stored under key.
func (m Metadata) Get(key string) (any, bool) {
	for i := range m {
		if m[i].Key == key {
			return m[i].Value, true
		}
	}
	return nil, false
}

// Set replaces the value under key or appends a new entry.
func (m *Metadata) Set(key string, v any) {
	for i := range *m {
		if (*m)[i].Key == key {
			(*m)[i].Value = v
			return
		}
	}
	*m = append(*m, KV{key, v})
}

func lookup[T any](m Metadata, key string) (T, error) {
	var zero T
	v, ok := m.Get(key)
	if !ok {
		return zero, fmt.Errorf("%w: key %q", ErrNotFound, key)
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("%w: key %q holds %T, want %T", ErrType, key, v, zero)
	}
	return t, nil
}

// String returns the string value under key.
func (m Metadata) String(key string) (string, error) { return lookup[string](m, key) }

// Float32 returns the float32 value under key.
func (m Metadata) Float32(key string) (float32, error) { return lookup[float32](m, key) }

// Bool returns the bool value under key.
func (m Metadata) Bool(key string) (bool, error) { return lookup[bool](m, key) }

// Strings returns the string array under key.
func (m Metadata) Strings(key string) ([]string, error) { return lookup[[]string](m, key) }

// Uint returns the value under key as a uint64 when it holds any
// non-negative integer type.
func (m Metadata) Uint(key string) (uint64, error) {
	v, ok := m.Get(key)
	if !ok {
		return 0, fmt.Errorf("%w: key %q", ErrNotFound, key)
	}
	var i int64
	switch x := v.(type) {
	case uint8:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint32:
		return uint64(x), nil
	case uint64:
		return x, nil
	case int8:
		i = int64(x)
	case int16:
		i = int64(x)
	case int32:
		i = int64(x)
	case int64:
		i = x
	default:
		return 0, fmt.Errorf("%w: key %q holds %T, want an integer", ErrType, key, v)
	}
	if i < 0 {
		return 0, fmt.Errorf("%w: key %q holds negative %d", ErrType, key, i)
	}
	return uint64(i), nil
}

// ArrayLen returns the number of elements of the array under key.
func (m Metadata) ArrayLen(key string) (int, error) {
	v, ok := m.Get(key)
	if !ok {
		return 0, fmt.Errorf("%w: key %q", ErrNotFound, key)
	}
	switch x := v.(type) {
	case []uint8:
		return len(x), nil
	case []int8:
		return len(x), nil
	case []uint16:
		return len(x), nil
	case []int16:
		return len(x), nil
	case []uint32:
		return len(x), nil
	case []int32:
		return len(x), nil
	case []float32:
		return len(x), nil
	case []bool:
		return len(x), nil
	case []string:
		return len(x), nil
	case []uint64:
		return len(x), nil
	case []int64:
		return len(x), nil
	case []float64:
		return len(x), nil
	}
	return 0, fmt.Errorf("%w: key %q holds %T, want an array", ErrType, key, v)
}

// alignment returns the data alignment declared by m, validated.
func (m Metadata) alignment() (uint64, error) {
	v, ok := m.Get(KeyAlignment)
	if !ok {
		return DefaultAlignment, nil
	}
	return alignmentOf(v)
}

// alignmentOf validates v, the value of general.alignment.
func alignmentOf(v any) (uint64, error) {
	a, ok := v.(uint32) // llama.cpp reads it as uint32 and aborts otherwise
	if !ok {
		return 0, fmt.Errorf("%w: %s holds %T, want uint32", ErrInvalid, KeyAlignment, v)
	}
	if a == 0 || a&(a-1) != 0 || a > 1<<20 {
		return 0, fmt.Errorf("%w: %s = %d is not a power of two up to 1 MiB", ErrInvalid, KeyAlignment, a)
	}
	return uint64(a), nil
}

func isFinite32(f float32) bool { return math.Float32bits(f)&0x7f800000 != 0x7f800000 }
