package llama_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/batos/batos/llama"
	"github.com/batos/batos/llama/gguf"
)

// fixtures are the generated files the tests share: a tiny random model
// and two adapters for it, written once per test binary.
var fixtures struct {
	once  sync.Once
	dir   string
	model string
	loraA string
	loraB string
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtures.dir != "" {
		os.RemoveAll(fixtures.dir)
	}
	os.Exit(code)
}

func setup(t testing.TB) {
	t.Helper()
	fixtures.once.Do(func() {
		dir, err := os.MkdirTemp("", "llama-test-")
		if err != nil {
			fixtures.err = err
			return
		}
		fixtures.dir = dir
		fixtures.model = filepath.Join(dir, "tiny.gguf")
		fixtures.loraA = filepath.Join(dir, "alfred.gguf")
		fixtures.loraB = filepath.Join(dir, "robin.gguf")
		base := gguf.TinyLlama()
		if err := gguf.WriteLlama(fixtures.model, base); err != nil {
			fixtures.err = fmt.Errorf("write model: %w", err)
			return
		}
		for i, p := range []string{fixtures.loraA, fixtures.loraB} {
			if err := gguf.WriteLoRA(p, base, gguf.LoRAOptions{Rank: 4, Seed: int64(10 + i), Scale: 0.2}); err != nil {
				fixtures.err = fmt.Errorf("write adapter: %w", err)
				return
			}
		}
	})
	if fixtures.err != nil {
		t.Fatal(fixtures.err)
	}
}

// openTiny opens the tiny model; it is closed when the test ends.
func openTiny(t testing.TB) *llama.Model {
	t.Helper()
	setup(t)
	m, err := llama.Open(context.Background(), fixtures.model, llama.ModelOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("model close: %v", err)
		}
	})
	return m
}

// newSession opens a session on m, closed when the test ends.
func newSession(t testing.TB, m *llama.Model) *llama.Session {
	t.Helper()
	s, err := m.NewSession(llama.SessionOptions{ContextSize: 512})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
