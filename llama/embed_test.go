package llama_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/batos/batos/llama"
)

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestEmbed(t *testing.T) {
	m := openTiny(t)
	s := newSession(t, m)
	texts := []string{
		"The persistence covenant requires self._p_changed = True after every state change.",
		"The persistence covenant requires self._p_changed = True after each state change.",
		"Bananas ripen faster next to apples in a paper bag on the kitchen shelf!",
		"zzzz 1234 ####",
	}
	vecs, err := s.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vecs), len(texts))
	}
	for i, v := range vecs {
		if len(v) != m.Info().EmbeddingSize {
			t.Fatalf("vector %d has %d dims", i, len(v))
		}
		if n := math.Sqrt(dot(v, v)); math.Abs(n-1) > 1e-4 {
			t.Errorf("vector %d has norm %v", i, n)
		}
	}
	near := dot(vecs[0], vecs[1])
	for _, j := range []int{2, 3} {
		if far := dot(vecs[0], vecs[j]); far >= near {
			t.Errorf("unrelated text %d scores %.4f ≥ near duplicate %.4f", j, far, near)
		}
	}
	t.Logf("near %.4f, unrelated %.4f %.4f", near, dot(vecs[0], vecs[2]), dot(vecs[0], vecs[3]))
	// Embedding is deterministic and does not disturb generation.
	again, err := s.Embed(context.Background(), texts[:1])
	if err != nil {
		t.Fatal(err)
	}
	if dot(again[0], vecs[0]) < 0.99999 {
		t.Error("embedding not deterministic")
	}
	if _, err := s.Generate(context.Background(), llama.Request{Prompt: "x", MaxTokens: 3}); err != nil {
		t.Fatal(err)
	}
}

func TestEmbedErrors(t *testing.T) {
	m := openTiny(t)
	s, err := m.NewSession(llama.SessionOptions{ContextSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	long := make([]byte, 8*s.ContextSize())
	for i := range long {
		long[i] = 'a' + byte(i%26)
	}
	if toks, _ := m.Tokenize(string(long), true); len(toks) <= s.ContextSize() {
		t.Fatalf("long text has %d tokens, context %d", len(toks), s.ContextSize())
	}
	if _, err := s.Embed(context.Background(), []string{"ok", string(long)}); !errors.Is(err, llama.ErrPromptTooLong) {
		t.Errorf("long text: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Embed(ctx, []string{"x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
