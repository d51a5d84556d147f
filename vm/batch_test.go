package vm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

// batcher is a fake BatchGenerator over vmtest.Loader: it answers each
// request of a batch as Generate does (failing one whose adapter is not
// resident) and records the batches.
type batcher struct {
	vmtest.Loader
	mu      sync.Mutex
	batches [][]string // persona per request
}

func (b *batcher) GenerateBatch(ctx context.Context, gs []vm.Generation) ([]string, []vm.Usage, error) {
	var personas []string
	outs := make([]string, len(gs))
	us := make([]vm.Usage, len(gs))
	for i, g := range gs {
		if g.Adapter != gs[0].Adapter {
			return nil, nil, fmt.Errorf("batch mixes adapters %q and %q", gs[0].Adapter, g.Adapter)
		}
		out, err := b.Generate(ctx, g)
		if err != nil {
			return nil, nil, err
		}
		outs[i], us[i] = out, vm.Usage{OutputTokens: 3, Batch: len(gs)}
		personas = append(personas, g.Persona)
	}
	b.mu.Lock()
	b.batches = append(b.batches, personas)
	b.mu.Unlock()
	return outs, us, nil
}

// facetScript answers the batch tests' model calls: BRICK's plan (ROBIN,
// BABS, ROBIN), and each facet naming its query and persona.
func facetScript(g vm.Generation) (string, error) {
	const plan = `{"facets":[{"persona":"ROBIN","query":"q0"},{"persona":"BABS","query":"q1"},{"persona":"ROBIN","query":"q2"}]}`
	if g.JSONSchema != "" {
		return plan, nil
	}
	last := g.Messages[len(g.Messages)-1].Content
	for i := range 3 {
		if q := fmt.Sprintf("q%d", i); strings.Contains(last, q) && g.Grammar == "" && !strings.Contains(last, "answer-q") {
			return fmt.Sprintf("answer-%s from %s", q, g.Persona), nil
		}
	}
	return "", nil
}

// A BatchGenerator gets the facets that share an adapter as one batch,
// groups in the order of their first facet; the steps are seeded in the
// plan's order as when asked one by one, and the answers reach ROBIN's
// and ALFRED's prompts in the plan's order.
func TestFacetsBatched(t *testing.T) {
	src := t.TempDir()
	adapters := map[string]string{}
	for _, name := range []string{"brick", "robin"} {
		p := filepath.Join(src, name+".gguf")
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		adapters[name] = p
	}
	b := &batcher{}
	b.Script = facetScript
	e := open(t, b, func(o *vm.Options) { o.Adapters = adapters })
	rec := e.learn(t, "genesis_obj", "display_yourself")
	if rec.Status != vm.StatusComplete {
		t.Fatalf("%s: %s", rec.Status, rec.Error)
	}
	want := [][]string{{"ROBIN", "ROBIN"}}
	if !slices.EqualFunc(b.batches, want, slices.Equal) {
		t.Errorf("batches %v, want %v", b.batches, want)
	}
	var order, outs []string
	var batch []int
	for _, s := range rec.Steps {
		if s.State == vm.StateDelegating {
			order = append(order, s.Persona)
			outs = append(outs, s.Output)
			batch = append(batch, s.Batch)
		}
	}
	if w := []string{"ROBIN", "ROBIN", "BABS"}; !slices.Equal(order, w) {
		t.Errorf("facet steps %v, want %v", order, w)
	}
	if w := []int{2, 2, 0}; !slices.Equal(batch, w) {
		t.Errorf("facet steps' batch sizes %v, want %v", batch, w)
	}
	if w := []string{"answer-q0 from ROBIN", "answer-q2 from ROBIN", "answer-q1 from BABS"}; !slices.Equal(outs, w) {
		t.Errorf("facet outputs %q, want %q", outs, w)
	}
	// Seeds follow the plan's order: the facets are steps 2 to 4.
	var seeds []int64
	for _, g := range b.Calls() {
		if g.JSONSchema == "" && g.Grammar == "" && strings.Contains(g.Messages[0].Content, "q") && !strings.Contains(g.Messages[0].Content, "answer-q") {
			seeds = append(seeds, g.Seed&0xff)
		}
	}
	if w := []int64{2, 4, 3}; !slices.Equal(seeds, w) {
		t.Errorf("facet seeds (in call order) %v, want %v", seeds, w)
	}
	// ALFRED's prompt quotes the answers in the plan's order.
	var alfred string
	for _, s := range rec.Steps {
		if s.Persona == "ALFRED" {
			alfred = s.Prompt
		}
	}
	last := -1
	for i := range 3 {
		at := strings.Index(alfred, fmt.Sprintf("answer-q%d", i))
		if at < 0 || at < last {
			t.Fatalf("answer-q%d at %d (previous at %d) in ALFRED's prompt:\n%s", i, at, last, alfred)
		}
		last = at
	}
}

// DecodeTotals counts a batch's overlapping decode once (its longest
// call), every other call's decode (or, unmeasured, its duration) in
// full, and leaves replayed calls out.
func TestDecodeTotals(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		steps  []vm.Step
		tokens int
		took   time.Duration
	}{
		{"alone", []vm.Step{{OutputTokens: 10, Decode: 100 * ms}, {OutputTokens: 5, Duration: 50 * ms}}, 15, 150 * ms},
		{"one batch of two", []vm.Step{
			{OutputTokens: 10, Decode: 100 * ms},
			{OutputTokens: 20, Decode: 300 * ms, Duration: time.Second, Batch: 2},
			{OutputTokens: 20, Decode: 250 * ms, Duration: time.Second, Batch: 2},
		}, 50, 400 * ms},
		{"two batches back to back", []vm.Step{
			{OutputTokens: 1, Decode: 10 * ms, Duration: time.Second, Batch: 2},
			{OutputTokens: 1, Decode: 20 * ms, Duration: time.Second, Batch: 2},
			{OutputTokens: 1, Decode: 30 * ms, Duration: time.Second, Batch: 2},
			{OutputTokens: 1, Decode: 40 * ms, Duration: time.Second, Batch: 2},
		}, 4, 60 * ms},
		{"replayed left out", []vm.Step{{OutputTokens: 10, Decode: 100 * ms, Replayed: true}, {OutputTokens: 3, Decode: 30 * ms}}, 3, 30 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := vm.CycleRecord{Steps: tc.steps}
			tokens, took := r.DecodeTotals()
			if tokens != tc.tokens || took != tc.took {
				t.Errorf("DecodeTotals = %d, %v; want %d, %v", tokens, took, tc.tokens, tc.took)
			}
		})
	}
}

// rendezvous is a batcher whose facet calls each wait (up to 10 s)
// until two are in flight, and records how many ever were.
type rendezvous struct {
	batcher
	meetMu  sync.Mutex
	arrived int
	most    int
	cond    chan struct{} // closed when the second facet call arrives
}

func (r *rendezvous) meet() {
	r.meetMu.Lock()
	r.arrived++
	r.most = max(r.most, r.arrived)
	if r.arrived == 2 {
		close(r.cond)
	}
	r.meetMu.Unlock()
	select {
	case <-r.cond:
	case <-time.After(10 * time.Second):
	}
	r.meetMu.Lock()
	r.arrived--
	r.meetMu.Unlock()
}

// isBABSFacet reports whether g is BABS's facet call (query q1; the later
// prompts quote its answer, "answer-q1").
func isBABSFacet(g vm.Generation) bool {
	last := g.Messages[len(g.Messages)-1].Content
	return g.JSONSchema == "" && g.Grammar == "" && strings.Contains(last, "q1") && !strings.Contains(last, "answer-q")
}

func (r *rendezvous) Generate(ctx context.Context, g vm.Generation) (string, error) {
	if isBABSFacet(g) {
		r.meet()
	}
	return r.batcher.Generate(ctx, g)
}

func (r *rendezvous) GenerateBatch(ctx context.Context, gs []vm.Generation) ([]string, []vm.Usage, error) {
	r.meet()
	return r.batcher.GenerateBatch(ctx, gs)
}

// With Options.ModelConcurrency above 1, the facet groups under different
// adapters (ROBIN's batch, BABS alone) are asked at the same time, and the
// batch's steps still sit together in the trace.
func TestFacetsBatchedConcurrent(t *testing.T) {
	src := t.TempDir()
	p := filepath.Join(src, "robin.gguf")
	if err := os.WriteFile(p, []byte("robin"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &rendezvous{cond: make(chan struct{})}
	r.Script = facetScript
	e := open(t, r, func(o *vm.Options) {
		o.Adapters = map[string]string{"robin": p}
		o.ModelConcurrency = 2
	})
	rec := e.learn(t, "genesis_obj", "display_yourself")
	if rec.Status != vm.StatusComplete {
		t.Fatalf("%s: %s", rec.Status, rec.Error)
	}
	if r.most < 2 {
		t.Errorf("at most %d facet calls in flight, want the two groups at once", r.most)
	}
	var order []string
	for _, s := range rec.Steps {
		if s.State == vm.StateDelegating {
			order = append(order, fmt.Sprintf("%s/%d:%s", s.Persona, s.Batch, s.Output))
		}
	}
	batch := []string{"ROBIN/2:answer-q0 from ROBIN", "ROBIN/2:answer-q2 from ROBIN"}
	babs := "BABS/0:answer-q1 from BABS"
	if !slices.Equal(order, append(slices.Clone(batch), babs)) && !slices.Equal(order, append([]string{babs}, batch...)) {
		t.Errorf("facet steps %q: want ROBIN's batch together, and BABS", order)
	}
	found := 0
	for _, g := range rec.Batches() {
		if len(g) == 2 && g[0].Persona == "ROBIN" && g[1].Persona == "ROBIN" {
			found++
		}
	}
	if found != 1 {
		t.Errorf("CycleRecord.Batches found ROBIN's batch %d times, want once", found)
	}
}
