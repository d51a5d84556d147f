package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/batos/batos/object"
)

// Cycle statuses in the cycle log.
const (
	StatusQueued   = "queued"
	StatusRunning  = "running"
	StatusComplete = "complete"
	StatusFailed   = "failed"
	StatusAborted  = "aborted" // shutdown, or the process ended mid-cycle
)

// Mission types.
const (
	MissionUnhandledMessage = "unhandled_message" // doesNotUnderstand: learn a method
	MissionQuery            = "query"             // answer the brief's "text" in prose
	MissionSelfAudit        = "self_audit"        // the autotelic heartbeat's audit
	// MissionAcquireCapability writes a proxy: a method (the brief's
	// "selector", with "args" and "kwargs" for its trial run) that wraps
	// a capability the target holds (the brief's "capability", a slot
	// name; all it holds when absent) for the brief's "purpose",
	// installed on the target or, with "install_as", on a new object of
	// that root name that delegates to the target. doesNotUnderstand
	// starts one (with "proxy": false: an ordinary method will do too)
	// for an object that holds capabilities.
	MissionAcquireCapability = "acquire_capability"
)

// CycleRecord is one cognitive cycle's entry in the cycle log. The log is
// written in transactions of its own, so it records cycles that failed
// (whose own transaction rolled back) as well as those that completed.
type CycleRecord struct {
	ID       object.OID    `json:"id"`       // the CognitiveCycle object
	Target   object.OID    `json:"target"`   // the object the mission is about
	Mission  string        `json:"mission"`  // mission type
	Selector string        `json:"selector"` // for unhandled_message
	Brief    string        `json:"brief"`    // the brief, formatted
	Status   string        `json:"status"`
	Outcome  string        `json:"outcome,omitempty"` // "method installed", "method already present", "text response"
	Error    string        `json:"error,omitempty"`   // the failure reason
	Attempts int           `json:"attempts"`          // runs of the cycle's transaction (conflicts rerun it)
	Queued   time.Time     `json:"queued"`
	Started  time.Time     `json:"started,omitzero"`
	Ended    time.Time     `json:"ended,omitzero"`
	States   []StateTiming `json:"states,omitempty"`
	Lines    []string      `json:"lines,omitempty"` // the operator trace
	Steps    []Step        `json:"steps,omitempty"` // model calls
	Findings []string      `json:"findings,omitempty"`
	Result   string        `json:"result,omitempty"` // the method source or the text response (bounded)
	// Methods are ALFRED's attempts, in order, with their verdicts.
	Methods []MethodAttempt `json:"methods,omitempty"`
	// Capabilities are the capability calls of the cycle's trial runs.
	Capabilities []CapabilityRecord `json:"capabilities,omitempty"`
	// ContextSize is the model's context window the prompts were
	// budgeted for, in tokens.
	ContextSize int `json:"context_size,omitempty"`
	// OutputTokens and DecodeTime sum the model calls that were made
	// (replayed ones left out; a call's Decode, or its Duration when the
	// model did not measure one). Cycles sets them from the steps it
	// leaves out; DecodeTotals returns them for a full record.
	OutputTokens int           `json:"output_tokens,omitempty"`
	DecodeTime   time.Duration `json:"decode_time,omitempty"`
}

// StateTiming is the time a cycle spent in one state.
type StateTiming struct {
	Name     string        `json:"name"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration"`
}

// Step is one model call of a cycle; prompt and output are bounded by
// Options.TraceLimit.
type Step struct {
	State    string        `json:"state"`
	Persona  string        `json:"persona"`
	Adapter  string        `json:"adapter,omitempty"`
	Prompt   string        `json:"prompt"`
	Output   string        `json:"output"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
	// PromptTokens is the prompt's length in the model's tokens; Window
	// is what the budget allowed it (the context minus MaxTokens);
	// MaxTokens is the output bound.
	PromptTokens int `json:"prompt_tokens,omitempty"`
	Window       int `json:"window,omitempty"`
	MaxTokens    int `json:"max_tokens,omitempty"`
	// OutputTokens is the output's length in tokens: the model's count
	// when it is a UsageReporter, else counted again by the TokenCounter
	// (an estimate for a model without one).
	OutputTokens int `json:"output_tokens,omitempty"`
	// Prefill and Decode split Duration as a UsageReporter measured it
	// (zero otherwise): OutputTokens over Decode is the decode speed.
	Prefill time.Duration `json:"prefill,omitempty"`
	Decode  time.Duration `json:"decode,omitempty"`
	// Sample is the part of Decode spent choosing tokens; ForcedTokens
	// the output tokens a grammar forced (Usage).
	Sample       time.Duration `json:"sample,omitempty"`
	ForcedTokens int           `json:"forced_tokens,omitempty"`
	// Batch is how many calls were decoded together with this one among
	// them (a BatchGenerator's batch; 0: alone). Their Durations overlap.
	Batch int `json:"batch,omitempty"`
	// Replayed marks an output replayed from the cycle's first attempt
	// after a commit conflict (no model call was made).
	Replayed bool `json:"replayed,omitempty"`
	// Budget is the time spent assembling the prompt within its window.
	Budget time.Duration `json:"budget,omitempty"`
}

// DecodeTotals sums the output tokens and decode time of the model calls the
// cycle made (replayed calls left out): over each other, its decode speed.
// The calls of one batch decoded at the same time: their longest decode
// counts once (Batches).
func (r *CycleRecord) DecodeTotals() (tokens int, took time.Duration) {
	for _, group := range r.Batches() {
		var longest time.Duration
		for _, s := range group {
			if s.Replayed {
				continue
			}
			tokens += s.OutputTokens
			d := s.Decode
			if d <= 0 {
				d = s.Duration
			}
			longest = max(longest, d)
		}
		took += longest
	}
	return tokens, took
}

// Batches splits the cycle's steps into the model calls made at once: the
// steps of one batch (consecutive, of the same Batch size and Duration)
// in one group, every other step alone, in order.
func (r *CycleRecord) Batches() [][]Step {
	var groups [][]Step
	for i := 0; i < len(r.Steps); {
		j := i + 1
		for s := r.Steps[i]; s.Batch > 1 && j < len(r.Steps) && j-i < s.Batch &&
			r.Steps[j].Batch == s.Batch && r.Steps[j].Duration == s.Duration; j++ {
		}
		groups = append(groups, r.Steps[i:j])
		i = j
	}
	return groups
}

// Done reports whether the cycle has ended.
func (r *CycleRecord) Done() bool {
	return r.Status == StatusComplete || r.Status == StatusFailed || r.Status == StatusAborted
}

func (r *CycleRecord) clone() *CycleRecord {
	c := *r
	c.States = slices.Clone(r.States)
	c.Lines = slices.Clone(r.Lines)
	c.Steps = slices.Clone(r.Steps)
	c.Findings = slices.Clone(r.Findings)
	c.Methods = slices.Clone(r.Methods)
	return &c
}

const cycleLogPrefix = "vm/cyclelog/"

func cycleLogKey(id object.OID) []byte {
	return fmt.Appendf(nil, "%s%016x", cycleLogPrefix, uint64(id))
}

func putRecord(tx *object.Tx, rec *CycleRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return tx.SetKV(cycleLogKey(rec.ID), b)
}

// writeRecord commits rec to the cycle log and stamps the cycle object
// with its status (a separate transaction from the cycle's own). It is
// not canceled by ctx: a failure must be recorded even during shutdown.
func (v *VM) writeRecord(ctx context.Context, rec *CycleRecord) error {
	ctx = context.WithoutCancel(ctx)
	err := v.store.Update(ctx, func(tx *object.Tx) error {
		if err := putRecord(tx, rec); err != nil {
			return err
		}
		o, err := tx.Get(rec.ID)
		if errors.Is(err, object.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if s, _ := o.Slots["status"].(object.String); string(s) == rec.Status {
			return nil
		}
		o.Set("status", object.String(rec.Status))
		if rec.Status == StatusFailed || rec.Status == StatusAborted {
			if failed, err := v.stateOID(tx, StateFailed); err == nil {
				o.Set("synthesis_state*", object.Ref(failed))
			}
			o.Set("failure_reason", object.String(rec.Error))
		}
		return tx.Put(o)
	})
	if err != nil {
		v.log.Error("vm: cycle log write failed", "cycle", uint64(rec.ID), "err", err)
	}
	return err
}

// writeProgress commits a running cycle's trace so far to the cycle log
// (the log key only), so that a crash in the middle of a long model call
// leaves the trace up to that call. Errors are logged, not returned.
func (v *VM) writeProgress(ctx context.Context, rec *CycleRecord) {
	err := v.store.Update(context.WithoutCancel(ctx), func(tx *object.Tx) error {
		return putRecord(tx, rec)
	})
	if err != nil {
		v.log.Warn("vm: cycle log progress write failed", "cycle", uint64(rec.ID), "err", err)
	}
}

func (v *VM) readRecord(ctx context.Context, id object.OID) (*CycleRecord, error) {
	var rec *CycleRecord
	err := v.store.View(ctx, func(tx *object.Tx) error {
		b, err := tx.GetKV(cycleLogKey(id))
		if errors.Is(err, object.ErrNotFound) {
			return fmt.Errorf("%w: %d", ErrNoCycle, id)
		}
		if err != nil {
			return err
		}
		rec = new(CycleRecord)
		return json.Unmarshal(b, rec)
	})
	return rec, err
}

// recoverCycleLog settles cycles left queued or running by an earlier
// process: aborted when their transaction never committed, complete when
// it did and only the final log write was lost.
func (v *VM) recoverCycleLog(ctx context.Context) error {
	var stale []*CycleRecord
	err := v.store.View(ctx, func(tx *object.Tx) error {
		return tx.ScanKV([]byte(cycleLogPrefix), func(k, b []byte) error {
			var rec CycleRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				return fmt.Errorf("vm: cycle log %s: %w", k, err)
			}
			if !rec.Done() {
				stale = append(stale, &rec)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, rec := range stale {
		// The cycle's own transaction may have committed just before the
		// crash, with only its final log write lost: the cycle object,
		// written in that transaction, knows.
		committed := false
		if err := v.store.View(ctx, func(tx *object.Tx) error {
			o, err := tx.Get(rec.ID)
			if err == nil {
				s, _ := o.Slots["status"].(object.String)
				committed = string(s) == StatusComplete
			} else if !errors.Is(err, object.ErrNotFound) {
				return err
			}
			return nil
		}); err != nil {
			return err
		}
		var line string
		if committed {
			rec.Status = StatusComplete
			rec.Outcome = "committed; the process ended before the cycle log was finished"
			line = fmt.Sprintf("[UVM] Cycle %d had committed before a restart; its trace ends early.", rec.ID)
		} else {
			rec.Status = StatusAborted
			rec.Error = "the process ended before the cycle finished; its transaction rolled back"
			line = fmt.Sprintf("[UVM] Cycle %d was interrupted by a restart; marked aborted.", rec.ID)
		}
		rec.Ended = v.opts.Now()
		rec.Lines = append(rec.Lines, line)
		v.line(line)
		if err := v.writeRecord(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

// Cycle returns the full trace of cycle id: from memory while it is queued
// or running, from the cycle log after.
func (v *VM) Cycle(ctx context.Context, id object.OID) (*CycleRecord, error) {
	v.mu.Lock()
	run, ok := v.live[id]
	v.mu.Unlock()
	if ok {
		return run.snapshot(), nil
	}
	return v.readRecord(ctx, id)
}

// Cycles returns up to limit cycle records, newest first, without their
// lines, steps and result (use Cycle for the trace). limit <= 0 means 100.
func (v *VM) Cycles(ctx context.Context, limit int) ([]CycleRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []CycleRecord
	err := v.store.View(ctx, func(tx *object.Tx) error {
		// Keys are cycle OIDs, which grow: newest first, stop at limit.
		err := tx.ScanKVReverse([]byte(cycleLogPrefix), func(k, b []byte) error {
			if len(out) == limit {
				return errEnough
			}
			var rec CycleRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				return err
			}
			rec.OutputTokens, rec.DecodeTime = rec.DecodeTotals()
			rec.Lines, rec.Steps, rec.Result = nil, nil, ""
			out = append(out, rec)
			return nil
		})
		if errors.Is(err, errEnough) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	for i := range out {
		if run, ok := v.live[out[i].ID]; ok {
			s := run.snapshot()
			out[i].Status, out[i].States = s.Status, s.States
		}
	}
	v.mu.Unlock()
	return out, nil
}

// errEnough stops a scan that has what it needs.
var errEnough = errors.New("vm: enough")

// WaitCycle waits until cycle id ends (or ctx is done) and returns its
// record.
func (v *VM) WaitCycle(ctx context.Context, id object.OID) (*CycleRecord, error) {
	v.mu.Lock()
	ch, ok := v.done[id]
	v.mu.Unlock()
	if ok {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return v.readRecord(ctx, id)
}

// cycleStats summarizes the cycle log for the self-audit mission.
func (v *VM) cycleStats(ctx context.Context) string {
	recs, err := v.Cycles(ctx, 1000)
	if err != nil {
		return "cycle log unavailable: " + err.Error()
	}
	counts := map[string]int{}
	var total time.Duration
	var ended int
	for _, r := range recs {
		counts[r.Status]++
		if !r.Ended.IsZero() && !r.Started.IsZero() {
			total += r.Ended.Sub(r.Started)
			ended++
		}
	}
	avg := time.Duration(0)
	if ended > 0 {
		avg = total / time.Duration(ended)
	}
	return "cycles: " + strconv.Itoa(len(recs)) +
		", complete: " + strconv.Itoa(counts[StatusComplete]) +
		", failed: " + strconv.Itoa(counts[StatusFailed]) +
		", aborted: " + strconv.Itoa(counts[StatusAborted]) +
		", mean duration: " + avg.Round(time.Millisecond).String()
}

// maxPrune bounds the records one PruneCycles deletes (one transaction);
// the next pass deletes more.
const maxPrune = 10000

// PruneCycles deletes the cycle log records that Options.KeepCycles and
// Options.KeepCyclesFor no longer keep, oldest first, and returns how many
// it deleted. Records of cycles still queued or running are kept.
func (v *VM) PruneCycles(ctx context.Context) (int, error) {
	keep, age := v.opts.KeepCycles, v.opts.KeepCyclesFor
	if keep <= 0 && age <= 0 {
		return 0, nil
	}
	cutoff := v.opts.Now().Add(-age)
	deleted := 0
	err := v.store.Update(ctx, func(tx *object.Tx) error {
		var doomed [][]byte
		seen := 0
		err := tx.ScanKVReverse([]byte(cycleLogPrefix), func(k, b []byte) error {
			seen++
			old := keep > 0 && seen > keep
			if !old && age > 0 {
				var rec struct {
					Status string
					Ended  time.Time
				}
				if err := json.Unmarshal(b, &rec); err != nil {
					return err
				}
				old = !rec.Ended.IsZero() && rec.Ended.Before(cutoff)
			}
			if old {
				doomed = append(doomed, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		v.mu.Lock()
		live := maps.Clone(v.live)
		v.mu.Unlock()
		n := 0
		for i := len(doomed) - 1; i >= 0 && n < maxPrune; i-- { // oldest first
			var id uint64
			if _, err := fmt.Sscanf(string(doomed[i][len(cycleLogPrefix):]), "%016x", &id); err == nil {
				if _, running := live[object.OID(id)]; running {
					continue
				}
			}
			if err := tx.DeleteKV(doomed[i]); err != nil {
				return err
			}
			n++
		}
		deleted = n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("vm: prune the cycle log: %w", err)
	}
	return deleted, nil
}
