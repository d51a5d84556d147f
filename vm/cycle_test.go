package vm_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

// The blueprint's display_yourself validation protocol (Part IV 4.1): the
// first send is not understood and becomes a cycle that installs an
// audited method; the second send runs it.
func TestDisplayYourself(t *testing.T) {
	e := open(t, nil, func(o *vm.Options) { o.Runner = nil }) // the real sandbox
	ctx := ctxT(t)
	rec := e.learn(t, "genesis_obj", "display_yourself")
	if rec.Status != vm.StatusComplete || rec.Outcome != "method installed" {
		t.Fatalf("cycle ended %s (%s): %s", rec.Status, rec.Outcome, rec.Error)
	}
	golden(t, "display_yourself.golden", render(rec))

	// The operator's log follows the blueprint's trace, in order.
	if err := vmtest.CheckTrace(strings.Join(e.log.all(), "\n"), vmtest.BlueprintTrace); err != nil {
		t.Errorf("%v; log:\n%s", err, strings.Join(e.log.all(), "\n"))
	}

	m, ok := e.slot(t, "genesis_obj", "display_yourself").(*object.Method)
	if !ok {
		t.Fatalf("no method installed")
	}
	if m.Author != "ALFRED" || m.Verdict != "passed" || m.Cycle != rec.ID || m.Version != 1 || !strings.HasPrefix(m.Source, "def display_yourself(self):") {
		t.Errorf("method metadata = %+v", m)
	}

	res, err := e.v.Dispatch(ctx, "genesis_obj", "display_yourself", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mission {
		t.Fatalf("second send started a mission: %+v", res)
	}
	if want := object.String("<UvmObject oid=3 slots=['display_yourself', 'parent*']>"); res.Value != want {
		t.Errorf("display_yourself = %v, want %v", object.Format(res.Value), object.Format(want))
	}
	st := e.v.Status()
	if st.CyclesDone != 1 || st.CyclesFailed != 0 || st.Running != 0 {
		t.Errorf("status = %+v", st)
	}
	if got := e.model.Personas(); !slices.Equal(got, []string{"BRICK", "BABS", "ROBIN", "ALFRED"}) {
		t.Errorf("model asked %v", got)
	}
}

// A cycle that fails leaves the target untouched and records why.
func TestCycleFailures(t *testing.T) {
	tests := []struct {
		name      string
		model     *vmtest.Model
		timeout   time.Duration
		wantErr   string
		wantLine  string
		findings  bool
		wantState string // the state in which it failed
	}{
		{
			name:      "guardian rejects",
			model:     &vmtest.Model{Replies: map[string]string{"ALFRED": "def display_yourself(self):\n    self.shown = True\n    return self.repr()\n"}},
			wantErr:   "failed its audit",
			wantLine:  "[Guardian] AUDIT FAILED",
			findings:  true,
			wantState: vm.StateSynthesizing,
		},
		{
			name:      "wrong selector",
			model:     &vmtest.Model{Replies: map[string]string{"ALFRED": "def something_else(self):\n    return 1\n"}},
			wantErr:   "failed its audit",
			wantLine:  "[Guardian] AUDIT FAILED",
			findings:  true,
			wantState: vm.StateSynthesizing,
		},
		{
			name:      "plan does not parse",
			model:     &vmtest.Model{Replies: map[string]string{"BRICK": "I would rather not."}},
			wantErr:   "plan does not parse",
			wantState: vm.StateDecomposing,
		},
		{
			name:      "model error",
			model:     &vmtest.Model{Errors: map[string]error{"BABS": errors.New("out of memory")}},
			wantErr:   "out of memory",
			wantState: vm.StateDelegating,
		},
		{
			name:      "model timeout",
			model:     &vmtest.Model{Block: "ALFRED"},
			timeout:   300 * time.Millisecond,
			wantErr:   "deadline exceeded",
			wantState: vm.StateSynthesizing,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := open(t, tc.model, func(o *vm.Options) {
				if tc.timeout > 0 {
					o.CycleTimeout = tc.timeout
				}
			})
			before := e.slot(t, "genesis_obj", "parent*")
			rec := e.learn(t, "genesis_obj", "display_yourself")
			if rec.Status != vm.StatusFailed {
				t.Fatalf("status = %s, want failed", rec.Status)
			}
			if !strings.Contains(rec.Error, tc.wantErr) {
				t.Errorf("error = %q, want %q", rec.Error, tc.wantErr)
			}
			if tc.findings != (len(rec.Findings) > 0) {
				t.Errorf("findings = %q", rec.Findings)
			}
			var states []string
			for _, s := range rec.States {
				states = append(states, s.Name)
			}
			if n := len(states); n < 2 || states[n-1] != vm.StateFailed || states[n-2] != tc.wantState {
				t.Errorf("states = %v, want ... %s FAILED", states, tc.wantState)
			}
			last := rec.Lines[len(rec.Lines)-1]
			if !strings.HasSuffix(last, "has failed. Aborting transaction (FAILED).") {
				t.Errorf("last line = %q", last)
			}
			if tc.wantLine != "" && !slices.ContainsFunc(rec.Lines, func(l string) bool { return strings.HasPrefix(l, tc.wantLine) }) {
				t.Errorf("trace lacks %q", tc.wantLine)
			}
			// Nothing the cycle did reached the image.
			if v := e.slot(t, "genesis_obj", "display_yourself"); v != nil {
				t.Errorf("target gained display_yourself = %v", v)
			}
			if !object.Equal(before, e.slot(t, "genesis_obj", "parent*")) {
				t.Errorf("target changed")
			}
			cyc := fmt.Sprint(rec.ID)
			if s := e.slot(t, cyc, "status"); s != object.String(vm.StatusFailed) {
				t.Errorf("cycle object status = %v", s)
			}
			if p := e.slot(t, cyc, "plan"); p != nil {
				t.Errorf("cycle object kept the rolled-back plan %v", p)
			}
			if st := e.v.Status(); st.CyclesFailed != 1 || st.CyclesDone != 0 {
				t.Errorf("status = %+v", st)
			}
			// The next send is not understood again: a fresh mission.
			res, err := e.v.Dispatch(ctxT(t), "genesis_obj", "display_yourself", nil, nil)
			if err != nil || !res.Mission || res.Cycle == rec.ID {
				t.Errorf("resend = %+v, %v; want a new mission", res, err)
			}
		})
	}
}

// Concurrent misses of one selector share a cycle and produce one method;
// misses of different selectors on one object conflict at commit and are
// retried.
func TestConcurrentMisses(t *testing.T) {
	e := open(t, nil, func(o *vm.Options) { o.Workers = 3; o.ModelConcurrency = 3 })
	ctx := ctxT(t)
	selectors := []string{"display_yourself", "describe", "summarize"}
	const perSelector = 6
	ids := make([][]object.OID, len(selectors))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for si, sel := range selectors {
		for range perSelector {
			wg.Go(func() {
				res, err := e.v.Dispatch(ctx, "genesis_obj", sel, nil, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if !res.Mission {
					return // the method was learnt already
				}
				mu.Lock()
				ids[si] = append(ids[si], res.Cycle)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	seen := map[object.OID]bool{}
	for si, sel := range selectors {
		// A miss that arrives after the first cycle finished may start a
		// second one; it must then keep the installed method.
		for _, id := range ids[si] {
			if seen[id] {
				continue
			}
			seen[id] = true
			rec, err := e.v.WaitCycle(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Status != vm.StatusComplete {
				t.Errorf("%s cycle %d: %s %s", sel, id, rec.Status, rec.Error)
			}
		}
		m, ok := e.slot(t, "genesis_obj", sel).(*object.Method)
		if !ok || m.Version != 1 {
			t.Errorf("%s: method = %v", sel, e.slot(t, "genesis_obj", sel))
		}
	}
	if len(seen) < len(selectors) {
		t.Errorf("%d cycles for %d selectors", len(seen), len(selectors))
	}
	var installed int
	recs, err := e.v.Cycles(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Outcome == "method installed" {
			installed++
		}
	}
	if installed != len(selectors) {
		t.Errorf("%d methods installed, want %d", installed, len(selectors))
	}
}

func TestQueueFullAndClose(t *testing.T) {
	store := objecttest.OpenDir(t, object.Options{})
	ctx := ctxT(t)
	v, err := vm.Open(ctx, store, vm.Options{Model: &vmtest.Model{}, QueueSize: 2, Logger: slogDiscard()})
	if err != nil {
		t.Fatal(err)
	}
	var ids []object.OID
	for i := range 2 {
		id, err := v.StartCycle(ctx, "genesis_obj", map[string]object.Value{"text": object.String(fmt.Sprint("question ", i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := v.StartCycle(ctx, "genesis_obj", nil); !errors.Is(err, vm.ErrQueueFull) {
		t.Fatalf("third StartCycle: %v, want ErrQueueFull", err)
	}
	if _, err := v.Dispatch(ctx, "genesis_obj", "fly", nil, nil); !errors.Is(err, vm.ErrQueueFull) {
		t.Fatalf("miss on a full queue: %v, want ErrQueueFull", err)
	}
	if err := v.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		rec, err := v.WaitCycle(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != vm.StatusAborted {
			t.Errorf("queued cycle %d after Close: %s", id, rec.Status)
		}
	}
	if _, err := v.StartCycle(ctx, "genesis_obj", nil); !errors.Is(err, vm.ErrClosed) {
		t.Errorf("StartCycle after Close: %v", err)
	}
}

// Close waits for in-flight cycles until its deadline, then aborts them:
// their transactions roll back.
func TestCloseAbortsInFlight(t *testing.T) {
	model := &vmtest.Model{Block: "ALFRED", Blocked: make(chan struct{})}
	e := open(t, model, nil)
	ctx := ctxT(t)
	res, err := e.v.Dispatch(ctx, "genesis_obj", "display_yourself", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-model.Blocked
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := e.v.Close(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the deadline", err)
	}
	rec, err := e.v.WaitCycle(ctx, res.Cycle)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != vm.StatusAborted {
		t.Errorf("status = %s (%s), want aborted", rec.Status, rec.Error)
	}
	if v := e.slot(t, "genesis_obj", "display_yourself"); v != nil {
		t.Errorf("aborted cycle installed %v", v)
	}
}

// A mission that is not a missing method ends in ROBIN's woven text.
func TestQueryAndSelfAudit(t *testing.T) {
	e := open(t, nil, nil)
	ctx := ctxT(t)
	id, err := e.v.StartCycle(ctx, "genesis_obj", map[string]object.Value{"type": object.String(vm.MissionQuery), "text": object.String("What are you?")})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := e.v.WaitCycle(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != vm.StatusComplete || rec.Outcome != "text response" || !strings.Contains(rec.Result, "ROBIN") {
		t.Fatalf("query cycle: %s %q %q %s", rec.Status, rec.Outcome, rec.Result, rec.Error)
	}
	if got := e.slot(t, fmt.Sprint(id), "final_artifact"); got != object.String(rec.Result) {
		t.Errorf("cycle object final_artifact = %v", got)
	}
	id2, err := e.v.Pulse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec2, err := e.v.WaitCycle(ctx, id2)
	if err != nil {
		t.Fatal(err)
	}
	if rec2.Status != vm.StatusComplete || rec2.Mission != vm.MissionSelfAudit || !strings.Contains(rec2.Steps[0].Prompt, "complete: 1") {
		t.Errorf("self audit: %s %s; first prompt %q", rec2.Status, rec2.Mission, rec2.Steps[0].Prompt)
	}
	list, err := e.v.Cycles(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != id2 || list[1].ID != id || list[0].Lines != nil {
		t.Errorf("Cycles = %+v", list)
	}
}

// The way the system thinks is made of its objects: replacing a state's
// behaviour slot changes the cycle.
func TestStateBehaviourIsASlot(t *testing.T) {
	e := open(t, nil, nil)
	ctx := ctxT(t)
	e.v.RegisterPrimitive("test.skip_delegation", func(ctx context.Context, c *vm.Call) (object.Value, error) {
		return object.String(vm.StateSynthesizing), nil
	})
	ins, err := e.v.Inspect(ctx, "psm_prototypes_obj")
	if err != nil {
		t.Fatal(err)
	}
	var delegating object.OID
	for _, s := range ins.Slots {
		if s.Name == vm.StateDelegating {
			delegating = object.OID(s.Value.(object.Ref))
		}
	}
	if err := e.v.SetSlot(ctx, fmt.Sprint(delegating), "process_synthesis", object.Primitive("test.skip_delegation")); err != nil {
		t.Fatal(err)
	}
	rec := e.learn(t, "genesis_obj", "display_yourself")
	if rec.Status != vm.StatusComplete {
		t.Fatalf("%s: %s", rec.Status, rec.Error)
	}
	if got := e.model.Personas(); !slices.Equal(got, []string{"BRICK", "ALFRED"}) {
		t.Errorf("with delegation skipped the model was asked %v", got)
	}
}

// The autotelic heartbeat, when asked for, starts self-audit missions on
// its own.
func TestHeartbeat(t *testing.T) {
	e := open(t, nil, func(o *vm.Options) { o.Heartbeat = 10 * time.Millisecond; o.QueueSize = 2 })
	ctx := ctxT(t)
	for {
		recs, err := e.v.Cycles(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(recs, func(r vm.CycleRecord) bool { return r.Status == vm.StatusComplete }); i >= 0 {
			if recs[i].Mission != vm.MissionSelfAudit {
				t.Fatalf("heartbeat cycle is a %s mission", recs[i].Mission)
			}
			orch, _ := e.v.Inspect(ctx, "orchestrator_obj")
			if recs[i].Target != orch.OID {
				t.Errorf("audit target %d, want the orchestrator %d", recs[i].Target, orch.OID)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("no self-audit cycle completed")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

type fakeRetriever struct{ queries []string }

func (f *fakeRetriever) Retrieve(ctx context.Context, tx *object.Tx, query string, limit int) ([]string, error) {
	f.queries = append(f.queries, query)
	return []string{"The Persistence Covenant demands self._p_changed = True."}, nil
}

func TestRetrieverFeedsPrompts(t *testing.T) {
	ret := &fakeRetriever{}
	e := open(t, nil, func(o *vm.Options) { o.Retriever = ret })
	rec := e.learn(t, "genesis_obj", "display_yourself")
	if rec.Status != vm.StatusComplete {
		t.Fatal(rec.Error)
	}
	if len(ret.queries) == 0 || ret.queries[0] != "display_yourself" {
		t.Errorf("queries = %q", ret.queries)
	}
	if !strings.Contains(rec.Steps[0].Prompt, "Relevant knowledge from the catalog:\n- The Persistence Covenant") {
		t.Errorf("BRICK's prompt lacks the passage:\n%s", rec.Steps[0].Prompt)
	}
}

// A commit that conflicts with a concurrent write reruns the cycle,
// replaying the model's answers instead of asking again; when the store
// allows no retry, the cycle fails cleanly.
func TestConflict(t *testing.T) {
	for _, retries := range []int{16, 0} {
		t.Run(fmt.Sprint("retries=", retries), func(t *testing.T) {
			var e *env
			var once sync.Once
			model := &vmtest.Model{Script: func(g vm.Generation) (string, error) {
				if g.Persona == "ALFRED" {
					once.Do(func() {
						// Another transaction changes the target the cycle has read.
						if err := e.v.SetSlot(context.Background(), "genesis_obj", "mood", object.String("busy")); err != nil {
							t.Error(err)
						}
					})
				}
				return "", nil
			}}
			e = openWith(t, model, object.Options{NoSync: true, Retries: retries}, nil)
			rec := e.learn(t, "genesis_obj", "display_yourself")
			if e.slot(t, "genesis_obj", "mood") != object.String("busy") {
				t.Error("the concurrent write is missing")
			}
			if retries == 0 {
				if rec.Status != vm.StatusFailed || !strings.Contains(rec.Error, "conflict") || rec.Attempts != 1 {
					t.Errorf("status %s attempts %d error %q", rec.Status, rec.Attempts, rec.Error)
				}
				if !strings.HasSuffix(rec.Lines[len(rec.Lines)-1], "has failed. Aborting transaction (FAILED).") {
					t.Errorf("last line %q", rec.Lines[len(rec.Lines)-1])
				}
				if e.slot(t, "genesis_obj", "display_yourself") != nil {
					t.Error("a failed commit installed the method")
				}
				return
			}
			if rec.Status != vm.StatusComplete || rec.Attempts != 2 {
				t.Fatalf("status %s attempts %d: %s", rec.Status, rec.Attempts, rec.Error)
			}
			if n := len(model.Calls()); n != 4 {
				t.Errorf("model asked %d times, want 4 (answers replayed on the rerun)", n)
			}
			if !slices.Contains(rec.Lines, fmt.Sprintf("[Orchestrator] Commit conflict; re-running cycle %d (attempt 2).", rec.ID)) {
				t.Errorf("trace lacks the rerun:\n%s", strings.Join(rec.Lines, "\n"))
			}
			if e.slot(t, "genesis_obj", "display_yourself") == nil {
				t.Error("the method is missing")
			}
		})
	}
}

// Close lets an in-flight cycle finish when its deadline allows; Run
// closes when its context ends.
func TestCloseDrainsAndRun(t *testing.T) {
	release := make(chan struct{})
	blocked := make(chan struct{})
	var once sync.Once
	model := &vmtest.Model{Script: func(g vm.Generation) (string, error) {
		if g.Persona == "ALFRED" {
			once.Do(func() { close(blocked) })
			<-release
		}
		return "", nil
	}}
	store := objecttest.OpenDir(t, object.Options{})
	ctx := ctxT(t)
	v, err := vm.Open(ctx, store, vm.Options{Model: model, Runner: &fakeRunner{}, Logger: slogDiscard()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- v.Run(runCtx, 30*time.Second) }()
	var res vm.Result
	for {
		res, err = v.Dispatch(ctx, "genesis_obj", "display_yourself", nil, nil)
		if err == nil {
			break
		}
		if !errors.Is(err, vm.ErrQueueFull) {
			t.Fatal(err)
		}
	}
	<-blocked
	stop() // Run begins closing: the cycle must be allowed to finish
	for {
		if _, err := v.StartCycle(ctx, "genesis_obj", nil); errors.Is(err, vm.ErrClosed) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-ran:
		t.Fatalf("Run returned %v before the in-flight cycle finished", err)
	default:
	}
	close(release)
	if err := <-ran; err != nil {
		t.Fatalf("Run = %v", err)
	}
	rec, err := v.WaitCycle(ctx, res.Cycle)
	if err != nil || rec.Status != vm.StatusComplete {
		t.Fatalf("drained cycle: %+v %v", rec, err)
	}
}
