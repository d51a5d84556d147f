package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batos/batos/llama"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
)

var (
	cyclesN        = flag.Int("cycles", 20, "BenchmarkCycles: missions to run, each with its own selector")
	cyclesModel    = flag.String("cycles.model", "", "BenchmarkCycles: Llama GGUF (empty: the demo model and its adapters)")
	cyclesAdapters = flag.String("cycles.adapters", "", "BenchmarkCycles: directory of persona adapters <persona>.gguf (with -cycles.model)")
	cyclesBackend  = flag.String("cycles.backend", "", "BenchmarkCycles: absolute path of libggml-cuda.so (empty: CPU)")
	cyclesNGL      = flag.Int("cycles.ngl", 0, "BenchmarkCycles: layers on the GPU (-1: all)")
	cyclesCtx      = flag.Int("cycles.ctx", 0, "BenchmarkCycles: context size (0: batosd's default for the model)")
	cyclesOut      = flag.String("cycles.out", "", "BenchmarkCycles: write every cycle's timings and model calls as JSON here")
	cyclesNoJF     = flag.Bool("cycles.nojf", false, "BenchmarkCycles: jump-forward decoding off")
	cyclesSessions = flag.Int("cycles.sessions", 1, "BenchmarkCycles: llama.cpp sessions and the VM's concurrent model calls (batosd -sessions; above 1, facets under different adapters run at once)")
	cyclesBatch    = flag.Int("cycles.batch", 3, "BenchmarkCycles: facets decoded together when they share an adapter (batosd -batch; 0: one after another)")
)

// cycleVerbs make the benchmark's selectors: display_yourself first, then
// a verb and a noun each, so that every mission is a new method.
var cycleVerbs = []string{"describe", "count", "summarize", "list", "remember", "render", "measure", "tally", "greet", "inspect"}

// cycleStep is one model call of a benchmarked cycle (seconds).
type cycleStep struct {
	State        string  `json:"state"`
	Persona      string  `json:"persona"`
	Adapter      string  `json:"adapter,omitempty"`
	PromptTokens int     `json:"prompt_tokens"`
	OutputTokens int     `json:"output_tokens"`
	ForcedTokens int     `json:"forced_tokens"`
	Batch        int     `json:"batch,omitempty"`
	MaxTokens    int     `json:"max_tokens"`
	Seconds      float64 `json:"s"`
	Prefill      float64 `json:"prefill_s"`
	Decode       float64 `json:"decode_s"`
	Sample       float64 `json:"sample_s"`
}

// cycleResult is one benchmarked cycle.
type cycleResult struct {
	Selector string             `json:"selector"`
	Status   string             `json:"status"`
	Error    string             `json:"error,omitempty"`
	Seconds  float64            `json:"s"`
	States   map[string]float64 `json:"states"`
	Steps    []cycleStep        `json:"steps"`
	// Calls and Decode are the model calls' time and their decode time,
	// a batch's overlapping calls counted once (vm.CycleRecord.Batches).
	Calls  float64 `json:"calls_s"`
	Decode float64 `json:"decode_s"`
}

// BenchmarkCycles runs -cycles whole cognitive cycles (BRICK's plan under
// the plan grammar, the facets, ROBIN's synthesis, ALFRED's method under
// the method grammar, audit and trial run) on a real model, each mission a
// new selector on a fresh object, with the persona adapters resident, and
// reports the cycle wall time (p50, p99) split into prefill, decode (and
// its sampling share) and the VM's own time. Issue 14's whole-cycle
// benchmark; scripts/hf_cycles.py replays the same model calls through the
// Python stack. On the demo model, once:
//
//	go test -run '^$' -bench Cycles -benchtime 1x ./examples/batosd/
//
// On an 8B-shaped model and a GPU (the adapters dir holds brick.gguf,
// robin.gguf and alfred.gguf):
//
//	batosd.test -test.run '^$' -test.bench Cycles -test.benchtime 1x -cycles.model M.gguf \
//	  -cycles.adapters DIR -cycles.backend /abs/libggml-cuda.so -cycles.ngl -1 -cycles.out cycles.json
func BenchmarkCycles(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	model, adapterDir, nctx := *cyclesModel, *cyclesAdapters, *cyclesCtx
	if model == "" {
		var err error
		if model, adapterDir, err = ensureDemoModel(filepath.Join(os.TempDir(), "batos-bench-demo"), log); err != nil {
			b.Fatal(err)
		}
		if nctx == 0 {
			nctx = demoContextSize
		}
	}
	if nctx == 0 {
		nctx = defaultContextSize
	}
	adapters, err := findAdapters(adapterDir)
	if err != nil {
		b.Fatal(err)
	}
	if *cyclesBackend != "" {
		if _, err := llama.LoadBackend(*cyclesBackend); err != nil {
			b.Fatal(err)
		}
	}
	m, err := llama.Open(ctx, model, llama.ModelOptions{GPULayers: *cyclesNGL})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	e, err := llama.NewEngine(m, llama.EngineOptions{Sessions: *cyclesSessions, Session: llama.SessionOptions{ContextSize: nctx}, BatchSequences: *cyclesBatch})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	lm := &engineModel{e: e, noJumpForward: *cyclesNoJF}
	for b.Loop() {
		store, err := object.Open(b.TempDir(), object.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		v, err := vm.Open(ctx, store, vm.Options{Model: lm, Logger: log, CacheDir: b.TempDir(),
			Adapters: adapters, HotAdapters: max(1, len(adapters)), ModelConcurrency: *cyclesSessions,
			SandboxLimits: vm.SandboxLimits{MaxAllocBytes: -1}})
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Start(ctx); err != nil {
			b.Fatal(err)
		}
		// A warm-up cycle loads the adapters and the kernels.
		if err := newTarget(ctx, store, "warmup", 0); err != nil {
			b.Fatal(err)
		}
		if _, err := runCycle(ctx, v, "warmup", "warm_up"); err != nil {
			b.Fatal(err)
		}
		var results []cycleResult
		for i := range *cyclesN {
			sel := "display_yourself"
			if i > 0 {
				sel = fmt.Sprintf("%s_%s_%d", cycleVerbs[i%len(cycleVerbs)], []string{"state", "slots", "facts", "notes"}[i%4], i)
			}
			name := fmt.Sprintf("target_%d", i)
			if err := newTarget(ctx, store, name, 2*i); err != nil {
				b.Fatal(err)
			}
			r, err := runCycle(ctx, v, name, sel)
			if err != nil {
				b.Fatal(err)
			}
			results = append(results, r)
			// Progress, and the results so far on disk: a run cut short
			// by a time limit keeps what it measured.
			fmt.Printf("cycle %d %s: %s in %.2f s, %d model calls\n", i, sel, r.Status, r.Seconds, len(r.Steps))
			writeCycles(b, results)
		}
		v.Close(ctx)
		store.Close()
		reportCycles(b, results)
	}
}

// runCycle sends selector to the root name as a mission and returns the
// finished cycle's timings.
func runCycle(ctx context.Context, v *vm.VM, name, selector string) (cycleResult, error) {
	res, err := v.Dispatch(ctx, name, selector, nil, nil)
	if err != nil || !res.Mission {
		return cycleResult{}, fmt.Errorf("dispatch %s: %+v %v", selector, res, err)
	}
	rec, err := v.WaitCycle(ctx, res.Cycle)
	if err != nil {
		return cycleResult{}, err
	}
	r := cycleResult{Selector: selector, Status: string(rec.Status), Error: rec.Error,
		Seconds: rec.Ended.Sub(rec.Started).Seconds(), States: map[string]float64{}}
	for _, st := range rec.States {
		r.States[st.Name] += st.Duration.Seconds()
	}
	for _, group := range rec.Batches() {
		r.Calls += group[0].Duration.Seconds()
		var longest time.Duration
		for _, s := range group {
			longest = max(longest, s.Decode)
		}
		r.Decode += longest.Seconds()
	}
	for _, s := range rec.Steps {
		r.Steps = append(r.Steps, cycleStep{State: s.State, Persona: s.Persona, Adapter: s.Adapter,
			PromptTokens: s.PromptTokens, OutputTokens: s.OutputTokens, ForcedTokens: s.ForcedTokens,
			MaxTokens: s.MaxTokens, Batch: s.Batch,
			Seconds: s.Duration.Seconds(), Prefill: s.Prefill.Seconds(), Decode: s.Decode.Seconds(), Sample: s.Sample.Seconds()})
	}
	return r, nil
}

// reportCycles reports the completed cycles' wall times and where the time
// of all cycles went, and writes -cycles.out.
func reportCycles(b *testing.B, results []cycleResult) {
	var walls []float64
	var wall, prefill, decode, sample, calls float64
	var tokens, forced, complete int
	failures := map[string]int{}
	for _, r := range results {
		if r.Status == string(vm.StatusComplete) {
			complete++
			walls = append(walls, r.Seconds)
		} else {
			failures[failureClass(r.Error)]++
		}
		wall += r.Seconds
		calls += r.Calls
		decode += r.Decode
		for _, s := range r.Steps {
			prefill += s.Prefill
			sample += s.Sample
			tokens += s.OutputTokens
			forced += s.ForcedTokens
		}
	}
	slices.Sort(walls)
	q := func(p float64) float64 {
		if len(walls) == 0 {
			return 0
		}
		return walls[min(len(walls)-1, int(p*float64(len(walls))))]
	}
	b.ReportMetric(float64(complete)/float64(len(results)), "complete/cycle")
	b.ReportMetric(q(0.5), "s/cycle(p50)")
	b.ReportMetric(q(0.99), "s/cycle(p99)")
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d of %d cycles complete; wall p50 %.2f s, p99 %.2f s\n", complete, len(results), q(0.5), q(0.99))
	if wall > 0 {
		fmt.Fprintf(&sb, "  all cycles %.1f s: prefill %.1f%%, decode %.1f%% (sampling %.1f%% of it), other model-call time %.1f%%, VM %.1f%%\n",
			wall, 100*prefill/wall, 100*decode/wall, 100*sample/max(decode, 1e-9), 100*(calls-prefill-decode)/wall, 100*(wall-calls)/wall)
		fmt.Fprintf(&sb, "  %d output tokens, %d forced by a grammar (jump-forward %v)\n", tokens, forced, !*cyclesNoJF)
	}
	for f, k := range failures {
		fmt.Fprintf(&sb, "  failed %dx: %s\n", k, f)
	}
	b.Log(sb.String())
	writeCycles(b, results)
}

// writeCycles writes -cycles.out.
func writeCycles(b *testing.B, results []cycleResult) {
	if *cyclesOut == "" {
		return
	}
	out, err := json.MarshalIndent(map[string]any{"jump_forward": !*cyclesNoJF, "cycles": results}, "", " ")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(*cyclesOut, append(out, '\n'), 0o644); err != nil {
		b.Fatal(err)
	}
}
