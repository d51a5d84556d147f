package gguf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestByteVocab(t *testing.T) {
	tokens, scores, types, err := ByteVocab(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != BaseVocabSize() || len(scores) != len(tokens) || len(types) != len(tokens) {
		t.Fatalf("lengths %d %d %d", len(tokens), len(scores), len(types))
	}
	seen := map[string]bool{}
	for _, tok := range tokens {
		if seen[tok] {
			t.Fatalf("duplicate token %q", tok)
		}
		seen[tok] = true
	}
	for id, want := range map[int]string{TokenIDUnk: "<unk>", TokenIDBOS: "<s>", TokenIDEOS: "</s>",
		TokenIDByte0: "<0x00>", TokenIDByte0 + '\n': "<0x0A>", TokenIDByte0 + 255: "<0xFF>",
		TokenIDBeginOfText: "<|begin_of_text|>", TokenIDEndOfText: "<|end_of_text|>",
		TokenIDStartHeader: "<|start_header_id|>", TokenIDEndHeader: "<|end_header_id|>",
		TokenIDEOT: "<|eot_id|>", TokenIDEOM: "<|eom_id|>", TokenIDFirstNormal: "\u2581"} {
		if tokens[id] != want {
			t.Errorf("token %d = %q, want %q", id, tokens[id], want)
		}
	}
	for b := 0; b < 256; b++ {
		if types[TokenIDByte0+b] != TokenByte {
			t.Errorf("byte token %d has type %d", b, types[TokenIDByte0+b])
		}
	}
	for id := TokenIDBeginOfText; id < TokenIDFirstNormal; id++ {
		if types[id] != TokenControl {
			t.Errorf("token %q has type %d", tokens[id], types[id])
		}
	}
	// Every multi-character normal token is reachable by merging a prefix
	// with one more character, as llama.cpp's SentencePiece merge needs.
	for id := TokenIDFirstNormal; id < len(tokens); id++ {
		r := []rune(tokens[id])
		if len(r) > 1 && !seen[string(r[:len(r)-1])] {
			t.Errorf("token %q: prefix %q missing", tokens[id], string(r[:len(r)-1]))
		}
	}
	big, _, _, err := ByteVocab(128256)
	if err != nil || len(big) != 128256 {
		t.Fatalf("ByteVocab(128256) = %d tokens, %v", len(big), err)
	}
	if _, _, _, err := ByteVocab(100); !errors.Is(err, ErrInvalid) {
		t.Errorf("ByteVocab(100): %v", err)
	}
}

func writeTiny(t *testing.T, o LlamaOptions) (string, *File) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := WriteLlama(path, o); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return path, f
}

func TestWriteLlama(t *testing.T) {
	wide := TinyLlama()
	wide.Embd, wide.FF, wide.Heads, wide.HeadsKV = 256, 512, 4, 1
	for _, c := range []struct {
		name   string
		o      LlamaOptions
		matrix TensorType // type of attn_q
		down   TensorType // type of ffn_down
	}{
		{"tiny F32", TinyLlama(), F32, F32},
		{"tiny F16", withType(TinyLlama(), F16), F16, F16},
		{"tiny Q8_0", withType(TinyLlama(), Q8_0), Q8_0, Q8_0},
		{"tiny Q4_K falls back", withType(TinyLlama(), Q4_K), Q8_0, Q8_0},
		{"wide Q4_K", withType(wide, Q4_K), Q4_K, Q4_K},
		{"wide Q4_K quantized", quantized(withType(wide, Q4_K)), Q4_K, Q4_K},
		{"zero options", LlamaOptions{}, F32, F32},
		{"vocab 1000", LlamaOptions{Vocab: 1000, Layers: 1}, F32, F32},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, f := writeTiny(t, c.o)
			p, err := ValidateLlama(f)
			if err != nil {
				t.Fatal(err)
			}
			o := c.o.withDefaults()
			if p.Layers != o.Layers || p.Embd != o.Embd || p.Heads != o.Heads || p.HeadsKV != o.HeadsKV ||
				p.FF != o.FF || p.Ctx != o.Ctx || (o.Vocab != 0 && p.Vocab != o.Vocab) {
				t.Errorf("params %+v, options %+v", p, o)
			}
			if q, _ := f.Tensor("blk.0.attn_q.weight"); q.Type != c.matrix {
				t.Errorf("attn_q type %v, want %v", q.Type, c.matrix)
			}
			if d, _ := f.Tensor("blk.0.ffn_down.weight"); d.Type != c.down {
				t.Errorf("ffn_down type %v, want %v", d.Type, c.down)
			}
			for _, tt := range f.Tensors {
				vals, err := f.Float32s(tt.Name)
				if err != nil {
					t.Fatal(err)
				}
				var sum, sq float64
				for _, v := range vals {
					if !isFinite32(v) {
						t.Fatalf("%s: non-finite value", tt.Name)
					}
					sum += float64(v)
					sq += float64(v) * float64(v)
				}
				n := float64(len(vals))
				mean, std := sum/n, math.Sqrt(max(0, sq/n-(sum/n)*(sum/n)))
				if len(tt.Shape) == 1 { // norms
					if mean != 1 || std != 0 {
						t.Errorf("%s: mean %g std %g, want all ones", tt.Name, mean, std)
					}
				} else if math.Abs(std-weightSigma) > 0.1*weightSigma || math.Abs(mean) > 0.1*weightSigma {
					t.Errorf("%s: mean %g std %g, want 0 and %g", tt.Name, mean, std, weightSigma)
				}
			}
		})
	}
}

func withType(o LlamaOptions, t TensorType) LlamaOptions { o.Type = t; return o }
func quantized(o LlamaOptions) LlamaOptions              { o.QuantizeFloats = true; return o }

// The file holds exactly the generated data, and quantized tensors decode
// to within tolerance of the float values they were made from.
func TestWriteLlamaData(t *testing.T) {
	for _, typ := range []TensorType{F32, F16, Q8_0, Q4_K} {
		t.Run(typ.String(), func(t *testing.T) {
			o := TinyLlama()
			o.Embd, o.FF, o.Type, o.QuantizeFloats, o.Seed = 256, 256, typ, true, 42
			_, f := writeTiny(t, o)
			md, _ := LlamaMetadata(o)
			n, _ := md.ArrayLen("tokenizer.ggml.tokens")
			specs := llamaTensors(o.withDefaults(), n)
			var buf bytes.Buffer
			if err := generateData(&buf, specs[:1], o.Seed, 3); err != nil {
				t.Fatal(err)
			}
			got, err := f.TensorData("token_embd.weight")
			if err != nil || !bytes.Equal(got, buf.Bytes()) {
				t.Fatalf("token_embd data differs from the generator's (%v)", err)
			}
			// Originals: chunk streams of tensor 0.
			x := make([]float32, specs[0].Elements())
			for c := 0; c*chunkElems < len(x); c++ {
				fillBell(x[c*chunkElems:min(len(x), (c+1)*chunkElems)], mix(o.Seed, 0, uint64(c)), weightSigma)
			}
			vals, err := f.Float32s("token_embd.weight")
			if err != nil {
				t.Fatal(err)
			}
			rms, _ := rmsErr(x, vals)
			bound := map[TensorType]float64{F32: 0, F16: 1e-3, Q8_0: 0.01, Q4_K: 0.1}[typ] * weightSigma
			if rms > bound {
				t.Errorf("RMS error %g > %g", rms, bound)
			}
		})
	}
}

func TestWriteLlamaDeterministic(t *testing.T) {
	o := withType(TinyLlama(), Q8_0)
	p1, _ := writeTiny(t, o)
	p2, _ := writeTiny(t, o)
	o.Seed++
	p3, _ := writeTiny(t, o)
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	b3, _ := os.ReadFile(p3)
	if !bytes.Equal(b1, b2) {
		t.Error("same seed, different files")
	}
	if bytes.Equal(b1, b3) || len(b1) != len(b3) {
		t.Error("different seeds, same files")
	}
}

func TestWriteLlamaErrors(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []LlamaOptions{
		{Embd: 60, Heads: 8},   // not a multiple
		{Embd: 64, Heads: 64},  // odd head size? 1: odd
		{Heads: 4, HeadsKV: 3}, // not a divisor
		{Type: Q6_K},           // no codec
		{Vocab: 10},            // below the base vocabulary
		{Layers: -1},           // negative
		{Embd: 1 << 20},        // absurd
	} {
		if err := WriteLlama(filepath.Join(dir, "x.gguf"), o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: err = %v", o, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left files behind: %v", entries)
	}
}

func TestLlama8BShape(t *testing.T) {
	ts, err := LlamaTensors(Llama8BShape())
	if err != nil {
		t.Fatal(err)
	}
	var params, size int64
	for _, tt := range ts {
		params += tt.Elements()
		size += tt.Size()
		if len(tt.Shape) == 2 && tt.Type != Q4_K {
			t.Errorf("%s is %v", tt.Name, tt.Type)
		}
	}
	if len(ts) != 3+9*32 || params != 8030261248 {
		t.Errorf("%d tensors, %d parameters; want 291 and 8030261248 (Llama 3.1 8B)", len(ts), params)
	}
	t.Logf("8B shape: %d tensors, %d parameters, %.2f GiB of data", len(ts), params, float64(size)/(1<<30))
}

// Removing a required key or tensor, or giving a key the wrong type, is
// caught before llama.cpp sees the file.
func TestValidateLlamaErrors(t *testing.T) {
	_, f := writeTiny(t, TinyLlama())
	md := f.Metadata
	var tensors []testTensor
	for _, ti := range f.Tensors {
		data, err := f.TensorData(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		tensors = append(tensors, testTensor{ti, data})
	}
	check := func(name string, md Metadata, ts []testTensor, want error) {
		t.Helper()
		var b []byte
		if len(ts) == len(tensors) {
			var buf bytes.Buffer
			if err := f.Rewrite(&buf, md); err != nil {
				t.Fatal(err)
			}
			b = buf.Bytes()
		} else {
			b = writeFile(t, md, ts)
		}
		g, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := ValidateLlama(g); !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", name, err, want)
		}
	}
	check("unchanged", md, tensors, nil)
	for _, key := range []string{KeyArchitecture, "llama.embedding_length", "llama.block_count",
		"llama.context_length", "llama.feed_forward_length", "llama.attention.head_count",
		"llama.attention.layer_norm_rms_epsilon", "tokenizer.ggml.model", "tokenizer.ggml.tokens"} {
		var without Metadata
		for _, kv := range md {
			if kv.Key != key {
				without = append(without, kv)
			}
		}
		check("without "+key, without, tensors, ErrNotFound)
	}
	wrong := append(Metadata(nil), md...)
	wrong.Set("llama.block_count", uint64(2))
	check("block_count uint64", wrong, tensors, ErrType)
	wrong = append(Metadata(nil), md...)
	wrong.Set("llama.rope.dimension_count", uint32(8))
	check("rope dimension", wrong, tensors, ErrInvalid)
	wrong = append(Metadata(nil), md...)
	toks, _ := md.Strings("tokenizer.ggml.tokens")
	toks = append([]string(nil), toks...)
	toks[400] = toks[401]
	wrong.Set("tokenizer.ggml.tokens", toks)
	check("duplicate token", wrong, tensors, ErrInvalid)
	wrong = append(Metadata(nil), md...)
	wrong.Set("tokenizer.ggml.scores", []float32{1})
	check("short scores", wrong, tensors, ErrInvalid)
	check("missing tensor", md, tensors[:len(tensors)-1], ErrNotFound)
}

func TestWriteLoRA(t *testing.T) {
	basePath, base := writeTiny(t, TinyLlama())
	dir := filepath.Dir(basePath)
	path := filepath.Join(dir, "lora.gguf")
	if err := WriteLoRA(path, TinyLlama(), LoRAOptions{Seed: 3}); err != nil {
		t.Fatal(err)
	}
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := ValidateLoRA(a, base); err != nil {
		t.Fatal(err)
	}
	if typ, _ := a.Metadata.String(KeyType); typ != "adapter" {
		t.Errorf("general.type %q", typ)
	}
	if alpha, err := a.Metadata.Float32("adapter.lora.alpha"); err != nil || alpha != 8 {
		t.Errorf("alpha %v, %v", alpha, err)
	}
	if want := 2 * len(DefaultLoRATargets) * TinyLlama().Layers; len(a.Tensors) != want {
		t.Errorf("%d tensors, want %d", len(a.Tensors), want)
	}
	for _, tt := range a.Tensors {
		vals, err := a.Float32s(tt.Name)
		if err != nil {
			t.Fatal(err)
		}
		var sq float64
		for _, v := range vals {
			sq += float64(v) * float64(v)
		}
		std := math.Sqrt(sq / float64(len(vals)))
		want := 0.05
		if tt.Shape[1] == 8 { // A: {n_in, rank}
			want = 1 / math.Sqrt(float64(tt.Shape[0]))
		}
		if math.Abs(std-want) > 0.15*want {
			t.Errorf("%s: std %g, want %g", tt.Name, std, want)
		}
	}

	// Seeds differ; a LoRA for another shape does not fit.
	path2 := filepath.Join(dir, "lora2.gguf")
	other := TinyLlama()
	other.Embd = 128
	if err := WriteLoRA(path2, other, LoRAOptions{Rank: 4, Targets: []string{"attn_v"}}); err != nil {
		t.Fatal(err)
	}
	b, err := Open(path2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := ValidateLoRA(b, base); !errors.Is(err, ErrInvalid) {
		t.Errorf("mismatched adapter: %v", err)
	}
	if err := ValidateLoRA(base, base); !errors.Is(err, ErrInvalid) {
		t.Errorf("model as adapter: %v", err)
	}
	for _, o := range []LoRAOptions{{Targets: []string{"nope"}}, {Rank: -1}, {Scale: float32(math.NaN())}} {
		if err := WriteLoRA(filepath.Join(dir, "bad.gguf"), TinyLlama(), o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestParseTensorType(t *testing.T) {
	for _, typ := range []TensorType{F32, F16, Q8_0, Q4_K, Q6_K, BF16} {
		if got, err := ParseTensorType(fmt.Sprint(typ)); err != nil || got != typ {
			t.Errorf("%v: %v, %v", typ, got, err)
		}
	}
	if got, err := ParseTensorType("q4_k"); err != nil || got != Q4_K {
		t.Errorf("q4_k: %v, %v", got, err)
	}
	if _, err := ParseTensorType("Q9"); err == nil {
		t.Error("Q9 parsed")
	}
}
