package gguf

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Check walks the header (metadata and tensor infos) of the GGUF file at
// path and rejects what would make llama.cpp abort the process instead of
// returning an error, so that a caller of llama.cpp can refuse the file
// first: empty or repeated keys, a general.alignment that is not a uint32
// power of two, keys that llama.cpp reads with type-asserting getters
// holding another type, a zero tensor dimension (gguf.cpp divides by it),
// repeated token strings, vocabulary arrays of the wrong type or length
// (read by token id without bounds checks), and counts or lengths that
// run past the end of the file. Errors wrap ErrMagic, ErrVersion,
// ErrTruncated, ErrInvalid or ErrType (a *FormatError carries the offset).
//
// Check is cheap and lenient where llama.cpp checks for itself: it does
// not read tensor data, skips string values unread, and accepts tensor
// types this package does not know (Read rejects them) and any tensor
// offsets. It never panics, and it holds in memory only the keys and the
// token strings, each at most 1 MiB.
func Check(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := CheckHeader(f, st.Size()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// CheckHeader is Check on the GGUF file of size bytes that r reads from
// its first byte.
func CheckHeader(r io.Reader, size int64) error {
	buf := int(max(min(size, 64<<10), 16)) // small files get small buffers
	d := &decoder{r: bufio.NewReaderSize(r, buf), size: size, maxStr: maxCheckString}
	return d.check()
}

// maxCheckString is the longest string Check reads into memory.
const maxCheckString = 1 << 20

// typedKeys are metadata keys llama.cpp reads with type-asserting getters
// (gguf_get_val_str, gguf_get_val_f32) when loading a model or an adapter.
var typedKeys = map[string]ValueType{
	KeyArchitecture:      TypeString,
	KeyType:              TypeString,
	"adapter.type":       TypeString,
	"adapter.lora.alpha": TypeFloat32,
}

func (d *decoder) check() error {
	_, nTensors, nKV, err := d.preamble()
	if err != nil {
		return err
	}
	keys := make(map[string]bool)
	vocab := make(map[string]valueShape) // the tokenizer.ggml.* values
	for i := range nKV {
		key, err := d.key(i, keys)
		if err != nil {
			return err
		}
		t, err := d.u32()
		if err != nil {
			return err
		}
		typ := ValueType(t)
		if want, ok := typedKeys[key]; ok && typ != want {
			return d.fail(ErrType, "holds %v, llama.cpp reads %v", typ, want)
		}
		shape := valueShape{typ: typ}
		switch {
		case key == KeyAlignment:
			v, err := d.valueOf(typ)
			if err != nil {
				return err
			}
			if _, err := alignmentOf(v); err != nil {
				return d.fail(ErrInvalid, "%v", err)
			}
		case typ == TypeArray:
			if shape, err = d.skipArray(key == keyTokens); err != nil {
				return err
			}
		case typ == TypeString:
			if err := d.skipStr(); err != nil {
				return err
			}
		default:
			sz := typ.size()
			if sz <= 0 {
				return d.fail(ErrInvalid, "unknown value type %d", t)
			}
			if err := d.skip(int64(sz)); err != nil {
				return err
			}
		}
		if strings.HasPrefix(key, "tokenizer.ggml.") {
			vocab[key] = shape
		}
	}
	d.what = "vocabulary"
	if err := checkVocab(func(key string) (valueShape, bool) { s, ok := vocab[key]; return s, ok }); err != nil {
		return d.fail(err, "")
	}
	for i := range nTensors {
		t, err := d.tensorInfo(i) // its type is range-checked by llama.cpp
		if err != nil {
			return err
		}
		if err := checkShape(t.Name, t.Shape); err != nil {
			return d.fail(ErrInvalid, "%v", err)
		}
		if _, err := d.u64(); err != nil { // offset: bounds-checked by llama.cpp
			return err
		}
	}
	return nil
}

// skipArray reads past an array (an array's type tag already read) and
// returns its shape. With tokens set it checks that its strings are
// unique tokens.
func (d *decoder) skipArray(tokens bool) (valueShape, error) {
	elem, n, err := d.arrayHeader()
	if err != nil {
		return valueShape{}, err
	}
	shape := valueShape{typ: TypeArray, elem: elem, n: n}
	if elem != TypeString {
		return shape, d.skip(int64(n) * int64(elem.size())) // arrayHeader checked that it fits
	}
	if !tokens {
		for range n {
			if err := d.skipStr(); err != nil {
				return shape, err
			}
		}
		return shape, nil
	}
	set := make(tokenSet, min(n, 1<<16))
	for i := range n {
		s, err := d.str()
		if err != nil {
			return shape, err
		}
		if err := set.add(i, s); err != nil {
			return shape, d.fail(err, "")
		}
	}
	return shape, nil
}

// keyTokens is the key of the vocabulary's token strings.
const keyTokens = "tokenizer.ggml.tokens"

// valueShape is what the vocabulary checks look at in a metadata value:
// its type and, for an array, its element type and length.
type valueShape struct {
	typ, elem ValueType
	n         int
}

// shape returns the shape of the value under key.
func (m Metadata) shape(key string) (valueShape, bool) {
	v, ok := m.Get(key)
	if !ok {
		return valueShape{}, false
	}
	typ, elem, err := TypeOf(v)
	if err != nil {
		return valueShape{typ: ValueType(^uint32(0))}, true // no GGUF type at all
	}
	n, _ := m.ArrayLen(key) // 0 for a scalar
	return valueShape{typ: typ, elem: elem, n: n}, true
}

// vocabArrays are the arrays llama.cpp's vocabulary loader indexes by
// token id, without checking their type or length, with the element type
// it assumes.
var vocabArrays = []struct {
	key  string
	elem ValueType
}{
	{"tokenizer.ggml.scores", TypeFloat32},
	{"tokenizer.ggml.token_type", TypeInt32},
}

// checkVocab checks the vocabulary values that llama.cpp reads without
// type or bounds checks, found through shape: tokens an array of strings,
// scores and token types arrays of float32 and int32 with one element per
// token, merges an array of strings. A file without tokens (an adapter)
// passes. Errors wrap ErrType or ErrInvalid (a length).
func checkVocab(shape func(key string) (valueShape, bool)) error {
	tokens, ok := shape(keyTokens)
	if !ok {
		return nil
	}
	isArray := func(s valueShape, elem ValueType) bool { return s.typ == TypeArray && s.elem == elem }
	if !isArray(tokens, TypeString) {
		return fmt.Errorf("%w: %s is not an array of strings", ErrType, keyTokens)
	}
	for _, a := range vocabArrays {
		s, ok := shape(a.key)
		if !ok {
			continue
		}
		if !isArray(s, a.elem) {
			return fmt.Errorf("%w: %s is not an array of %v", ErrType, a.key, a.elem)
		}
		if s.n != tokens.n {
			return fmt.Errorf("%w: %s has %d elements for %d tokens", ErrInvalid, a.key, s.n, tokens.n)
		}
	}
	if s, ok := shape("tokenizer.ggml.merges"); ok && !isArray(s, TypeString) {
		return fmt.Errorf("%w: tokenizer.ggml.merges is not an array of strings", ErrType)
	}
	return nil
}

// tokenSet holds token strings as llama.cpp's vocabulary loader sees them,
// to find the repeated ones it aborts on.
type tokenSet map[string]int

// add adds token i. llama.cpp reads tokens as C strings (up to the first
// NUL) and names an empty one "[EMPTY_<i>]"; two tokens that come out the
// same give an error wrapping ErrInvalid.
func (s tokenSet) add(i int, tok string) error {
	if j := strings.IndexByte(tok, 0); j >= 0 {
		tok = tok[:j]
	}
	if tok == "" {
		tok = "[EMPTY_" + strconv.Itoa(i) + "]"
	}
	if j, dup := s[tok]; dup {
		return fmt.Errorf("%w: token %d %q repeats token %d", ErrInvalid, i, tok, j)
	}
	s[tok] = i
	return nil
}
