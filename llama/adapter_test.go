package llama_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/batos/batos/llama"
	"github.com/batos/batos/llama/gguf"
)

func TestAdapterSwap(t *testing.T) {
	m := openTiny(t)
	ctx := context.Background()
	a, err := m.LoadAdapter(ctx, fixtures.loraA, llama.AdapterOptions{Name: "alfred"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := m.LoadAdapter(ctx, fixtures.loraB, llama.AdapterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Name() != "robin" || m.Adapter("alfred") != a {
		t.Fatalf("names: %q, lookup %p", b.Name(), m.Adapter("alfred"))
	}
	s := newSession(t, m)
	gen := func(a *llama.Adapter, name string) string {
		t.Helper()
		resp, err := s.Generate(ctx, llama.Request{Prompt: "Who are you?", MaxTokens: 32, Temperature: 0, Adapter: a, AdapterName: name})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Text
	}
	base := gen(nil, "")
	withA := gen(a, "")
	withB := gen(nil, "robin")
	if withA == base || withB == base || withA == withB {
		t.Errorf("adapters do not change the output:\nbase %q\nA    %q\nB    %q", base, withA, withB)
	}
	if got := gen(a, ""); got != withA {
		t.Errorf("A again: %q, want %q", got, withA)
	}
	if got := gen(nil, ""); got != base {
		t.Errorf("after removing adapters: %q, want base %q", got, base)
	}
	// A fresh session gives the same results: nothing leaks across swaps.
	s2 := newSession(t, m)
	resp, err := s2.Generate(ctx, llama.Request{Prompt: "Who are you?", MaxTokens: 32, Adapter: b})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != withB {
		t.Errorf("fresh session with B: %q, want %q", resp.Text, withB)
	}
}

func TestAdapterLifetime(t *testing.T) {
	m := openTiny(t)
	ctx := context.Background()
	a, err := m.LoadAdapter(ctx, fixtures.loraA, llama.AdapterOptions{Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.LoadAdapter(ctx, fixtures.loraB, llama.AdapterOptions{Name: "p"}); !errors.Is(err, llama.ErrAdapterExists) {
		t.Errorf("duplicate name: %v", err)
	}
	s := newSession(t, m)
	req := llama.Request{Prompt: "x", MaxTokens: 8, Adapter: a}
	want, err := s.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// Closing an adapter a session still has set keeps its memory until
	// the session switches away, but new requests for it are refused.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if m.Adapter("p") != nil {
		t.Error("closed adapter still registered")
	}
	if _, err := s.Generate(ctx, req); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("request with closed adapter: %v", err)
	}
	if err := a.Close(); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("second close: %v", err)
	}
	// The name is free again.
	a2, err := m.LoadAdapter(ctx, fixtures.loraA, llama.AdapterOptions{Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	req.Adapter = a2
	got, err := s.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != want.Text {
		t.Errorf("reloaded adapter: %q, want %q", got.Text, want.Text)
	}
	// Model.Close refuses while sessions are open.
	if err := m.Close(); !errors.Is(err, llama.ErrInUse) {
		t.Errorf("model close with open session: %v", err)
	}
	// Another model's adapter is refused.
	m2 := openTiny(t)
	b, err := m2.LoadAdapter(ctx, fixtures.loraB, llama.AdapterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req.Adapter = b
	if _, err := s.Generate(ctx, req); !errors.Is(err, llama.ErrAdapterModel) {
		t.Errorf("foreign adapter: %v", err)
	}
}

func TestAdapterBadFile(t *testing.T) {
	m := openTiny(t)
	dir := t.TempDir()
	notGGUF := filepath.Join(dir, "x.gguf")
	os.WriteFile(notGGUF, []byte("not a gguf file at all"), 0o644)
	for _, p := range []string{notGGUF, filepath.Join(dir, "missing.gguf"), fixtures.model} {
		if _, err := m.LoadAdapter(context.Background(), p, llama.AdapterOptions{}); !errors.Is(err, llama.ErrBadAdapter) {
			t.Errorf("%s: err = %v", filepath.Base(p), err)
		}
	}
}

// TestAdapterLoadFreeMemory loads and frees the adapter 1,000 times and
// checks that the process's resident memory does not grow by more than a
// small fraction of what leaking every copy would cost.
func TestAdapterLoadFreeMemory(t *testing.T) {
	m := openTiny(t)
	// A rank-32 adapter (about 260 KiB), so a leak stands well above
	// allocator noise. (With ollama v0.6.5, whose ggml leaked the struct
	// of every freed CPU buffer, this needed glibc's mmap threshold fixed
	// at 8 KiB; v0.17.4's ggml frees it and the workaround is gone.)
	path := filepath.Join(t.TempDir(), "rank32.gguf")
	if err := gguf.WriteLoRA(path, gguf.TinyLlama(), gguf.LoRAOptions{Rank: 32, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// One OS thread, so glibc serves every C allocation from one arena.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s := newSession(t, m)
	cycle := func(i int) {
		a, err := m.LoadAdapter(context.Background(), path, llama.AdapterOptions{Name: "leak"})
		if err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 { // use it now and then, so the session holds a reference
			if _, err := s.Generate(context.Background(), llama.Request{Prompt: "x", MaxTokens: 1, Adapter: a}); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 200 { // warm up allocator pools
		cycle(i)
	}
	debug.FreeOSMemory() // return the Go heap's garbage (gguf.Check's buffers) to the OS
	before := rss(t)
	const n = 1000
	for i := range n {
		cycle(i)
	}
	debug.FreeOSMemory()
	after := rss(t)
	leakAll := n * fi.Size()
	t.Logf("RSS %d → %d KiB over %d cycles (leaking every adapter would add %d KiB)", before>>10, after>>10, n, leakAll>>10)
	if grow := after - before; grow > leakAll/20 {
		t.Errorf("RSS grew by %d KiB over %d load/free cycles", grow>>10, n)
	}
}

// rss returns the resident set size of the process in bytes.
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm:", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// TestAdapterSwitchSameShape switches adapters between one-token
// requests for the same prompt, whose prefill batches have the same shape,
// where llama.cpp would reuse the previous request's compute graph: each
// answer must be the one a fresh session gives under the request's own
// adapter (not the previous request's), also after the previous adapter
// was freed (a reused graph would read its freed tensors).
func TestAdapterSwitchSameShape(t *testing.T) {
	m := openTiny(t)
	ctx := context.Background()
	a, err := m.LoadAdapter(ctx, fixtures.loraA, llama.AdapterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.LoadAdapter(ctx, fixtures.loraB, llama.AdapterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	adapters := []*llama.Adapter{nil, a, b}
	name := map[*llama.Adapter]string{nil: "none", a: "alfred", b: "robin"}
	// The first prompt whose first token differs under each adapter, as a
	// fresh session (a fresh graph) answers it.
	var prompt string
	var want map[*llama.Adapter]llama.Token
	for _, p := range []string{"Who are you?", "Hi.", "hello", "the cat sat", "x", "Tell me a story."} {
		want = map[*llama.Adapter]llama.Token{}
		for _, ad := range adapters {
			s, err := m.NewSession(llama.SessionOptions{ContextSize: 256})
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.Generate(ctx, llama.Request{Prompt: p, MaxTokens: 1, Adapter: ad})
			s.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Tokens) == 1 {
				want[ad] = r.Tokens[0]
			}
		}
		if len(want) == 3 && want[nil] != want[a] && want[nil] != want[b] && want[a] != want[b] {
			prompt = p
			break
		}
	}
	if prompt == "" {
		t.Fatal("no prompt whose first token differs under each adapter")
	}
	s := newSession(t, m)
	gen := func(i int, ad *llama.Adapter) {
		t.Helper()
		r, err := s.Generate(ctx, llama.Request{Prompt: prompt, MaxTokens: 1, Adapter: ad})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Tokens) != 1 || r.Tokens[0] != want[ad] {
			t.Errorf("request %d under %s: %v, want [%d] (alfred %d, robin %d, none %d)",
				i, name[ad], r.Tokens, want[ad], want[a], want[b], want[nil])
		}
	}
	for i, ad := range []*llama.Adapter{a, b, a, nil, b, a, b} {
		gen(i, ad)
	}
	// The session left a for b; closing a frees it now.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	gen(7, b)
	gen(8, nil)
}
