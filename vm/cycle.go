package vm

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/plan"
)

// cycleRun is the in-memory side of one cognitive cycle: its trace and what
// its states have produced so far in the current attempt.
type cycleRun struct {
	v *VM
	m *mission

	mu        sync.Mutex
	rec       *CycleRecord
	baseLines int               // trace lines before the first attempt
	memo      map[string]string // model outputs, replayed when a conflict reruns the cycle

	// Per attempt; touched only by the goroutine running the transaction
	// (facet goroutines report through mu).
	state    string
	mv       *missionView // the mission as the prompts describe it
	tok      TokenCounter // counts the prompts' tokens; set per attempt
	plan     plan.Plan
	partials []facetAnswer
	artifact string
	kind     string          // artifactMethod or artifactText
	attempts []MethodAttempt // ALFRED's, when the method passed
	failure  error
	step     int
}

type facetAnswer struct {
	plan.Facet
	Response string
}

const (
	artifactMethod = "new_method"
	artifactText   = "text_response"
)

func newCycleRun(v *VM, m *mission, rec *CycleRecord) *cycleRun {
	return &cycleRun{v: v, m: m, rec: rec, memo: make(map[string]string)}
}

func (r *cycleRun) snapshot() *CycleRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec.clone()
}

// addLine logs an operator trace line and appends it to the cycle's trace.
func (r *cycleRun) addLine(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.v.line(msg, cycleAttr(r.m.id))
	r.mu.Lock()
	if len(r.rec.Lines) < maxTraceLines {
		r.rec.Lines = append(r.rec.Lines, msg)
	}
	r.mu.Unlock()
	r.v.event(CycleEvent{Kind: EventLine, Cycle: r.m.id, Line: msg})
}

const maxTraceLines = 512

func (r *cycleRun) enterState(name string) {
	now := r.v.opts.Now()
	r.mu.Lock()
	if n := len(r.rec.States); n > 0 && r.rec.States[n-1].Duration == 0 {
		r.rec.States[n-1].Duration = now.Sub(r.rec.States[n-1].Start)
	}
	if name != "" {
		r.rec.States = append(r.rec.States, StateTiming{Name: name, Start: now})
	}
	r.mu.Unlock()
	r.state = name
	if name != "" {
		r.v.event(CycleEvent{Kind: EventState, Cycle: r.m.id, State: name})
	}
}

// beginAttempt resets the per-attempt state; a conflict reruns the whole
// cycle, replaying memoized model outputs.
func (r *cycleRun) beginAttempt() {
	r.mu.Lock()
	r.rec.Attempts++
	attempt := r.rec.Attempts
	r.rec.Lines = r.rec.Lines[:r.baseLines]
	r.rec.States = nil
	r.rec.Steps = nil
	r.rec.Findings = nil
	r.rec.Result = ""
	r.rec.Methods = nil
	r.tok = r.v.counter()
	r.rec.ContextSize = r.tok.ContextSize()
	r.mu.Unlock()
	r.plan, r.partials, r.artifact, r.kind, r.failure, r.step, r.mv, r.attempts = plan.Plan{}, nil, "", "", nil, 0, nil, nil
	if attempt > 1 {
		r.addLine("[Orchestrator] Commit conflict; re-running cycle %d (attempt %d).", r.m.id, attempt)
	}
	r.enterState(StateIdle)
}

// runCycle runs one mission's cognitive cycle to its end and records it.
func (v *VM) runCycle(m *mission) {
	r := m.run
	mtype := r.snapshot().Mission
	r.mu.Lock()
	r.rec.Status = StatusRunning
	r.rec.Started = v.opts.Now()
	r.mu.Unlock()
	r.addLine("[Orchestrator] Initiating new cognitive cycle for mission: %s", mtype)
	r.mu.Lock()
	r.baseLines = len(r.rec.Lines)
	r.mu.Unlock()
	v.writeRecord(v.runCtx, r.snapshot())
	v.event(CycleEvent{Kind: EventState, Cycle: m.id, Target: m.target, Status: StatusRunning})

	ctx, cancel := context.WithTimeout(v.runCtx, v.opts.CycleTimeout)
	defer cancel()
	err := v.store.Update(ctx, func(tx *object.Tx) error {
		r.beginAttempt()
		return r.drive(ctx, tx)
	})
	r.enterState("")

	r.mu.Lock()
	rec := r.rec
	rec.Ended = v.opts.Now()
	switch {
	case r.failure == nil && err == nil:
		rec.Status = StatusComplete
		v.cyclesDone.Add(1)
	case v.runCtx.Err() != nil:
		rec.Status = StatusAborted
		rec.Error = "aborted by shutdown: " + errString(firstErr(r.failure, err))
		v.cyclesAbrt.Add(1)
	default:
		rec.Status = StatusFailed
		rec.Error = errString(firstErr(r.failure, err))
		v.cyclesFail.Add(1)
	}
	final := rec.clone()
	r.mu.Unlock()
	if final.Status != StatusComplete && r.failure == nil {
		// The transaction failed outside the state machine (a conflict
		// after the store's retries, a commit error, a timeout before
		// commit): the trace still ends with FAILED.
		r.addLine("Cycle %d has failed. Aborting transaction (FAILED).", m.id)
		final = r.snapshot()
	}
	v.writeRecord(context.Background(), final)
	v.ended(final)
	if v.finished.Add(1)%64 == 0 {
		if _, err := v.PruneCycles(v.runCtx); err != nil && v.runCtx.Err() == nil {
			v.log.Warn("[UVM] pruning the cycle log failed", "err", err)
		}
	}
	v.finishMission(m)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil && !errors.Is(e, object.ErrDoomed) {
			return e
		}
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// drive runs the Prototypal State Machine: it looks up the behaviour of the
// state the cycle's synthesis_state* slot points at, runs it, and follows
// the transition it returns until a state returns no successor.
func (r *cycleRun) drive(ctx context.Context, tx *object.Tx) error {
	for range 64 {
		next, err := r.runState(ctx, tx)
		if err != nil {
			if r.state == StateFailed {
				return err
			}
			r.failure = err
			r.addLine("[Orchestrator] ERROR in %s: %v", r.state, err)
			if err := r.transition(tx, StateFailed); err != nil {
				return err
			}
			continue
		}
		if next == "" {
			return nil
		}
		if err := r.transition(tx, next); err != nil {
			return err
		}
	}
	return errors.New("vm: the state machine did not terminate")
}

// runState runs the behaviour of the cycle's current state and returns
// the next state's name ("" at the end): a builtin state behaviour gets
// the run explicitly; any other behaviour (a primitive registered by the
// host, a Starlark method) is invoked with the cycle as self, as the
// blueprint sends it, and answers the next state's name as a string
// (anything else ends the cycle).
func (r *cycleRun) runState(ctx context.Context, tx *object.Tx) (string, error) {
	val, holder, err := r.behaviour(tx)
	if err != nil {
		return "", err
	}
	if fn, ok := r.v.stateBuiltin(val); ok {
		return fn(ctx, r, tx)
	}
	next, err := r.v.invoke(ctx, tx, r.m.id, holder, stateBehaviour, val, nil, nil)
	if err != nil {
		return "", err
	}
	name, _ := next.(object.String) // anything else ends the cycle
	return string(name), nil
}

// behaviour finds the process_synthesis slot of the state the cycle's
// synthesis_state* slot points at (as the blueprint sends
// cycle.synthesis_state*._process_synthesis_(cycle)): looked up on the
// state, so nothing on the cycle's other parents can shadow it.
func (r *cycleRun) behaviour(tx *object.Tx) (object.Value, object.OID, error) {
	o, err := tx.Get(r.m.id)
	if err != nil {
		return nil, 0, err
	}
	ref, ok := o.Slots["synthesis_state*"].(object.Ref)
	if !ok {
		return nil, 0, fmt.Errorf("vm: cycle %d has no synthesis_state*", r.m.id)
	}
	return tx.Lookup(object.OID(ref), stateBehaviour)
}

// transition points the cycle's synthesis_state* slot at another state
// prototype.
func (r *cycleRun) transition(tx *object.Tx, name string) error {
	st, err := r.v.stateOID(tx, name)
	if err != nil {
		return err
	}
	r.addLine("Transitioning OID %d to state: %s", r.m.id, name)
	o, err := tx.Get(r.m.id)
	if err != nil {
		return err
	}
	o.Set("synthesis_state*", object.Ref(st))
	if err := tx.Put(o); err != nil {
		return err
	}
	r.enterState(name)
	return nil
}

// setSlots writes slots of the cycle object.
func (r *cycleRun) setSlots(tx *object.Tx, slots map[string]object.Value) error {
	o, err := tx.Get(r.m.id)
	if err != nil {
		return err
	}
	for k, val := range slots {
		o.Set(k, val)
	}
	return tx.Put(o)
}

// count is the token count of the cycle's model.
func (r *cycleRun) count(s string) int { return r.tok.CountTokens(s) }
