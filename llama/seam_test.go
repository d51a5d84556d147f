package llama

import (
	"context"
	"testing"
)

// TestOllamaSeam checks that the C pointers read out of ollama's types
// (ollama.go) are the ones ollama uses.
func TestOllamaSeam(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/m.gguf"
	if err := writeTiny(path); err != nil {
		t.Fatal(err)
	}
	m, err := Open(context.Background(), path, ModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
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
	if got := cNCtx(s.c); got != 64 {
		t.Errorf("n_ctx through our context pointer = %d", got)
	}
	if firstPtr(s.oc.Model()) != m.c {
		t.Error("context's model pointer differs from the model's")
	}
}
