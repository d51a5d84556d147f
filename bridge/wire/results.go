package wire

//go:generate go run github.com/tinylib/msgp@v1.6.5 -file results.go -o results_gen.go -io=false -tests=false

// Same bounds as messages.go; see there for why the directive matters.
//msgp:limit arrays:65536 maps:65536 marshal:true

// Typed results of the commands. A daemon returns them as a reply's result
// (wire.OK(&ObjectInfo{...})); they travel as ordinary maps, so Python
// clients read them as dicts, and a Go client turns Reply.Result back into
// one with Value.Decode. Times are RFC 3339 strings, readable everywhere.

// ObjectInfo is the result of inspect.
type ObjectInfo struct {
	// OID is the object's number.
	OID uint64 `msg:"oid"`
	// Name is the object's root name, if it has one (e.g. "genesis_obj").
	Name string `msg:"name,omitempty"`
	// Repr is the object's printed form, e.g. "<UvmObject oid=1 slots=[...]>".
	Repr string `msg:"repr,omitempty"`
	// Parents are the objects on the parent* slots, in lookup order.
	Parents []Ref `msg:"parents"`
	// Slots are the object's own data slots.
	Slots []SlotInfo `msg:"slots"`
	// Methods are the object's own method slots.
	Methods []MethodInfo `msg:"methods"`
}

// SlotInfo describes one data slot.
type SlotInfo struct {
	// Name is the slot's name.
	Name string `msg:"name"`
	// Kind is the slot's value type as the VM names it ("int", "str", ...).
	Kind string `msg:"kind,omitempty"`
	// Value is the slot's value, or a summary of it.
	Value Value `msg:"value"`
}

// MethodInfo describes one method slot.
type MethodInfo struct {
	// Name is the method's selector.
	Name string `msg:"name"`
	// Native reports a primitive written in Go (no Source).
	Native bool `msg:"native,omitempty"`
	// Source is the Starlark source of a generated or installed method.
	Source string `msg:"source,omitempty"`
	// CycleID names the cognitive cycle that generated the method.
	CycleID string `msg:"cycle_id,omitempty"`
	// Findings are the guardian's audit findings for Source.
	Findings []Finding `msg:"findings"`
}

// Finding is one audit finding of the guardian.
type Finding struct {
	// Rule names the check, e.g. the Persistence Covenant's.
	Rule string `msg:"rule"`
	// Severity is "error" (the method is refused) or "warning".
	Severity string `msg:"severity,omitempty"`
	// Line is the 1-based source line, 0 when the finding has none.
	Line int64 `msg:"line,omitempty"`
	// Message explains the finding.
	Message string `msg:"message"`
}

// CycleInfo describes a cognitive cycle: the result of show_cycle, and
// (without Transitions) an element of CycleList.
type CycleInfo struct {
	// ID names the cycle (show_cycle's cycle_id).
	ID string `msg:"id"`
	// Target is the object the cycle works on.
	Target Ref `msg:"target_oid,omitzero"`
	// State is IDLE, DECOMPOSING, DELEGATING, SYNTHESIZING, COMPLETE or FAILED.
	State string `msg:"state"`
	// MissionBrief is the mission the cycle was started with.
	MissionBrief Map `msg:"mission_brief,omitzero"`
	// Started and Finished are RFC 3339 times; Finished is empty while
	// the cycle runs.
	Started  string `msg:"started,omitempty"`
	Finished string `msg:"finished,omitempty"`
	// Error says why a FAILED cycle failed.
	Error string `msg:"error,omitempty"`
	// Transitions are the state changes in order.
	Transitions []Transition `msg:"transitions,omitempty"`
	// Result is what the cycle produced (e.g. the installed method's name).
	Result Value `msg:"result,omitzero"`
}

// Transition is one state change of a cycle.
type Transition struct {
	// State is the state entered.
	State string `msg:"state"`
	// At is when, in RFC 3339.
	At string `msg:"at"`
	// Note is an optional log line (e.g. "[pLLM] Activated expert: BRICK").
	Note string `msg:"note,omitempty"`
}

// CycleList is the result of list_cycles, most recent first.
type CycleList struct {
	// Cycles are summaries (no Transitions).
	Cycles []CycleInfo `msg:"cycles"`
}

// IngestResult is the result of ingest.
type IngestResult struct {
	// DocID names the stored document (assigned when the request had none).
	DocID string `msg:"doc_id"`
	// Chunks is the number of chunks indexed.
	Chunks int64 `msg:"chunks"`
}

// SearchHit is one result of search.
type SearchHit struct {
	// DocID and ChunkID name the matching chunk.
	DocID   string `msg:"doc_id"`
	ChunkID string `msg:"chunk_id,omitempty"`
	// Score ranks hits; higher is better.
	Score float64 `msg:"score"`
	// Text is the chunk's text.
	Text string `msg:"text"`
	// Metadata is the document's metadata.
	Metadata Map `msg:"metadata,omitzero"`
}

// SearchResult is the result of search, best hit first.
type SearchResult struct {
	// Hits are ordered best first.
	Hits []SearchHit `msg:"hits"`
}

// StatusInfo is the result of status.
type StatusInfo struct {
	// Version is the daemon's version.
	Version string `msg:"version,omitempty"`
	// UptimeSeconds is the time since the daemon started.
	UptimeSeconds float64 `msg:"uptime_seconds"`
	// Objects, Cycles and ActiveCycles count the stored objects, all
	// cycles and the cycles not yet COMPLETE or FAILED.
	Objects      int64 `msg:"objects"`
	Cycles       int64 `msg:"cycles"`
	ActiveCycles int64 `msg:"active_cycles"`
	// Model names the loaded base model.
	Model string `msg:"model,omitempty"`
	// Extra holds anything else the daemon reports.
	Extra Map `msg:"extra,omitzero"`
}
