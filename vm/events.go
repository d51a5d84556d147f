package vm

import "github.com/batos/batos/object"

// Kinds of CycleEvent.
const (
	EventQueued = "queued" // the cycle was created and queued
	EventState  = "state"  // the cycle entered State
	EventLine   = "line"   // the cycle's trace gained Line
	EventStep   = "step"   // a model call ended (the record's Steps grew)
	EventEnd    = "end"    // the cycle ended with Status
)

// CycleEvent is one thing that happened to a cycle, as it happens: for a
// live view of the cycles (batosd's inspector streams them to browsers).
// The cycle's full record is VM.Cycle(Cycle).
type CycleEvent struct {
	Kind     string     `json:"kind"`
	Cycle    object.OID `json:"cycle"`
	Target   object.OID `json:"target,omitempty"`
	Selector string     `json:"selector,omitempty"`
	State    string     `json:"state,omitempty"`  // EventState
	Line     string     `json:"line,omitempty"`   // EventLine
	Status   string     `json:"status,omitempty"` // EventEnd, EventQueued
}

// event reports e to Options.OnCycleEvent, if set.
func (v *VM) event(e CycleEvent) {
	if v.opts.OnCycleEvent != nil {
		v.opts.OnCycleEvent(e)
	}
}

// ended reports a cycle's final record to Options.OnCycleEnd and its end
// to Options.OnCycleEvent.
func (v *VM) ended(rec *CycleRecord) {
	if v.opts.OnCycleEnd != nil {
		v.opts.OnCycleEnd(*rec)
	}
	v.event(CycleEvent{Kind: EventEnd, Cycle: rec.ID, Target: rec.Target, Selector: rec.Selector, Status: rec.Status})
}
