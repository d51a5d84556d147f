package llama_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/batos/batos/llama"
)

// TestGenerateBatchMatchesSequential checks that greedy sequences decoded
// together in one KV cache produce the tokens they produce alone.
func TestGenerateBatchMatchesSequential(t *testing.T) {
	m := openTiny(t)
	ctx := context.Background()
	prompts := []string{"hello", "the cat sat", "x", "four facets at once"}
	s := newSession(t, m)
	var want [][]llama.Token
	for _, p := range prompts {
		r, err := s.Generate(ctx, llama.Request{Prompt: p, MaxTokens: 12})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, r.Tokens)
	}
	b, err := m.NewBatchSession(len(prompts), llama.SessionOptions{ContextSize: 512})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var reqs []llama.Request
	for _, p := range prompts {
		reqs = append(reqs, llama.Request{Prompt: p, MaxTokens: 12})
	}
	for range 2 { // the second run reuses the cleared KV cache
		got, bu, err := b.GenerateBatch(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range prompts {
			if !slices.Equal(got[i].Tokens, want[i]) {
				t.Errorf("sequence %d: batched %v, alone %v", i, got[i].Tokens, want[i])
			}
		}
		if bu.Tokens == 0 || bu.Steps == 0 {
			t.Errorf("usage %+v", bu)
		}
	}
	if _, _, err := b.GenerateBatch(ctx, append(reqs, reqs[0])); err == nil {
		t.Error("5 requests on 4 sequences: no error")
	}
}

// TestDecodeBareMatchesGenerate checks that the bare decode loop produces
// Generate's greedy tokens.
func TestDecodeBareMatchesGenerate(t *testing.T) {
	m := openTiny(t)
	ctx := context.Background()
	s := newSession(t, m)
	r, err := s.Generate(ctx, llama.Request{Prompt: "hello", MaxTokens: 10})
	if err != nil {
		t.Fatal(err)
	}
	prompt, err := m.Tokenize("hello", true)
	if err != nil {
		t.Fatal(err)
	}
	got, d, err := s.DecodeBare(ctx, prompt, len(r.Tokens))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, r.Tokens) || d <= 0 {
		t.Errorf("DecodeBare: %v in %v; Generate: %v", got, d, r.Tokens)
	}
	if _, _, err := s.DecodeBare(ctx, prompt, 0); err == nil {
		t.Error("n = 0: no error")
	}
}

// TestGenerateBatchUnevenPrompts runs one long prompt with three short
// ones in a batch whose KV cache holds them together but would not hold
// the long one in a quarter of it (llama.cpp's default split of n_ctx
// into n_ctx/n_seq cells per sequence; the package asks for one unified
// cache). Each sequence must produce the tokens it produces alone.
func TestGenerateBatchUnevenPrompts(t *testing.T) {
	m := openTiny(t)
	ctx := context.Background()
	long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 10)
	prompts := []string{long, "hello", "x", "four facets at once"}
	const ctxSize, maxTokens = 1024, 8
	lt, err := m.Tokenize(long, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(lt) + maxTokens; n <= ctxSize/4 || n >= ctxSize/2 {
		t.Fatalf("long prompt: %d tokens, want between %d and %d", len(lt), ctxSize/4, ctxSize/2)
	}
	s := newSession(t, m)
	var reqs []llama.Request
	var want [][]llama.Token
	for _, p := range prompts {
		req := llama.Request{Prompt: p, MaxTokens: maxTokens}
		r, err := s.Generate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, req)
		want = append(want, r.Tokens)
	}
	b, err := m.NewBatchSession(len(prompts), llama.SessionOptions{ContextSize: ctxSize})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, _, err := b.GenerateBatch(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range prompts {
		if !slices.Equal(got[i].Tokens, want[i]) {
			t.Errorf("sequence %d: batched %v, alone %v", i, got[i].Tokens, want[i])
		}
	}
}

// TestEngineGenerateBatch checks Engine.GenerateBatch: requests under one
// adapter decode as one batch (more requests than BatchSequences in
// several), with the tokens each gives alone; requests under different
// adapters, or one with stop strings, run one after another; and without
// BatchSequences nothing is batched.
func TestEngineGenerateBatch(t *testing.T) {
	m := openTiny(t)
	ctx := context.Background()
	if _, err := m.LoadAdapter(ctx, fixtures.loraA, llama.AdapterOptions{Name: "alfred"}); err != nil {
		t.Fatal(err)
	}
	e, err := llama.NewEngine(m, llama.EngineOptions{Session: llama.SessionOptions{ContextSize: 512}, BatchSequences: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	plain, err := llama.NewEngine(m, llama.EngineOptions{Session: llama.SessionOptions{ContextSize: 512}})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	req := func(p, adapter string) llama.Request {
		return llama.Request{Prompt: p, MaxTokens: 10, AdapterName: adapter}
	}
	same := []llama.Request{req("hello", "alfred"), req("the cat sat", "alfred"), req("x", "alfred")}
	mixed := []llama.Request{req("hello", "alfred"), req("the cat sat", "")}
	stop := []llama.Request{req("hello", ""), req("x", "")}
	stop[1].Stop = []string{"\n"}
	for _, tc := range []struct {
		name  string
		e     *llama.Engine
		reqs  []llama.Request
		batch []int
	}{
		{"one adapter", e, same, []int{2, 2, 0}}, // two in one batch, the third alone
		{"two adapters", e, mixed, []int{0, 0}},
		{"stop strings", e, stop, []int{0, 0}},
		{"no batch sequences", plain, same, []int{0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.e.GenerateBatch(ctx, tc.reqs)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range tc.reqs {
				alone, err := plain.Generate(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got[i].Tokens, alone.Tokens) {
					t.Errorf("request %d: %v in the batch, %v alone", i, got[i].Tokens, alone.Tokens)
				}
				if got[i].Usage.Batch != tc.batch[i] {
					t.Errorf("request %d: decoded with %d sequences, want %d", i, got[i].Usage.Batch, tc.batch[i])
				}
			}
		})
	}
}
