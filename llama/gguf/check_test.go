package gguf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkBytes runs CheckHeader on b and checks that any error is a
// *FormatError.
func checkBytes(t testing.TB, b []byte) error {
	t.Helper()
	err := CheckHeader(bytes.NewReader(b), int64(len(b)))
	var fe *FormatError
	if err != nil && !errors.As(err, &fe) {
		t.Fatalf("err %v is not a *FormatError", err)
	}
	return err
}

// Generated models and adapters, files with every value type, and
// tensor types Read does not know all pass Check.
func TestCheckAccepts(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.gguf")
	if err := WriteLlama(model, TinyLlama()); err != nil {
		t.Fatal(err)
	}
	lora := filepath.Join(dir, "lora.gguf")
	if err := WriteLoRA(lora, TinyLlama(), LoRAOptions{Rank: 4, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{model, lora} {
		if err := Check(p); err != nil {
			t.Errorf("Check(%s): %v", filepath.Base(p), err)
		}
	}
	vocab := Metadata{
		{keyTokens, []string{"a", "", "b", "\x00x"}}, // "" and "\x00x" become [EMPTY_1] and [EMPTY_3]
		{"tokenizer.ggml.scores", []float32{0, 0, 0, 0}},
		{"tokenizer.ggml.token_type", []int32{1, 1, 1, 1}},
		{"tokenizer.ggml.merges", []string{"a b"}},
	}
	for name, b := range map[string][]byte{
		"all types":  writeFile(t, allTypes, makeTensors(t)),
		"vocabulary": writeFile(t, vocab, nil),
		"long value": writeFile(t, Metadata{{"k", strings.Repeat("x", maxCheckString+1)}}, nil),
		// One tensor of type 20 (IQ4_NL), which this package does not know.
		"unknown tensor type": cat([]byte("GGUF"), le32(3), le64(1), le64(0),
			le64(1), []byte("t"), le32(1), le64(32), le32(20), le64(0), make([]byte, 64)),
	} {
		if err := checkBytes(t, b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Read(bytes.NewReader(cat([]byte("GGUF"), le32(3), le64(1), le64(0),
		le64(1), []byte("t"), le32(1), le64(32), le32(20), le64(0), make([]byte, 64))), 128); !errors.Is(err, ErrInvalid) {
		t.Errorf("Read of an unknown tensor type: %v", err)
	}
}

// Each file that would make llama.cpp abort is rejected with its
// sentinel.
func TestCheckRejects(t *testing.T) {
	hdr := func(nt, nkv uint64, rest ...[]byte) []byte {
		return cat(append([][]byte{[]byte("GGUF"), le32(3), le64(nt), le64(nkv)}, rest...)...)
	}
	kv := func(key string, typ ValueType, val ...[]byte) []byte {
		return cat(append([][]byte{le64(uint64(len(key))), []byte(key), le32(uint32(typ))}, val...)...)
	}
	str := func(s string) []byte { return cat(le64(uint64(len(s))), []byte(s)) }
	tensor := func(dims ...uint64) []byte {
		b := cat(str("t"), le32(uint32(len(dims))))
		for _, d := range dims {
			b = cat(b, le64(d))
		}
		return cat(b, le32(0), le64(0))
	}
	pad := make([]byte, 64) // room for the tensor data the counts promise
	md := func(kvs ...KV) []byte { return writeFile(t, Metadata(kvs), nil) }
	toks := func(s ...string) KV { return KV{keyTokens, s} }
	model := filepath.Join(t.TempDir(), "model.gguf")
	if err := WriteLlama(model, TinyLlama()); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"magic", cat([]byte("GGUG"), good[4:]), ErrMagic},
		{"version", cat(good[:4], le32(1), good[8:]), ErrVersion},
		{"tensor count", cat(good[:8], le64(1<<60), good[16:]), ErrTruncated},
		{"key count", cat(good[:16], le64(1<<40), good[24:]), ErrTruncated},
		{"truncated header", good[:len(good)/50], ErrTruncated},
		{"empty key", hdr(0, 1, kv("", TypeUint8, []byte{1}), pad), ErrInvalid},
		{"duplicate key", hdr(0, 2, kv("k", TypeUint8, []byte{1}), kv("k", TypeUint8, []byte{1})), ErrInvalid},
		{"key of 1 MiB", hdr(0, 1, kv(strings.Repeat("k", maxCheckString+1), TypeUint8, []byte{1})), ErrInvalid},
		{"string length", hdr(0, 1, le64(1<<62)), ErrTruncated},
		{"string value past end", hdr(0, 1, kv("k", TypeString, le64(10), []byte("abc"))), ErrTruncated},
		{"value type", hdr(0, 1, kv("k", 13, []byte{0})), ErrInvalid},
		{"array type", hdr(0, 1, kv("k", TypeArray, le32(77), le64(0))), ErrInvalid},
		{"nested array", hdr(0, 1, kv("k", TypeArray, le32(9), le64(0))), ErrInvalid},
		{"array count", hdr(0, 1, kv("k", TypeArray, le32(10), le64(1<<40))), ErrTruncated},
		{"string array count", hdr(0, 1, kv("k", TypeArray, le32(8), le64(1<<58))), ErrTruncated},
		{"truncated value", hdr(0, 1, kv("k", TypeUint64, []byte{1, 2})), ErrTruncated},
		{"alignment uint64", hdr(0, 1, kv(KeyAlignment, TypeUint64, le64(32))), ErrInvalid},
		{"alignment string", hdr(0, 1, kv(KeyAlignment, TypeString, str("32"))), ErrInvalid},
		{"alignment zero", hdr(0, 1, kv(KeyAlignment, TypeUint32, le32(0))), ErrInvalid},
		{"alignment odd", hdr(0, 1, kv(KeyAlignment, TypeUint32, le32(24))), ErrInvalid},
		{"architecture uint32", md(KV{KeyArchitecture, uint32(1)}), ErrType},
		{"general.type array", md(KV{KeyType, []string{"adapter"}}), ErrType},
		{"lora alpha float64", md(KV{"adapter.lora.alpha", 1.0}), ErrType},
		{"duplicate token", md(toks("a", "b", "a")), ErrInvalid},
		{"duplicate C string", md(toks("a", "a\x00b")), ErrInvalid},
		{"duplicate empty name", md(toks("x", "", "[EMPTY_1]")), ErrInvalid},
		{"tokens not strings", md(KV{keyTokens, []uint32{1, 2}}), ErrType},
		{"tokens a string", md(KV{keyTokens, "a"}), ErrType},
		{"short scores", md(toks("a", "b"), KV{"tokenizer.ggml.scores", []float32{1}}), ErrInvalid},
		{"int scores", md(toks("a", "b"), KV{"tokenizer.ggml.scores", []int32{1, 2}}), ErrType},
		{"scalar scores", md(toks("a"), KV{"tokenizer.ggml.scores", float32(1)}), ErrType},
		{"long token types", md(toks("a"), KV{"tokenizer.ggml.token_type", []int32{1, 1}}), ErrInvalid},
		{"float token types", md(toks("a"), KV{"tokenizer.ggml.token_type", []float32{1}}), ErrType},
		{"merges not strings", md(toks("a"), KV{"tokenizer.ggml.merges", []uint8{1}}), ErrType},
		{"dims 0", hdr(1, 0, tensor(), pad), ErrInvalid},
		{"dims 5", hdr(1, 0, tensor(1, 1, 1, 1, 1), pad), ErrInvalid},
		{"dim 0", hdr(1, 0, tensor(32, 0), pad), ErrInvalid},
		{"dim huge", hdr(1, 0, tensor(1<<63), pad), ErrInvalid},
		{"dims overflow", hdr(1, 0, tensor(1<<40, 1<<40), pad), ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := checkBytes(t, c.b); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	if err := Check(filepath.Join(t.TempDir(), "missing.gguf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// Every truncation of a generated model inside its header is an error;
// Check does not read the tensor data after it.
func TestCheckEveryTruncation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := WriteLlama(path, TinyLlama()); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Read(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	_, hdr, err := encodeHeader(f.Metadata, f.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(hdr) {
		if err := checkBytes(t, good[:n]); err == nil {
			t.Fatalf("truncated to %d of the header's %d bytes: no error", n, len(hdr))
		}
	}
	if err := checkBytes(t, good[:len(hdr)]); err != nil {
		t.Errorf("header without data: %v", err)
	}
}
