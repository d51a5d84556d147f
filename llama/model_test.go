package llama_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/batos/batos/llama"
	"github.com/batos/batos/llama/gguf"
)

func TestInfo(t *testing.T) {
	m := openTiny(t)
	o := gguf.TinyLlama()
	info := m.Info()
	if info.Architecture != "llama" || info.Layers != o.Layers || info.EmbeddingSize != o.Embd ||
		info.Heads != o.Heads || info.ContextLength != o.Ctx || info.VocabSize < 259 ||
		info.Params == 0 || info.Size == 0 || info.Name != o.Name {
		t.Errorf("info = %+v", info)
	}
	if len(info.Placement) != 1 || info.Placement[0] != (llama.DeviceLayers{Device: "CPU", Layers: o.Layers}) || info.OutputDevice != "CPU" {
		t.Errorf("placement = %v, output %s", info.Placement, info.OutputDevice)
	}
}

func TestTokenizeRoundTrip(t *testing.T) {
	m := openTiny(t)
	for _, text := range []string{"", "hello", "héllo wörld", "世界 🙂 ok", "tab\there\nnew line", "\x01\x7f"} {
		toks, err := m.Tokenize(text, false)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Detokenize(toks)
		if err != nil {
			t.Fatal(err)
		}
		if got != text {
			t.Errorf("round trip %q → %v → %q", text, toks, got)
		}
	}
	toks, _ := m.Tokenize("a", true)
	if len(toks) == 0 || toks[0] != m.Info().BOS {
		t.Errorf("special tokenize of %q = %v, want BOS first", "a", toks)
	}
	if _, err := m.Detokenize([]llama.Token{-1}); !errors.Is(err, llama.ErrBadRequest) {
		t.Errorf("bad token: %v", err)
	}
	if !m.IsEOG(m.Info().EOS) || m.IsEOG(toks[len(toks)-1]) {
		t.Error("IsEOG")
	}
}

func TestOpenErrors(t *testing.T) {
	setup(t)
	dir := t.TempDir()
	good, err := os.ReadFile(fixtures.model)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badMagic := append([]byte("GGUX"), good[4:]...)
	badVersion := append([]byte(nil), good...)
	badVersion[4] = 9
	// A model without llama.block_count.
	o := gguf.TinyLlama()
	md, err := gguf.LlamaMetadata(o)
	if err != nil {
		t.Fatal(err)
	}
	var stripped gguf.Metadata
	for _, kv := range md {
		if kv.Key != "llama.block_count" {
			stripped = append(stripped, kv)
		}
	}
	tensors, err := gguf.LlamaTensors(o)
	if err != nil {
		t.Fatal(err)
	}
	noKey := filepath.Join(dir, "nokey.gguf")
	f, err := os.Create(noKey)
	if err != nil {
		t.Fatal(err)
	}
	w, err := gguf.NewWriter(f, stripped, tensors)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range w.Tensors() {
		if _, err := w.Write(make([]byte, ti.Size())); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	tests := map[string]string{
		"missing file":     filepath.Join(dir, "nope.gguf"),
		"empty":            write("empty.gguf", nil),
		"wrong magic":      write("magic.gguf", badMagic),
		"bad version":      write("version.gguf", badVersion),
		"header only":      write("hdr.gguf", good[:24]),
		"truncated header": write("trunc1.gguf", good[:len(good)/50]),
		"truncated data":   write("trunc2.gguf", good[:len(good)/2]),
		"missing one byte": write("trunc3.gguf", good[:len(good)-1]),
		"missing key":      noKey,
	}
	for name, path := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := llama.Open(context.Background(), path, llama.ModelOptions{})
			if !errors.Is(err, llama.ErrBadModel) {
				t.Errorf("err = %v", err)
			}
			if m != nil {
				m.Close()
			}
		})
	}
}

func TestModelClose(t *testing.T) {
	setup(t)
	m, err := llama.Open(context.Background(), fixtures.model, llama.ModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession(llama.SessionOptions{ContextSize: 128})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); !errors.Is(err, llama.ErrInUse) {
		t.Errorf("close with session: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Generate(context.Background(), llama.Request{Prompt: "x"}); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("generate on closed session: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("second close: %v", err)
	}
	if _, err := m.NewSession(llama.SessionOptions{}); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("session on closed model: %v", err)
	}
	if _, err := m.Tokenize("x", false); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("tokenize on closed model: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := llama.Open(ctx, fixtures.model, llama.ModelOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("open with cancelled ctx: %v", err)
	}
}

func TestSessionOptions(t *testing.T) {
	m := openTiny(t)
	for _, o := range []llama.SessionOptions{
		{ContextSize: 64, BatchSize: 16},
		{ContextSize: 256, FlashAttention: true},
		{Threads: 1, BatchThreads: 1},
	} {
		s, err := m.NewSession(o)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		// A prompt longer than the batch is prefilled in several batches.
		if _, err := s.Generate(context.Background(), llama.Request{Prompt: "a fairly long prompt of forty or more byte tokens", MaxTokens: 4}); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
		s.Close()
	}
	// The tiny model's 16-wide heads cannot hold 32-element quantization
	// blocks: llama.cpp would abort the process, NewSession refuses.
	for _, o := range []llama.SessionOptions{
		{KVCacheType: "q3"},
		{KVCacheType: "q8_0", FlashAttention: true},
		{KVCacheType: "q4_0"},
	} {
		if _, err := m.NewSession(o); !errors.Is(err, llama.ErrBadRequest) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestProgress(t *testing.T) {
	setup(t)
	var last float32 = -1
	m, err := llama.Open(context.Background(), fixtures.model, llama.ModelOptions{NoMmap: true, Progress: func(p float32) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if last != 1 {
		t.Errorf("last progress = %v, want 1", last)
	}
}

func TestBackend(t *testing.T) {
	devs := llama.Devices()
	if len(devs) == 0 || devs[0].Type != llama.DeviceCPU {
		t.Fatalf("devices = %+v", devs)
	}
	for _, p := range []string{"libggml-cuda.so", "/nonexistent/libggml-cuda.so", fixtures.model} {
		if p == "" {
			continue
		}
		if _, err := llama.LoadBackend(p); !errors.Is(err, llama.ErrBackend) {
			t.Errorf("%q: err = %v", p, err)
		}
	}
	t.Setenv(llama.BackendEnv, "")
	if devs, err := llama.LoadBackendFromEnv(); err != nil || len(devs) == 0 {
		t.Errorf("no env: %v %v", devs, err)
	}
}

// IsEOG on a closed model answers false instead of handing llama.cpp a
// freed vocabulary.
func TestIsEOGAfterClose(t *testing.T) {
	setup(t)
	m, err := llama.Open(context.Background(), fixtures.model, llama.ModelOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	eos := m.Info().EOS
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if m.IsEOG(eos) {
		t.Error("IsEOG true on a closed model")
	}
}

// TestOpenMlockRefused checks that Mlock, which ollama's model parameters
// no longer carry, is refused instead of silently ignored.
func TestOpenMlockRefused(t *testing.T) {
	setup(t)
	m, err := llama.Open(context.Background(), fixtures.model, llama.ModelOptions{Mlock: true})
	if !errors.Is(err, llama.ErrUnsupported) {
		if m != nil {
			m.Close()
		}
		t.Fatalf("Open with Mlock: %v, want ErrUnsupported", err)
	}
}
