package llama_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/batos/batos/llama"
)

// TestOpenCorrupt truncates the model at many offsets and flips header
// bytes: every such file must fail with ErrBadModel or load, never crash
// the process.
func TestOpenCorrupt(t *testing.T) {
	setup(t)
	good, err := os.ReadFile(fixtures.model)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	try := func(name string, b []byte, mustFail bool) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := llama.Open(context.Background(), p, llama.ModelOptions{Threads: 1})
		if err == nil {
			if mustFail {
				t.Errorf("%s: loaded", name)
			}
			m.Close()
			return
		}
		if !errors.Is(err, llama.ErrBadModel) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	for off := 1; off < len(good); off = off*5/4 + 1 {
		try(fmt.Sprintf("trunc-%d.gguf", off), good[:off], true)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	hdr := min(len(good), 8192)
	for i := range 100 {
		b := append([]byte(nil), good...)
		for range 1 + i%3 {
			b[8+rng.IntN(hdr-8)] ^= byte(1 + rng.IntN(255))
		}
		try(fmt.Sprintf("flip-%d.gguf", i), b, false)
	}
}

// TestLoadAdapterCorrupt does the same for adapters.
func TestLoadAdapterCorrupt(t *testing.T) {
	m := openTiny(t)
	good, err := os.ReadFile(fixtures.loraA)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	hdr := min(len(good), 4096)
	for i := range 100 {
		b := append([]byte(nil), good...)
		if i%4 == 0 {
			b = b[:8+rng.IntN(len(b)-8)]
		} else {
			for range 1 + i%3 {
				b[8+rng.IntN(hdr-8)] ^= byte(1 + rng.IntN(255))
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("a%d.gguf", i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := m.LoadAdapter(context.Background(), p, llama.AdapterOptions{})
		if err != nil {
			if !errors.Is(err, llama.ErrBadAdapter) {
				t.Errorf("%d: err = %v", i, err)
			}
			continue
		}
		a.Close()
	}
}
