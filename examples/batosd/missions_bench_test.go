package main

import (
	"context"
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
	benchMissions = flag.Int("missions", 50, "BenchmarkMissions: missions to run")
	benchSlots    = flag.Int("missions.slots", 5000, "BenchmarkMissions: slots of the largest target (targets grow linearly from 0)")
	benchCtx      = flag.Int("missions.ctx", demoContextSize, "BenchmarkMissions: context size")
)

// missionSelectors are varied messages a user sends, with arguments.
var missionSelectors = []struct {
	selector string
	args     []object.Value
}{
	{"display_yourself", nil},
	{"remember_color", []object.Value{object.String("red")}},
	{"increment_counter", nil},
	{"add_item", []object.Value{object.String("apple")}},
	{"describe_slots", nil},
	{"set_name", []object.Value{object.String("Ada")}},
	{"add_numbers", []object.Value{object.Int(3), object.Int(4)}},
	{"count_slots", nil},
	{"record_score", []object.Value{object.Int(42)}},
	{"greet", []object.Value{object.String("world")}},
}

// BenchmarkMissions runs -missions cognitive cycles on the demo model (real
// llama.cpp, in process), each on a fresh object whose size grows from 0 to
// -missions.slots slots, and reports the share that complete, the cycle
// time and ALFRED's attempts per cycle. Run it once:
//
//	go test -run '^$' -bench Missions -benchtime 1x ./examples/batosd/
func BenchmarkMissions(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := filepath.Join(os.TempDir(), "batos-bench-demo")
	path, _, err := ensureDemoModel(dir, log)
	if err != nil {
		b.Fatal(err)
	}
	m, err := llama.Open(ctx, path, llama.ModelOptions{Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	e, err := llama.NewEngine(m, llama.EngineOptions{Session: llama.SessionOptions{ContextSize: *benchCtx}})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for b.Loop() {
		store, err := object.Open(b.TempDir(), object.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		v, err := vm.Open(ctx, store, vm.Options{Model: &engineModel{e: e}, Logger: log, CacheDir: b.TempDir(),
			SandboxLimits: vm.SandboxLimits{MaxAllocBytes: -1}})
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Start(ctx); err != nil {
			b.Fatal(err)
		}
		var (
			complete  int
			durations []time.Duration
			attempts  []int
			budgets   []time.Duration
			failures  = map[string]int{}
			bySize    = map[int][2]int{} // size bucket -> complete, total
		)
		n := *benchMissions
		for i := range n {
			size := 0
			if n > 1 {
				size = i * *benchSlots / (n - 1)
			}
			name := fmt.Sprintf("target_%d", i)
			if err := newTarget(ctx, store, name, size); err != nil {
				b.Fatal(err)
			}
			sel := missionSelectors[i%len(missionSelectors)]
			res, err := v.Dispatch(ctx, name, sel.selector, sel.args, nil)
			if err != nil || !res.Mission {
				b.Fatalf("dispatch %s: %+v %v", sel.selector, res, err)
			}
			rec, err := v.WaitCycle(ctx, res.Cycle)
			if err != nil {
				b.Fatal(err)
			}
			budgets = append(budgets, budgetTimes(rec)...)
			bucket := size * 5 / (*benchSlots + 1)
			c := bySize[bucket]
			c[1]++
			if rec.Status == vm.StatusComplete {
				complete++
				c[0]++
				durations = append(durations, rec.Ended.Sub(rec.Started))
				attempts = append(attempts, methodAttempts(rec))
			} else {
				failures[failureClass(rec.Error)]++
			}
			bySize[bucket] = c
		}
		v.Close(ctx)
		store.Close()
		slices.Sort(durations)
		slices.Sort(attempts)
		b.ReportMetric(float64(complete)/float64(n), "complete/mission")
		if len(durations) > 0 {
			b.ReportMetric(durations[len(durations)/2].Seconds(), "s/cycle(median)")
			b.ReportMetric(float64(attempts[len(attempts)/2]), "attempts(median)")
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%d of %d missions complete (context %d)\n", complete, n, *benchCtx)
		for k := range 5 {
			c := bySize[k]
			fmt.Fprintf(&sb, "  slots %d-%d: %d of %d\n", k**benchSlots/5, (k+1)**benchSlots/5, c[0], c[1])
		}
		for f, k := range failures {
			fmt.Fprintf(&sb, "  failed %dx: %s\n", k, f)
		}
		if len(attempts) > 0 {
			fmt.Fprintf(&sb, "  method attempts per completed cycle: %v\n", attempts)
		}
		if slices.Sort(budgets); len(budgets) > 0 {
			fmt.Fprintf(&sb, "  prompt budgeting: median %v, p90 %v, max %v over %d prompts\n",
				budgets[len(budgets)/2], budgets[len(budgets)*9/10], budgets[len(budgets)-1], len(budgets))
		}
		b.Log(sb.String())
	}
}

// newTarget makes a root object name, a child of the genesis object's
// parents, with size data slots.
func newTarget(ctx context.Context, store *object.Store, name string, size int) error {
	return store.Update(ctx, func(tx *object.Tx) error {
		g, err := tx.Resolve(vm.RootGenesis)
		if err != nil {
			return err
		}
		genesis, err := tx.Get(g)
		if err != nil {
			return err
		}
		slots := map[string]object.Value{"parent*": object.CloneValue(genesis.Slots["parent*"])}
		for i := range size {
			if i%2 == 0 {
				slots[fmt.Sprintf("fact_%04d", i)] = object.Int(i)
			} else {
				slots[fmt.Sprintf("note_%04d", i)] = object.String(fmt.Sprintf("note number %d", i))
			}
		}
		o, err := tx.New(slots)
		if err != nil {
			return err
		}
		return tx.SetRoot(name, o.OID)
	})
}

// failureClass shortens a cycle error to its kind.
func failureClass(e string) string {
	for _, k := range []string{"prompt longer than context", "needs a context of at least", "method attempts refused", "failed its audit", "failed its trial run"} {
		if strings.Contains(e, k) {
			return k
		}
	}
	if len(e) > 80 {
		e = e[:80]
	}
	return e
}

// methodAttempts is how many methods ALFRED wrote in the cycle.
func methodAttempts(rec *vm.CycleRecord) int { return len(rec.Methods) }

// budgetTimes are the times the cycle spent assembling each prompt.
func budgetTimes(rec *vm.CycleRecord) []time.Duration {
	var out []time.Duration
	for _, s := range rec.Steps {
		out = append(out, s.Budget)
	}
	return out
}
