package llama_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/batos/batos/llama"
	"github.com/batos/batos/llama/gguf"
)

// writeBERT writes a tiny random embedding model into the test's
// directory.
func writeBERT(t testing.TB, o gguf.BERTOptions) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bert.gguf")
	if err := gguf.WriteBERT(path, o); err != nil {
		t.Fatal(err)
	}
	return path
}

func openEmbedder(t testing.TB, path string, o llama.EmbedderOptions) *llama.Embedder {
	t.Helper()
	if o.Threads == 0 {
		o.Threads = 1
	}
	e, err := llama.OpenEmbedder(context.Background(), path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil && !errors.Is(err, llama.ErrClosed) {
			t.Errorf("close: %v", err)
		}
	})
	return e
}

var embedTexts = []string{
	"The persistence covenant requires self._p_changed = True after every state change.",
	"the cat sat on the mat",
	"Bananas ripen faster next to apples in a paper bag!",
	"",
	"x",
	"Ünïcödé wörds become [UNK], and [CLS] written in the text is only text.",
}

// TestEmbedderReference compares llama.cpp's pooled embeddings of a tiny
// random BERT model with the same forward pass computed in Go from the
// file's weights (bertRef), for mean and CLS pooling, one text per
// decode and many texts packed into one.
func TestEmbedderReference(t *testing.T) {
	for _, c := range []struct {
		name    string
		pool    uint32
		noKey   bool
		pooling string
	}{
		{"mean", gguf.PoolMean, false, "mean"},
		{"cls", gguf.PoolCLS, false, "cls"},
		{"no-key", gguf.PoolMean, true, "mean (Go)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := gguf.TinyBERT()
			o.Pooling, o.NoPoolingKey = c.pool, c.noKey
			path := writeBERT(t, o)
			ref := loadBERTRef(t, path, o)
			for _, seqs := range []int{1, 64} {
				e := openEmbedder(t, path, llama.EmbedderOptions{MaxSeqs: seqs})
				if e.Dim() != o.Embd || e.Pooling() != c.pooling {
					t.Fatalf("dim %d, pooling %q, want %d, %q", e.Dim(), e.Pooling(), o.Embd, c.pooling)
				}
				got, err := e.Embed(context.Background(), embedTexts)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(embedTexts) {
					t.Fatalf("%d vectors for %d texts", len(got), len(embedTexts))
				}
				var worst float64
				for i, text := range embedTexts {
					toks, err := e.Tokenize(text)
					if err != nil {
						t.Fatal(err)
					}
					want := ref.embed(toks)
					var maxDiff float64
					for j := range want {
						maxDiff = math.Max(maxDiff, math.Abs(float64(got[i][j])-want[j]))
					}
					worst = math.Max(worst, maxDiff)
					if maxDiff > 1e-4 {
						t.Errorf("seqs %d, text %d: max difference %.2g from the Go reference\n got %v\nwant %v", seqs, i, maxDiff, got[i][:4], want[:4])
					}
				}
				t.Logf("seqs %d: largest difference from the reference %.2g", seqs, worst)
			}
		})
	}
}

// TestEmbedderTokenize checks the WordPiece tokens llama.cpp produces on
// the generated vocabulary: [CLS] in front, [SEP] at the end, lower-cased
// words, a whole word where the vocabulary has it and letters otherwise,
// punctuation split off, [UNK] for a word it cannot spell, special-token
// text not parsed, and truncation that keeps [SEP].
func TestEmbedderTokenize(t *testing.T) {
	o := gguf.TinyBERT()
	path := writeBERT(t, o)
	vocab, _, err := gguf.WordPieceVocab(0)
	if err != nil {
		t.Fatal(err)
	}
	id := map[string]llama.Token{}
	for i, tok := range vocab {
		id[tok] = llama.Token(i)
	}
	e := openEmbedder(t, path, llama.EmbedderOptions{MaxTokens: 6})
	cases := []struct {
		text string
		want []string
	}{
		{"The cat.", []string{"[CLS]", "▁the", "▁c", "a", "t", "[SEP]"}},
		{"", []string{"[CLS]", "[SEP]"}},
		{"€uro x", []string{"[CLS]", "[UNK]", "▁x", "[SEP]"}},
		{"[CLS]", []string{"[CLS]", "▁[", "▁c", "l", "s", "[SEP]"}},
		{"the the the the the the", []string{"[CLS]", "▁the", "▁the", "▁the", "▁the", "[SEP]"}},
	}
	for _, c := range cases {
		got, err := e.Tokenize(c.text)
		if err != nil {
			t.Fatal(err)
		}
		var want []llama.Token
		for _, w := range c.want {
			tok, ok := id[w]
			if !ok {
				t.Fatalf("%q not in the vocabulary", w)
			}
			want = append(want, tok)
		}
		if !slicesEqual(got, want) {
			t.Errorf("Tokenize(%q) = %v, want %v (%v)", c.text, got, want, c.want)
		}
	}
	if e.MaxTokens() != 6 {
		t.Errorf("MaxTokens %d", e.MaxTokens())
	}
}

func slicesEqual(a, b []llama.Token) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEmbedderProperties(t *testing.T) {
	path := writeBERT(t, gguf.TinyBERT())
	e := openEmbedder(t, path, llama.EmbedderOptions{})
	if p := e.Pooling(); p != "mean" {
		t.Errorf("pooling %q", p)
	}
	// Many texts, more than one decode holds: same vectors as one by one,
	// unit length, and a near duplicate closer than an unrelated text.
	var texts []string
	for i := range 150 {
		texts = append(texts, "sentence number "+strconv.Itoa(i)+" about "+strings.Repeat("the object ", i%7))
	}
	all, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 63, 64, 149} {
		one, err := e.Embed(context.Background(), texts[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		if d := dot(one[0], all[i]); d < 0.99999 {
			t.Errorf("text %d: packed and alone differ (cosine %.6f)", i, d)
		}
		if n := math.Sqrt(dot(all[i], all[i])); math.Abs(n-1) > 1e-4 {
			t.Errorf("text %d: norm %v", i, n)
		}
	}
	if dot(all[1], all[8]) <= dot(all[1], all[2]) && dot(all[1], all[8]) <= dot(all[1], all[5]) {
		t.Logf("cosines %.4f %.4f %.4f", dot(all[1], all[8]), dot(all[1], all[2]), dot(all[1], all[5]))
	}
	if out, err := e.Embed(context.Background(), nil); err != nil || len(out) != 0 {
		t.Errorf("Embed(nil) = %d vectors, %v", len(out), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Embed(ctx, texts); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("second close: %v", err)
	}
	if _, err := e.Embed(context.Background(), texts[:1]); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("embed after close: %v", err)
	}
	if _, err := e.Tokenize("x"); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("tokenize after close: %v", err)
	}
}

func TestEmbedderRefusesCausalModel(t *testing.T) {
	setup(t)
	_, err := llama.OpenEmbedder(context.Background(), fixtures.model, llama.EmbedderOptions{Threads: 1})
	if !errors.Is(err, llama.ErrBadModel) {
		t.Fatalf("OpenEmbedder(llama model) = %v, want ErrBadModel", err)
	}
	if _, err := llama.OpenEmbedder(context.Background(), writeBERT(t, gguf.TinyBERT()), llama.EmbedderOptions{Threads: 1, MaxTokens: 1000}); !errors.Is(err, llama.ErrBadRequest) {
		t.Errorf("MaxTokens beyond the positions: %v", err)
	}
}

// bertRef is a BERT forward pass in Go (float64) over a generated model's
// weights, written from the architecture (post-norm encoder blocks, GELU
// feed-forward, token type 0) as llama.cpp's build_bert evaluates it.
type bertRef struct {
	o                 gguf.BERTOptions
	tok, typ, pos     []float32
	normW, normB      []float32
	layers            []bertRefLayer
	embd, heads, nPos int
}

type bertRefLayer struct {
	q, qb, k, kb, v, vb, out, outb []float32
	n1w, n1b, up, upb, down, downb []float32
	n2w, n2b                       []float32
}

func loadBERTRef(t *testing.T, path string, o gguf.BERTOptions) *bertRef {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	get := func(name string) []float32 {
		x, err := f.Float32s(name)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	r := &bertRef{o: o, embd: o.Embd, heads: o.Heads, nPos: o.Ctx,
		tok: get("token_embd.weight"), typ: get("token_types.weight"), pos: get("position_embd.weight"),
		normW: get("token_embd_norm.weight"), normB: get("token_embd_norm.bias")}
	for i := range o.Layers {
		p := "blk." + strconv.Itoa(i) + "."
		r.layers = append(r.layers, bertRefLayer{
			q: get(p + "attn_q.weight"), qb: get(p + "attn_q.bias"),
			k: get(p + "attn_k.weight"), kb: get(p + "attn_k.bias"),
			v: get(p + "attn_v.weight"), vb: get(p + "attn_v.bias"),
			out: get(p + "attn_output.weight"), outb: get(p + "attn_output.bias"),
			n1w: get(p + "attn_output_norm.weight"), n1b: get(p + "attn_output_norm.bias"),
			up: get(p + "ffn_up.weight"), upb: get(p + "ffn_up.bias"),
			down: get(p + "ffn_down.weight"), downb: get(p + "ffn_down.bias"),
			n2w: get(p + "layer_output_norm.weight"), n2b: get(p + "layer_output_norm.bias"),
		})
	}
	return r
}

// linear is W·x + b for a GGUF matrix of shape {in, out} (out rows of in
// values).
func linear(w, b []float32, x []float64, out int) []float64 {
	in := len(x)
	y := make([]float64, out)
	for o := range out {
		s := float64(b[o])
		row := w[o*in : (o+1)*in]
		for i, xi := range x {
			s += float64(row[i]) * xi
		}
		y[o] = s
	}
	return y
}

func layerNorm(x []float64, w, b []float32, eps float64) []float64 {
	var mean, v float64
	for _, xi := range x {
		mean += xi
	}
	mean /= float64(len(x))
	for _, xi := range x {
		v += (xi - mean) * (xi - mean)
	}
	v /= float64(len(x))
	inv := 1 / math.Sqrt(v+eps)
	y := make([]float64, len(x))
	for i, xi := range x {
		y[i] = (xi-mean)*inv*float64(w[i]) + float64(b[i])
	}
	return y
}

// gelu is ggml's CPU GELU: the tanh approximation looked up in a table
// indexed by the input rounded to float16, the result rounded to float16
// (GGML_GELU_FP16), and the identity and zero outside ±10.
func gelu(x float64) float64 {
	switch {
	case x <= -10:
		return 0
	case x >= 10:
		return x
	}
	h := float64(gguf.HalfToFloat32(gguf.Float32ToHalf(float32(x))))
	g := float32(0.5 * h * (1 + math.Tanh(math.Sqrt(2/math.Pi)*h*(1+0.044715*h*h))))
	return float64(gguf.HalfToFloat32(gguf.Float32ToHalf(g)))
}

// embed returns the normalized sentence vector of tokens.
func (r *bertRef) embed(toks []llama.Token) []float64 {
	e, n := r.embd, len(toks)
	eps := float64(r.o.Eps)
	if eps == 0 {
		eps = 1e-12
	}
	x := make([][]float64, n)
	for i, t := range toks {
		v := make([]float64, e)
		for j := range e {
			v[j] = float64(r.tok[int(t)*e+j]) + float64(r.typ[j]) + float64(r.pos[i*e+j])
		}
		x[i] = layerNorm(v, r.normW, r.normB, eps)
	}
	dh := e / r.heads
	for _, l := range r.layers {
		q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for i := range n {
			q[i], k[i], v[i] = linear(l.q, l.qb, x[i], e), linear(l.k, l.kb, x[i], e), linear(l.v, l.vb, x[i], e)
		}
		next := make([][]float64, n)
		for i := range n {
			att := make([]float64, e)
			for h := range r.heads {
				lo := h * dh
				scores := make([]float64, n)
				top := math.Inf(-1)
				for j := range n {
					var s float64
					for d := range dh {
						s += q[i][lo+d] * k[j][lo+d]
					}
					scores[j] = s / math.Sqrt(float64(dh))
					top = math.Max(top, scores[j])
				}
				var z float64
				for j := range scores {
					scores[j] = math.Exp(scores[j] - top)
					z += scores[j]
				}
				for j := range n {
					for d := range dh {
						att[lo+d] += scores[j] / z * v[j][lo+d]
					}
				}
			}
			o := linear(l.out, l.outb, att, e)
			for j := range o {
				o[j] += x[i][j]
			}
			h1 := layerNorm(o, l.n1w, l.n1b, eps)
			up := linear(l.up, l.upb, h1, len(l.upb))
			for j := range up {
				up[j] = gelu(up[j])
			}
			down := linear(l.down, l.downb, up, e)
			for j := range down {
				down[j] += h1[j]
			}
			next[i] = layerNorm(down, l.n2w, l.n2b, eps)
		}
		x = next
	}
	out := make([]float64, e)
	if r.o.Pooling == gguf.PoolCLS {
		copy(out, x[0])
	} else {
		for i := range n {
			for j := range e {
				out[j] += x[i][j] / float64(n)
			}
		}
	}
	var ss float64
	for _, v := range out {
		ss += v * v
	}
	for j := range out {
		out[j] /= math.Sqrt(ss)
	}
	return out
}
