package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos/batos/llama"
	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

// windowChecker wraps the llama-backed model and checks, with the real
// model's tokenizer, that no request the cycle sends overflows the
// context: prompt tokens plus the output bound.
type windowChecker struct {
	*engineModel
	t     *testing.T
	mu    sync.Mutex
	calls int
	worst float64 // the largest (prompt + output bound) / context seen
}

func (w *windowChecker) Generate(ctx context.Context, g vm.Generation) (string, error) {
	n, err := w.PromptTokens(g)
	if err != nil {
		w.t.Errorf("%s: counting tokens: %v", g.Persona, err)
	}
	c := w.ContextSize()
	w.mu.Lock()
	w.calls++
	w.worst = max(w.worst, float64(n+g.MaxTokens)/float64(c))
	w.mu.Unlock()
	if n+g.MaxTokens > c {
		w.t.Errorf("%s: prompt of %d tokens + output bound %d > context %d", g.Persona, n, g.MaxTokens, c)
	}
	return w.engineModel.Generate(ctx, g)
}

// An object with 5,000 slots and a 1 MiB string learns a method on the
// demo model (real llama.cpp, its tokenizer, the method grammar), and no
// prompt the cycle sends exceeds its window.
func TestHugeObjectLearnsOnDemoModel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	path, _, err := ensureDemoModel(t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	m, err := llama.Open(ctx, path, llama.ModelOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e, err := llama.NewEngine(m, llama.EngineOptions{Session: llama.SessionOptions{ContextSize: demoContextSize}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	model := &windowChecker{engineModel: &engineModel{e: e}, t: t}

	store := objecttest.OpenDir(t, object.Options{})
	v, err := vm.Open(ctx, store, vm.Options{Model: model, Logger: log, CacheDir: t.TempDir(),
		SandboxLimits: vm.SandboxLimits{MaxAllocBytes: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(context.Background())
	if err := v.Start(ctx); err != nil {
		t.Fatal(err)
	}
	err = objecttest.SetSlots(ctx, store, vm.RootGenesis, vmtest.HugeSlots("fact", 5000, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Dispatch(ctx, vm.RootGenesis, "remember_color", []object.Value{object.String("red")}, nil)
	if err != nil || !res.Mission {
		t.Fatalf("dispatch = %+v, %v", res, err)
	}
	rec, err := v.WaitCycle(ctx, res.Cycle)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != vm.StatusComplete {
		t.Fatalf("cycle %s: %s", rec.Status, rec.Error)
	}
	for _, s := range rec.Steps {
		t.Logf("%s %s: %d prompt tokens of %d, output <= %d, %v", s.State, s.Persona, s.PromptTokens, s.Window, s.MaxTokens, s.Duration)
		if s.PromptTokens > s.Window {
			t.Errorf("%s: %d prompt tokens over the window %d", s.Persona, s.PromptTokens, s.Window)
		}
	}
	if _, err := v.Dispatch(ctx, vm.RootGenesis, "remember_color", []object.Value{object.String("red")}, nil); err != nil {
		t.Fatalf("the learned method fails: %v", err)
	}
	for _, a := range rec.Methods {
		t.Logf("attempt %d (%d bytes): %s %s %s", a.Attempt, len(a.Source), a.Verdict, a.Error, strings.Join(a.Findings, "; "))
	}
	t.Logf("%d model calls, %d method attempts; the fullest request used %.0f%% of the context", model.calls, len(rec.Methods), 100*model.worst)
}
