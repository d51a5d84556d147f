package gguf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWordPieceVocab(t *testing.T) {
	tokens, types, err := WordPieceVocab(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(types) != len(tokens) {
		t.Fatalf("%d tokens, %d types", len(tokens), len(types))
	}
	for id, want := range map[int]string{TokenIDPad: "[PAD]", TokenIDUNK: "[UNK]", TokenIDCLS: "[CLS]",
		TokenIDSEP: "[SEP]", TokenIDMask: "[MASK]", 1: "[unused0]"} {
		if tokens[id] != want {
			t.Errorf("token %d = %q, want %q", id, tokens[id], want)
		}
	}
	seen := map[string]bool{}
	for i, tok := range tokens {
		if seen[tok] {
			t.Fatalf("duplicate %q", tok)
		}
		seen[tok] = true
		if types[i] == TokenByte {
			t.Errorf("%q is a byte token: llama.cpp's WordPiece aborts on those", tok)
		}
	}
	// Every lower-case printable ASCII character starts and continues a
	// word, so ASCII text never becomes [UNK].
	for c := byte('!'); c < 0x7f; c++ {
		s := strings.ToLower(string(c))
		if !seen[spaceMark+s] || !seen[s] {
			t.Errorf("character %q missing", c)
		}
	}
	big, _, err := WordPieceVocab(30522)
	if err != nil || len(big) != 30522 {
		t.Fatalf("WordPieceVocab(30522) = %d, %v", len(big), err)
	}
	if _, _, err := WordPieceVocab(50); !errors.Is(err, ErrInvalid) {
		t.Errorf("WordPieceVocab(50): %v", err)
	}
}

func TestWriteBERT(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.gguf"), filepath.Join(dir, "b.gguf")
	o := TinyBERT()
	for _, p := range []string{a, b} {
		if err := WriteBERT(p, o); err != nil {
			t.Fatal(err)
		}
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Error("same options, different bytes")
	}
	if err := Check(a); err != nil {
		t.Fatal(err)
	}
	f, err := Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if arch, _ := f.Metadata.String(KeyArchitecture); arch != "bert" {
		t.Errorf("architecture %q", arch)
	}
	if causal, err := f.Metadata.Bool("bert.attention.causal"); err != nil || causal {
		t.Errorf("causal %v, %v", causal, err)
	}
	if p, err := f.Metadata.Uint("bert.pooling_type"); err != nil || uint32(p) != PoolMean {
		t.Errorf("pooling %v, %v", p, err)
	}
	want := 5 + 16*o.Layers
	if len(f.Tensors) != want {
		t.Errorf("%d tensors, want %d", len(f.Tensors), want)
	}
	emb, ok := f.Tensor("token_embd.weight")
	n, _ := f.Metadata.ArrayLen("tokenizer.ggml.tokens")
	if !ok || emb.Shape[0] != int64(o.Embd) || emb.Shape[1] != int64(n) {
		t.Errorf("token_embd %+v (vocabulary %d)", emb, n)
	}
	// Norm weights scatter around 1, biases around 0.
	w, err := f.Float32s("blk.0.attn_output_norm.weight")
	if err != nil {
		t.Fatal(err)
	}
	var mean float64
	for _, x := range w {
		mean += float64(x) / float64(len(w))
	}
	if mean < 0.9 || mean > 1.1 || w[0] == w[1] {
		t.Errorf("norm weights: mean %v, %v", mean, w[:2])
	}

	noKey := o
	noKey.NoPoolingKey = true
	md, err := BERTMetadata(noKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := md.Get("bert.pooling_type"); ok {
		t.Error("NoPoolingKey wrote the key")
	}
}

func TestBERTOptionsInvalid(t *testing.T) {
	for _, o := range []BERTOptions{
		{Embd: 30, Heads: 4},
		{Pooling: 7},
		{Type: Q4_K},
		{Layers: -1},
		{Eps: 1},
	} {
		if _, err := BERTMetadata(o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if _, err := BERTMetadata(BERTOptions{Words: []string{"two words"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a word with a space: %v", err)
	}
	md, err := BERTMetadata(BERTOptions{Words: []string{"Persistence", "the"}})
	if err != nil {
		t.Fatal(err)
	}
	toks, _ := md.Strings("tokenizer.ggml.tokens")
	base, _, _ := WordPieceVocab(0)
	if len(toks) != len(base)+1 || toks[len(toks)-1] != spaceMark+"persistence" {
		t.Errorf("Words: %d tokens (base %d), last %q", len(toks), len(base), toks[len(toks)-1])
	}
	ms := MiniLMShape()
	if _, err := BERTMetadata(ms); err != nil {
		t.Errorf("MiniLMShape: %v", err)
	}
}
