package llama

import (
	"context"
	"testing"
	"unsafe"

	ollama "github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"
)

// TestOllamaSeam checks that the C pointers read out of ollama's types
// (ollama.go) are the ones ollama uses.
func TestOllamaSeam(t *testing.T) {
	m := openWritten(t)
	if got, want := cNEmbd(m.c), m.om.NEmbd(); got != want {
		t.Errorf("n_embd through our pointer %d, through ollama %d", got, want)
	}
	if got, want := cNVocab(m.vocab), m.om.NumVocab(); got != want {
		t.Errorf("n_vocab %d vs %d", got, want)
	}
	toks, err := m.om.Tokenize("héllo world", true, true)
	if err != nil {
		t.Fatal(err)
	}
	ours := m.tokenize("héllo world", true)
	if len(ours) != len(toks) {
		t.Fatalf("tokens %v vs ollama %v", ours, toks)
	}
	for i := range toks {
		if int(ours[i]) != toks[i] {
			t.Fatalf("tokens %v vs ollama %v", ours, toks)
		}
	}
	s, err := m.NewSession(SessionOptions{ContextSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// llama.cpp rounds n_ctx up to a multiple of 256.
	if got := cNCtx(s.c); got != 256 || s.ContextSize() != got {
		t.Errorf("n_ctx through our context pointer = %d, ContextSize %d, want 256", got, s.ContextSize())
	}
	if firstPtr(s.oc.Model()) != m.c {
		t.Error("context's model pointer differs from the model's")
	}
}

// TestKVUnifiedOffset checks kvUnifiedOffset against the defaults of
// llama_context_params' trailing bools as ollama's NewContextParams leaves
// them: embeddings (set by ollama), offload_kqv, no_perf, op_offload,
// swa_full all true, kv_unified false.
func TestKVUnifiedOffset(t *testing.T) {
	p := ollama.NewContextParams(256, 64, 2, 1, ml.FlashAttentionDisabled, "")
	b := (*[unsafe.Sizeof(p)]byte)(unsafe.Pointer(&p))
	first := kvUnifiedOffset - 5
	want := []byte{1, 1, 1, 1, 1, 0}
	if got := b[first : kvUnifiedOffset+1]; string(got) != string(want) {
		t.Fatalf("bools at %d..%d = %v, want %v", first, kvUnifiedOffset, got, want)
	}
	setKVUnified(&p)
	if b[kvUnifiedOffset] != 1 {
		t.Fatal("kv_unified not set")
	}
}

// TestFreeDefersBackends checks that the link wraps ggml_backend_free
// (free.c): llama_free's backends (at least the CPU one) are freed after
// it returns, not inside it before the scheduler.
func TestFreeDefersBackends(t *testing.T) {
	m := openWritten(t)
	l, err := m.newContext(1, SessionOptions{ContextSize: 256})
	if err != nil {
		t.Fatal(err)
	}
	l.batch.Free()
	if n := cFreeN(l.c); n < 1 {
		t.Errorf("backends freed after llama_free: %d, want at least 1", n)
	}
	l.abort.free()
	m.mu.Lock()
	m.sessions--
	m.mu.Unlock()
}

// openWritten writes the tiny model into a temporary directory and opens
// it; it is closed when t ends.
func openWritten(t *testing.T) *Model {
	t.Helper()
	path := t.TempDir() + "/m.gguf"
	if err := writeTiny(path); err != nil {
		t.Fatal(err)
	}
	m, err := Open(context.Background(), path, ModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
