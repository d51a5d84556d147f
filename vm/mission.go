package vm

import (
	"context"
	"fmt"
	"maps"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
)

// missionKey identifies a doesNotUnderstand mission: one selector on one
// object. While its cycle runs, further misses share it.
type missionKey struct {
	target   object.OID
	selector string
}

// pending is a doesNotUnderstand mission being created or running.
type pending struct {
	id    object.OID
	err   error
	ready chan struct{} // closed when id or err is set
}

// mission is a queued cognitive cycle.
type mission struct {
	id     object.OID
	target object.OID
	brief  object.Map
	key    *missionKey
	run    *cycleRun
}

// StartCycle starts a cognitive cycle about target (a root name or a
// decimal OID) with the given mission brief and returns its id at once.
// The brief's "type" is the mission type (MissionQuery when absent); a
// MissionQuery answers the brief's "text"; a MissionUnhandledMessage
// learns the brief's "selector" (with "args" and "kwargs"); a
// MissionAcquireCapability writes a proxy method around a capability the
// target holds (see MissionAcquireCapability). A full queue
// is ErrQueueFull.
func (v *VM) StartCycle(ctx context.Context, target string, brief map[string]object.Value) (object.OID, error) {
	var oid object.OID
	if err := v.store.View(ctx, func(tx *object.Tx) error {
		var err error
		oid, err = tx.Resolve(target)
		if err != nil {
			return err
		}
		_, err = tx.Get(oid)
		return err
	}); err != nil {
		return 0, fmt.Errorf("vm: start cycle on %s: %w", target, err)
	}
	b := object.Map{}
	maps.Copy(b, object.CloneValue(object.Map(brief)).(object.Map))
	if _, ok := b["type"].(object.String); !ok {
		b["type"] = object.String(MissionQuery)
	}
	var key *missionKey
	if t, _ := b["type"].(object.String); string(t) == MissionUnhandledMessage || string(t) == MissionAcquireCapability {
		sel, _ := b["selector"].(object.String)
		if !guardian.ValidSelector(string(sel)) {
			return 0, fmt.Errorf("%w: %q", ErrBadSelector, sel)
		}
		key = &missionKey{oid, string(sel)}
	}
	return v.startMission(ctx, oid, b, key, nil)
}

// startMission creates the cycle object and its log record in one
// transaction and queues the mission. With a key, a mission already
// running for it is returned instead.
func (v *VM) startMission(ctx context.Context, target object.OID, brief object.Map, key *missionKey, lines []string) (object.OID, error) {
	v.mu.Lock()
	if key != nil {
		if p, ok := v.inflight[*key]; ok {
			v.mu.Unlock()
			select {
			case <-p.ready:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
			return p.id, p.err
		}
	}
	if v.closed {
		v.mu.Unlock()
		return 0, ErrClosed
	}
	if len(v.queue)+v.reserved >= cap(v.queue) {
		v.mu.Unlock()
		return 0, ErrQueueFull
	}
	v.reserved++
	var p *pending
	if key != nil {
		p = &pending{ready: make(chan struct{})}
		v.inflight[*key] = p
	}
	v.mu.Unlock()

	rec := &CycleRecord{
		Target: target,
		Status: StatusQueued,
		Brief:  object.Format(brief),
		Queued: v.opts.Now(),
		Lines:  append([]string(nil), lines...),
	}
	if t, ok := brief["type"].(object.String); ok {
		rec.Mission = string(t)
	}
	if s, ok := brief["selector"].(object.String); ok {
		rec.Selector = string(s)
	}
	err := v.store.Update(ctx, func(tx *object.Tx) error {
		idle, err := v.stateOID(tx, StateIdle)
		if err != nil {
			return err
		}
		o, err := tx.New(map[string]object.Value{
			"parent*":          object.List{object.Ref(v.r.traits)},
			"synthesis_state*": object.Ref(idle),
			"mission_brief":    object.CloneValue(brief),
			"target_oid":       object.Ref(target),
			"status":           object.String(StatusQueued),
		})
		if err != nil {
			return err
		}
		rec.ID = o.OID
		return putRecord(tx, rec)
	})
	if err == nil {
		// Before a worker can take it, so that a live view sees it queued
		// before it runs.
		v.event(CycleEvent{Kind: EventQueued, Cycle: rec.ID, Target: target, Selector: rec.Selector, Status: StatusQueued})
		for _, l := range lines {
			v.event(CycleEvent{Kind: EventLine, Cycle: rec.ID, Line: l})
		}
	}

	v.mu.Lock()
	v.reserved--
	if err == nil && v.closed {
		err = ErrClosed
		rec.Status, rec.Error, rec.Ended = StatusAborted, "the VM closed before the cycle started", v.opts.Now()
		v.mu.Unlock()
		v.writeRecord(ctx, rec)
		v.event(CycleEvent{Kind: EventEnd, Cycle: rec.ID, Target: target, Selector: rec.Selector, Status: rec.Status})
		v.mu.Lock()
	}
	if err != nil {
		if p != nil {
			delete(v.inflight, *key)
			p.err = err
			close(p.ready)
		}
		v.mu.Unlock()
		return 0, fmt.Errorf("vm: start mission: %w", err)
	}
	m := &mission{id: rec.ID, target: target, brief: brief, key: key}
	m.run = newCycleRun(v, m, rec)
	v.live[m.id] = m.run
	v.done[m.id] = make(chan struct{})
	v.queue <- m // a slot was reserved; never blocks
	if p != nil {
		p.id = m.id
		close(p.ready)
	}
	v.mu.Unlock()
	return m.id, nil
}

// finishMission removes an ended mission from the live tables.
func (v *VM) finishMission(m *mission) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.live, m.id)
	if m.key != nil {
		if p, ok := v.inflight[*m.key]; ok && p.id == m.id {
			delete(v.inflight, *m.key)
		}
	}
	if ch, ok := v.done[m.id]; ok {
		close(ch)
		delete(v.done, m.id)
	}
}

// abortQueued records a mission that never ran as aborted.
func (v *VM) abortQueued(m *mission) {
	rec := m.run.snapshot()
	rec.Status = StatusAborted
	rec.Error = "the VM shut down before the cycle started"
	rec.Ended = v.opts.Now()
	v.writeRecord(context.Background(), rec)
	v.cyclesAbrt.Add(1)
	v.ended(rec)
	v.finishMission(m)
}
