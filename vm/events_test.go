package vm_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

// usageModel is the fake model as a vm.UsageReporter: every call reports
// 7 output tokens (3 forced by a grammar), 2 ms of prefill and 5 ms of
// decode (1 ms of it sampling).
type usageModel struct{ vmtest.Model }

func (m *usageModel) GenerateUsage(ctx context.Context, g vm.Generation) (string, vm.Usage, error) {
	out, err := m.Generate(ctx, g)
	return out, vm.Usage{PromptTokens: 100, OutputTokens: 7, Prefill: 2 * time.Millisecond, Decode: 5 * time.Millisecond,
		Sample: time.Millisecond, ForcedTokens: 3}, err
}

// OnCycleEvent sees a cycle as it happens: queued, running, each state in
// order, trace lines, one step event per model call and the end; the
// steps carry a UsageReporter's own counts and timings.
func TestCycleEvents(t *testing.T) {
	var (
		mu     sync.Mutex
		events []vm.CycleEvent
	)
	v, _ := vmtest.Open(t, vm.Options{Model: &usageModel{}, Logger: slogDiscard(),
		OnCycleEvent: func(e vm.CycleEvent) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}})
	res, err := v.Dispatch(context.Background(), "genesis_obj", "display_yourself", nil, nil)
	if err != nil || !res.Mission {
		t.Fatalf("dispatch: %+v %v", res, err)
	}
	rec, err := v.WaitCycle(context.Background(), res.Cycle)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := slices.Clone(events)
	mu.Unlock()
	var kinds, states []string
	lines, steps := 0, 0
	for _, e := range got {
		if e.Cycle != res.Cycle {
			t.Errorf("event of another cycle: %+v", e)
		}
		switch e.Kind {
		case vm.EventState:
			states = append(states, e.State+e.Status)
		case vm.EventLine:
			lines++
			continue
		case vm.EventStep:
			steps++
			continue
		}
		kinds = append(kinds, e.Kind)
	}
	if kinds[0] != vm.EventQueued || kinds[len(kinds)-1] != vm.EventEnd || got[len(got)-1].Status != vm.StatusComplete {
		t.Errorf("event kinds %v, last %+v", kinds, got[len(got)-1])
	}
	if want := "running IDLE DECOMPOSING DELEGATING SYNTHESIZING COMPLETE"; strings.Join(states, " ") != want {
		t.Errorf("states %v, want %s", states, want)
	}
	if lines != len(rec.Lines) {
		t.Errorf("%d line events for %d trace lines", lines, len(rec.Lines))
	}
	if steps != len(rec.Steps) || steps == 0 {
		t.Errorf("%d step events for %d steps", steps, len(rec.Steps))
	}
	for _, s := range rec.Steps {
		if s.OutputTokens != 7 || s.Prefill != 2*time.Millisecond || s.Decode != 5*time.Millisecond || s.Replayed ||
			s.Sample != time.Millisecond || s.ForcedTokens != 3 {
			t.Errorf("step %s/%s: %d tokens (%d forced), prefill %v, decode %v (sampling %v), replayed %v",
				s.State, s.Persona, s.OutputTokens, s.ForcedTokens, s.Prefill, s.Decode, s.Sample, s.Replayed)
		}
	}
	st := v.Status()
	if st.Methods.Calls == 0 || st.Methods.Failed != 0 {
		t.Errorf("method stats %+v after a trial run", st.Methods)
	}
}
