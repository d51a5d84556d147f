package llama

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// checkGGUF walks the header of a GGUF file (metadata and tensor infos)
// and rejects what would make llama.cpp abort the process instead of
// returning an error: empty or duplicate keys, a general.alignment that is
// not a uint32 power of two, a zero tensor dimension (a division by zero
// in gguf.cpp), duplicate token strings, vocabulary arrays of the wrong
// type or length (read without bounds checks), and lengths that run past
// the end of the file.
// It does not look at tensor data; llama.cpp checks its bounds.
func checkGGUF(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	if err := checkGGUFHeader(f, fi.Size()); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadModel, path, err)
	}
	return nil
}

// checkGGUFHeader checks the header of a GGUF file of size bytes read from
// rd (see checkGGUF).
func checkGGUFHeader(rd io.Reader, size int64) error {
	r := &ggufReader{r: bufio.NewReaderSize(rd, 1<<15), left: size}
	return r.header()
}

// GGUF value types.
const (
	ggufU8 = iota
	ggufI8
	ggufU16
	ggufI16
	ggufU32
	ggufI32
	ggufF32
	ggufBool
	ggufString
	ggufArray
	ggufU64
	ggufI64
	ggufF64
)

var ggufSize = [...]int64{1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8}

type ggufReader struct {
	r    *bufio.Reader
	left int64 // bytes left in the file
	buf  [8]byte
}

var errShort = errors.New("truncated header")

func (r *ggufReader) need(n int64) error {
	if n < 0 || n > r.left {
		return errShort
	}
	r.left -= n
	return nil
}

func (r *ggufReader) u32() (uint32, error) {
	if err := r.need(4); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(r.r, r.buf[:4]); err != nil {
		return 0, errShort
	}
	return binary.LittleEndian.Uint32(r.buf[:4]), nil
}

func (r *ggufReader) u64() (uint64, error) {
	if err := r.need(8); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(r.r, r.buf[:8]); err != nil {
		return 0, errShort
	}
	return binary.LittleEndian.Uint64(r.buf[:8]), nil
}

func (r *ggufReader) skip(n int64) error {
	if err := r.need(n); err != nil {
		return err
	}
	if _, err := r.r.Discard(int(n)); err != nil {
		return errShort
	}
	return nil
}

func (r *ggufReader) str() (string, error) {
	n, err := r.u64()
	if err != nil {
		return "", err
	}
	if n > 1<<20 {
		return "", fmt.Errorf("string of %d bytes", n)
	}
	if err := r.need(int64(n)); err != nil {
		return "", err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.r, b); err != nil {
		return "", errShort
	}
	return string(b), nil
}

// arrayInfo is what header remembers of an array value.
type arrayInfo struct {
	elem uint32
	n    uint64
}

func (r *ggufReader) header() error {
	magic, err := r.u32()
	if err != nil {
		return err
	}
	if magic != 0x46554747 { // "GGUF"
		return fmt.Errorf("bad magic %#x", magic)
	}
	version, err := r.u32()
	if err != nil {
		return err
	}
	if version < 2 || version > 3 {
		return fmt.Errorf("unsupported GGUF version %d", version)
	}
	nTensors, err := r.u64()
	if err != nil {
		return err
	}
	nKV, err := r.u64()
	if err != nil {
		return err
	}
	// Every entry takes at least 8 bytes of the file.
	if nTensors > uint64(r.left)/8 || nKV > uint64(r.left)/8 {
		return fmt.Errorf("%d tensors and %d keys cannot fit in the file", nTensors, nKV)
	}
	keys := make(map[string]bool, nKV)
	arrays := map[string]arrayInfo{}
	for range nKV {
		key, err := r.str()
		if err != nil {
			return err
		}
		if key == "" {
			return errors.New("empty metadata key")
		}
		if keys[key] {
			return fmt.Errorf("duplicate key %q", key)
		}
		keys[key] = true
		typ, err := r.u32()
		if err != nil {
			return err
		}
		// llama.cpp reads these with getters that assert the type.
		if want, ok := typedKeys[key]; ok && typ != want {
			return fmt.Errorf("key %q has type %d, want %d", key, typ, want)
		}
		switch {
		case typ == ggufArray:
			elem, err := r.u32()
			if err != nil {
				return err
			}
			n, err := r.u64()
			if err != nil {
				return err
			}
			if elem == ggufArray || elem > ggufF64 {
				return fmt.Errorf("key %q: invalid array element type %d", key, elem)
			}
			if n > uint64(r.left) {
				return errShort
			}
			arrays[key] = arrayInfo{elem, n}
			if elem == ggufString {
				// llama.cpp asserts that token strings are unique.
				var seen map[string]bool
				if key == "tokenizer.ggml.tokens" {
					seen = make(map[string]bool, min(n, 1<<20))
				}
				for i := range n {
					s, err := r.str()
					if err != nil {
						return err
					}
					if seen != nil {
						// llama.cpp reads C strings and renames empty ones.
						if j := strings.IndexByte(s, 0); j >= 0 {
							s = s[:j]
						}
						if s == "" {
							s = "[EMPTY_" + strconv.FormatUint(i, 10) + "]"
						}
						if seen[s] {
							return fmt.Errorf("duplicate token %q", s)
						}
						seen[s] = true
					}
				}
			} else if err := r.skip(int64(n) * ggufSize[elem]); err != nil {
				return err
			}
		case typ == ggufString:
			if _, err := r.str(); err != nil {
				return err
			}
		case typ <= ggufF64:
			if key == "general.alignment" {
				if typ != ggufU32 {
					return fmt.Errorf("general.alignment has type %d, want uint32", typ)
				}
				a, err := r.u32()
				if err != nil {
					return err
				}
				if a == 0 || a&(a-1) != 0 {
					return fmt.Errorf("general.alignment %d is not a power of two", a)
				}
				continue
			}
			if err := r.skip(ggufSize[typ]); err != nil {
				return err
			}
		default:
			return fmt.Errorf("key %q: invalid type %d", key, typ)
		}
	}
	if err := checkVocabArrays(arrays); err != nil {
		return err
	}
	for i := range nTensors {
		name, err := r.str()
		if err != nil {
			return err
		}
		nd, err := r.u32()
		if err != nil {
			return err
		}
		if nd == 0 || nd > 4 {
			return fmt.Errorf("tensor %d %q: %d dimensions", i, name, nd)
		}
		total := uint64(1)
		for range nd {
			d, err := r.u64()
			if err != nil {
				return err
			}
			if d == 0 || d > math.MaxInt64/total {
				return fmt.Errorf("tensor %q: dimension %d", name, d)
			}
			total *= d
		}
		if _, err := r.u32(); err != nil { // type: range-checked by llama.cpp
			return err
		}
		if _, err := r.u64(); err != nil { // offset: bounds-checked by llama.cpp
			return err
		}
	}
	return nil
}

// typedKeys are metadata keys llama.cpp reads with type-asserting getters
// (gguf_get_val_str, gguf_get_val_f32) when loading a model or an adapter.
var typedKeys = map[string]uint32{
	"general.architecture": ggufString,
	"general.type":         ggufString,
	"adapter.type":         ggufString,
	"adapter.lora.alpha":   ggufF32,
}

// checkVocabArrays checks the arrays llama.cpp's vocabulary loader indexes
// by token id without bounds or type checks.
func checkVocabArrays(arrays map[string]arrayInfo) error {
	tokens, ok := arrays["tokenizer.ggml.tokens"]
	if !ok {
		return nil // not a model with a vocabulary (an adapter); llama.cpp decides
	}
	if tokens.elem != ggufString {
		return errors.New("tokenizer.ggml.tokens is not an array of strings")
	}
	for key, elem := range map[string]uint32{
		"tokenizer.ggml.scores":     ggufF32,
		"tokenizer.ggml.token_type": ggufI32,
	} {
		a, ok := arrays[key]
		if !ok {
			continue
		}
		if a.elem != elem || a.n != tokens.n {
			return fmt.Errorf("%s: %d elements of type %d, want %d of type %d", key, a.n, a.elem, tokens.n, elem)
		}
	}
	if a, ok := arrays["tokenizer.ggml.merges"]; ok && a.elem != ggufString {
		return errors.New("tokenizer.ggml.merges is not an array of strings")
	}
	return nil
}
