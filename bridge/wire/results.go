package wire

//go:generate go run github.com/tinylib/msgp@v1.6.5 -file results.go -o results_gen.go -io=false -tests=false

// Same bounds as messages.go; see there for why the directive matters.
//msgp:limit arrays:65536 maps:65536 marshal:true

// Typed results of the commands. A daemon returns them as a reply's result
// (wire.OK(&ObjectInfo{...})); they travel as ordinary maps, so Python
// clients read them as dicts, and a Go client turns Reply.Result back into
// one with Value.Decode. Times are RFC 3339 strings, readable everywhere;
// durations are integers whose key names the unit (duration_us,
// duration_ms). Two results are not typed: dispatch_message answers with
// the method's own value (or a MissionStarted), and set_slot with true.

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

// MissionStarted is the result of a dispatch_message that its target did
// not understand: instead of a method's value, the answer says that a
// cognitive cycle was started to learn the method (see Value.Mission).
type MissionStarted struct {
	// Mission is always true: it tells this result from a method's own.
	Mission bool `msg:"mission"`
	// Message is the operator's line, e.g. "Mission to handle
	// 'display_yourself' dispatched to the Composite Mind."
	Message string `msg:"message"`
	// CycleID names the cycle (show_cycle's and wait_cycle's cycle_id).
	CycleID string `msg:"cycle_id"`
	// Target is the OID of the object the message was sent to.
	Target uint64 `msg:"target"`
}

// CycleStarted is the result of initiate_cognitive_cycle.
type CycleStarted struct {
	// CycleID names the cycle.
	CycleID string `msg:"cycle_id"`
}

// CycleInfo describes a cognitive cycle: the result of show_cycle and
// wait_cycle, and (without Result) an element of CycleList.
type CycleInfo struct {
	// ID names the cycle (show_cycle's cycle_id).
	ID string `msg:"id"`
	// Target is the object the cycle works on.
	Target Ref `msg:"target_oid,omitzero"`
	// State is the cycle's status: QUEUED, RUNNING, COMPLETE, FAILED or
	// ABORTED (COMPLETE, FAILED and ABORTED are final). The states of the
	// state machine it went through are in Transitions.
	State string `msg:"state"`
	// MissionBrief is the mission the cycle was started with.
	MissionBrief MissionBrief `msg:"mission_brief"`
	// Started and Finished are RFC 3339 times; Finished is empty while
	// the cycle runs.
	Started  string `msg:"started,omitempty"`
	Finished string `msg:"finished,omitempty"`
	// Error says why a FAILED or ABORTED cycle failed.
	Error string `msg:"error,omitempty"`
	// Transitions are the states of the state machine (IDLE,
	// DECOMPOSING, DELEGATING, SYNTHESIZING, COMPLETE, FAILED) in the
	// order the cycle entered them.
	Transitions []Transition `msg:"transitions,omitempty"`
	// Result is the cycle's outcome and trace (show_cycle and wait_cycle
	// only; nil in CycleList).
	Result *CycleResult `msg:"result,omitempty"`
}

// MissionBrief summarizes the mission of a cycle.
type MissionBrief struct {
	// Type is the mission type: "unhandled_message", "query" or
	// "self_audit".
	Type string `msg:"type"`
	// Selector is the message an unhandled_message mission learns.
	Selector string `msg:"selector"`
	// Brief is the whole brief, formatted.
	Brief string `msg:"brief"`
}

// Transition is one state of the state machine that a cycle entered.
type Transition struct {
	// State is the state entered.
	State string `msg:"state"`
	// At is when, in RFC 3339.
	At string `msg:"at"`
	// DurationUS is the time the cycle spent in the state, in
	// microseconds (so far, for the state it is in).
	DurationUS int64 `msg:"duration_us"`
}

// CycleResult is what a cycle produced and how: its outcome, the
// operator trace, the model calls and the methods ALFRED wrote.
type CycleResult struct {
	// Outcome is "method installed", "method already present", "text
	// response" or empty while the cycle runs or when it failed.
	Outcome string `msg:"outcome"`
	// Result is the installed method's source or the text response
	// (bounded by the daemon).
	Result string `msg:"result"`
	// Lines are the operator trace, in order.
	Lines []string `msg:"lines"`
	// Steps are the model calls, in order.
	Steps []CycleStep `msg:"steps"`
	// Findings are the guardian's findings on the installed method.
	Findings []string `msg:"findings"`
	// Attempts counts the runs of the cycle's transaction (a conflict
	// runs it again).
	Attempts int64 `msg:"attempts"`
	// Methods are ALFRED's attempts at the method, in order.
	Methods []MethodAttempt `msg:"methods"`
	// Capabilities are the capability calls of the cycle's trial runs.
	Capabilities []CapabilityCall `msg:"capabilities"`
	// ContextSize is the model context, in tokens, the prompts were
	// budgeted for.
	ContextSize int64 `msg:"context_size"`
}

// CapabilityCall is one call of a capability by a method.
type CapabilityCall struct {
	// Capability names the capability; Object is the capability object.
	Capability string `msg:"capability"`
	Object     uint64 `msg:"object"`
	// Args are the call's arguments, previewed.
	Args string `msg:"args"`
	// BytesIn and BytesOut are the encoded sizes of the arguments and
	// the result.
	BytesIn  int64 `msg:"bytes_in"`
	BytesOut int64 `msg:"bytes_out"`
	// DurationUS is the call's wall time in microseconds.
	DurationUS int64 `msg:"duration_us"`
	// Trial marks a call of a trial run; DryRun one the capability's dry
	// run answered; Skipped one not made (state-changing, in a trial).
	Trial   bool `msg:"trial,omitempty"`
	DryRun  bool `msg:"dry_run,omitempty"`
	Skipped bool `msg:"skipped,omitempty"`
	// Error says why the call failed.
	Error string `msg:"error,omitempty"`
}

// CapabilityGranted is the result of grant_capability.
type CapabilityGranted struct {
	// Capability is the capability granted, Slot the target's slot that
	// now holds the capability object Object.
	Capability string `msg:"capability"`
	Slot       string `msg:"slot"`
	Object     uint64 `msg:"object"`
}

// CycleStep is one model call of a cycle.
type CycleStep struct {
	// State is the state that made the call.
	State string `msg:"state"`
	// Persona is the persona that answered, Adapter the LoRA adapter it
	// used (empty: the base model).
	Persona string `msg:"persona"`
	Adapter string `msg:"adapter"`
	// Prompt and Output are the call's text, bounded by the daemon.
	Prompt string `msg:"prompt"`
	Output string `msg:"output"`
	// Error says why the call failed.
	Error string `msg:"error"`
	// DurationMS is the call's time, in milliseconds.
	DurationMS int64 `msg:"duration_ms"`
	// PromptTokens is the prompt's length in tokens, Window what its
	// budget allowed (the context less MaxTokens), MaxTokens the output
	// bound.
	PromptTokens int64 `msg:"prompt_tokens"`
	Window       int64 `msg:"window"`
	MaxTokens    int64 `msg:"max_tokens"`
	// OutputTokens is the output's length in tokens (over DurationMS:
	// the call's tokens per second).
	OutputTokens int64 `msg:"output_tokens"`
	// PrefillUS and DecodeUS split the call's time into evaluating the
	// prompt and generating, in microseconds, when the model measured
	// them (zero otherwise).
	PrefillUS int64 `msg:"prefill_us"`
	DecodeUS  int64 `msg:"decode_us"`
	// BudgetUS is the time spent fitting the prompt to its window, in
	// microseconds.
	BudgetUS int64 `msg:"budget_us"`
	// SampleUS is the part of DecodeUS spent choosing tokens (sampler and
	// grammar), in microseconds; ForcedTokens the output tokens a grammar
	// forced, appended without sampling (jump-forward decoding); Batch
	// how many calls decoded together with this one among them (0:
	// alone).
	SampleUS     int64 `msg:"sample_us"`
	ForcedTokens int64 `msg:"forced_tokens"`
	Batch        int64 `msg:"batch"`
}

// MethodAttempt is one method ALFRED wrote during a cycle.
type MethodAttempt struct {
	// Attempt numbers the attempts from 1.
	Attempt int64 `msg:"attempt"`
	// Source is the method's Starlark source.
	Source string `msg:"source"`
	// Verdict is "passed", "rejected" (by the guardian) or "trial
	// failed".
	Verdict string `msg:"verdict"`
	// Findings are the guardian's findings.
	Findings []string `msg:"findings"`
	// Trial is the trial run's result, formatted; Error its error.
	Trial string `msg:"trial"`
	Error string `msg:"error"`
}

// CycleList is the result of list_cycles, most recent first.
type CycleList struct {
	// Cycles are summaries (no Result).
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
	// Objects, Cycles and ActiveCycles count the stored objects, the
	// cycles ended since the daemon started and the cycles queued or
	// running.
	Objects      int64 `msg:"objects"`
	Cycles       int64 `msg:"cycles"`
	ActiveCycles int64 `msg:"active_cycles"`
	// CyclesDone, CyclesFailed and CyclesAborted split Cycles by how
	// they ended: COMPLETE, FAILED or ABORTED.
	CyclesDone    int64 `msg:"cycles_done"`
	CyclesFailed  int64 `msg:"cycles_failed"`
	CyclesAborted int64 `msg:"cycles_aborted"`
	// Model names the loaded base model.
	Model string `msg:"model,omitempty"`
	// Device says where the model's layers are, as
	// "DEVICE:LAYERS,... output:DEVICE" (e.g. "CUDA0:20,CPU:12
	// output:CPU"), or "CPU".
	Device string `msg:"device,omitempty"`
	// Layers is the model's repeating layers, GPULayers how many of
	// them are on a GPU; Layers is zero when the daemon does not say.
	Layers    int64 `msg:"layers,omitempty"`
	GPULayers int64 `msg:"gpu_layers,omitempty"`
	// ContextSize is the model context, in tokens, prompts are budgeted
	// for.
	ContextSize int64 `msg:"context_size,omitempty"`
	// QueueDepth is the missions waiting for one of Workers, of at most
	// QueueCapacity.
	QueueDepth    int64 `msg:"queue_depth"`
	QueueCapacity int64 `msg:"queue_capacity"`
	Workers       int64 `msg:"workers"`
	// ImageBytes is the image's size on disk; FreeBytes the space left
	// on its file system, -1 when unknown.
	ImageBytes int64 `msg:"image_bytes"`
	FreeBytes  int64 `msg:"free_bytes"`
	// Adapters are the persona adapters' memory tiers; nil when the
	// daemon does not report them.
	Adapters *AdapterInfo `msg:"adapters,omitempty"`
	// Extra holds anything else a daemon reports, for clients to list
	// as it comes (batosd sends nothing here).
	Extra Map `msg:"extra,omitzero"`
}

// AdapterInfo describes the persona adapters' memory tiers: cold in the
// image, warm as files in the cache, hot loaded in the model.
type AdapterInfo struct {
	// Hot, Warm and Cold name the adapters in each tier.
	Hot  []string `msg:"hot"`
	Warm []string `msg:"warm"`
	Cold []string `msg:"cold"`
	// HotHits and WarmHits count the activations that found the adapter
	// hot or warm; ColdLoads the files materialized from the image,
	// HotLoads the loads into the model.
	HotHits   int64 `msg:"hot_hits"`
	WarmHits  int64 `msg:"warm_hits"`
	ColdLoads int64 `msg:"cold_loads"`
	HotLoads  int64 `msg:"hot_loads"`
	// HotEvictions and WarmEvictions count the unloads and the file
	// removals the tiers' capacities forced.
	HotEvictions  int64 `msg:"hot_evictions"`
	WarmEvictions int64 `msg:"warm_evictions"`
}
