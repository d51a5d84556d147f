package llama_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/batos/batos/llama"
)

func TestEngineConcurrent(t *testing.T) {
	m := openTiny(t)
	ctx := context.Background()
	a, err := m.LoadAdapter(ctx, fixtures.loraA, llama.AdapterOptions{Name: "alfred"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	e, err := llama.NewEngine(m, llama.EngineOptions{Sessions: 2, Session: llama.SessionOptions{ContextSize: 256}})
	if err != nil {
		t.Fatal(err)
	}
	reqs := []llama.Request{
		{Prompt: "base", MaxTokens: 16, Temperature: 0.7, Seed: 1},
		{Prompt: "base", MaxTokens: 16, Temperature: 0.7, Seed: 1, AdapterName: "alfred"},
	}
	var want [2]string
	for i, r := range reqs {
		resp, err := e.Generate(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = resp.Text
	}
	if want[0] == want[1] {
		t.Fatal("adapter made no difference")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 3 {
				i := (g + k) % 2
				resp, err := e.Generate(ctx, reqs[i])
				if err != nil {
					errs <- err
					return
				}
				if resp.Text != want[i] {
					errs <- fmt.Errorf("request %d: concurrent result %q, want %q", i, resp.Text, want[i])
				}
				if _, err := e.Embed(ctx, []string{"hello"}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("second close: %v", err)
	}
	if _, err := e.Generate(ctx, reqs[0]); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("generate after close: %v", err)
	}
}

func TestEngineAdapters(t *testing.T) {
	m := openTiny(t)
	ctx := context.Background()
	e, err := llama.NewEngine(m, llama.EngineOptions{Session: llama.SessionOptions{ContextSize: 128}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.LoadAdapter(ctx, "robin", fixtures.loraB); err != nil {
		t.Fatal(err)
	}
	req := llama.Request{Prompt: "x", MaxTokens: 8, AdapterName: "robin"}
	with, err := e.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.UnloadAdapter(ctx, "robin"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Generate(ctx, req); !errors.Is(err, llama.ErrAdapterModel) {
		t.Errorf("unloaded adapter: %v", err)
	}
	if err := e.UnloadAdapter(ctx, "robin"); !errors.Is(err, llama.ErrAdapterModel) {
		t.Errorf("second unload: %v", err)
	}
	if err := e.LoadAdapter(ctx, "robin", fixtures.loraB); err != nil {
		t.Fatal(err)
	}
	again, err := e.Generate(ctx, req)
	if err != nil || again.Text != with.Text {
		t.Errorf("reloaded: %q %v, want %q", again.Text, err, with.Text)
	}
}

func TestEngineWaitsForSession(t *testing.T) {
	m := openTiny(t)
	e, err := llama.NewEngine(m, llama.EngineOptions{Session: llama.SessionOptions{ContextSize: 128}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	started := make(chan struct{})
	release := make(chan struct{})
	go e.Generate(context.Background(), llama.Request{Prompt: "x", MaxTokens: 2, OnToken: func(string) error {
		select {
		case <-started:
		default:
			close(started)
			<-release
		}
		return nil
	}})
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Generate(ctx, llama.Request{Prompt: "y"}); !errors.Is(err, context.Canceled) {
		t.Errorf("busy engine, cancelled ctx: %v", err)
	}
	close(release)
}

// TestSessionsConcurrent runs two sessions of one model at once, under
// different adapters, and compares every generation with the sequential
// one: with the process-wide decode lock, and without it (this llama.cpp
// no longer needs it for correctness on the CPU), where the two contexts'
// decodes really overlap. (On ollama v0.6.5's llama.cpp, whose gemm shared
// a static work counter between contexts, a few percent of the unlocked
// generations came out different.)
func TestSessionsConcurrent(t *testing.T) {
	for _, tt := range []struct {
		name   string
		unlock bool
	}{{"locked", false}, {"unlocked", true}} {
		t.Run(tt.name, func(t *testing.T) {
			m := openTiny(t)
			if tt.unlock {
				llama.UnlockDecode(m)
			}
			ctx := context.Background()
			a, err := m.LoadAdapter(ctx, fixtures.loraA, llama.AdapterOptions{Name: "alfred"})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			ss := []*llama.Session{newSession(t, m), newSession(t, m)}
			reqs := []llama.Request{
				{Prompt: "base", MaxTokens: 16, Temperature: 0.7, Seed: 1},
				{Prompt: "base", MaxTokens: 16, Temperature: 0.7, Seed: 1, Adapter: a},
			}
			var want [2]string
			for i, req := range reqs {
				r, err := ss[0].Generate(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				want[i] = r.Text
			}
			if want[0] == want[1] {
				t.Fatalf("the adapter does not change the output (%q): the test could not tell them apart", want[0])
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			bad := 0
			for i, s := range ss {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 40 {
						r, err := s.Generate(ctx, reqs[i])
						if err != nil {
							t.Error(err)
							return
						}
						if r.Text != want[i] {
							mu.Lock()
							bad++
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			if bad > 0 {
				t.Errorf("%d of 80 concurrent generations differ from the sequential one", bad)
			}
		})
	}
}
