package wire

//go:generate go run github.com/tinylib/msgp@v1.6.5 -file messages.go -o messages_gen.go -io=false -tests=false

// The limit directive is not optional: without it a 13-byte message whose
// header claims a 4-billion-element array makes the generated decoder
// allocate tens of GiB. Dynamic values (Value, List, Map) are decoded by
// hand in value.go under the same bounds (MaxElements, MaxDepth).
//msgp:limit arrays:65536 maps:65536 marshal:true

// Request is one command sent by a client. It is encoded as a msgpack map
// with string keys; only Command is common to every command, the other
// fields belong to the commands named in their comments. Absent fields
// decode as zero values and unknown fields are skipped (see Decode).
//
// A Request is a plain value: not safe for concurrent mutation.
type Request struct {
	// Command selects the operation; one of the Cmd constants.
	Command string `msg:"command"`
	// Target names the object (dispatch_message, initiate_cognitive_cycle,
	// inspect, set_slot): a name such as "genesis_obj" or an integer OID.
	Target Ref `msg:"target_oid,omitzero"`
	// MessageName is the selector sent by dispatch_message.
	MessageName string `msg:"message_name,omitempty"`
	// Args are the positional arguments of dispatch_message.
	Args List `msg:"args,omitzero"`
	// Kwargs are the keyword arguments of dispatch_message.
	Kwargs Map `msg:"kwargs,omitzero"`
	// MissionBrief describes the mission of initiate_cognitive_cycle,
	// e.g. {"type": "unhandled_message", "selector": "display_yourself"}.
	MissionBrief Map `msg:"mission_brief,omitzero"`
	// Capability names the capability grant_capability grants.
	Capability string `msg:"capability,omitempty"`
	// Slot is the slot name written by set_slot (and grant_capability).
	Slot string `msg:"slot,omitempty"`
	// Value is the value written by set_slot.
	Value Value `msg:"value,omitzero"`
	// Limit bounds the number of results of list_cycles and search;
	// zero means the server's default.
	Limit int64 `msg:"limit,omitempty"`
	// CycleID names the cycle of show_cycle and wait_cycle.
	CycleID string `msg:"cycle_id,omitempty"`
	// DocID names the document of ingest (optional: the server may assign one).
	DocID string `msg:"doc_id,omitempty"`
	// Text is the document body of ingest.
	Text string `msg:"text,omitempty"`
	// Metadata is attached to the ingested document.
	Metadata Map `msg:"metadata,omitzero"`
	// Query is the search text of search.
	Query string `msg:"query,omitempty"`
	// Mode selects the search method: "", "text", "vector" or "hybrid".
	Mode string `msg:"mode,omitempty"`
	// Filters restrict search results, e.g. {"doc_id": "..."}.
	Filters Map `msg:"filters,omitzero"`
	// Source is the Starlark source of define_method.
	Source string `msg:"source,omitempty"`
	// Version names the method version revert_method installs again.
	Version int64 `msg:"version,omitempty"`
	// Root names the new root of clone (optional).
	Root string `msg:"root,omitempty"`
	// Targets name the objects of export (none: every object).
	Targets []string `msg:"targets,omitempty"`
	// Path is the directory backup writes, on the daemon's host.
	Path string `msg:"path,omitempty"`
	// DryRun makes collect_blobs list what it would delete.
	DryRun bool `msg:"dry_run,omitempty"`
	// TimeoutMS is wait_cycle's deadline in milliseconds; zero means
	// DefaultWaitTimeout, and more than MaxWaitTimeout is cut to it.
	TimeoutMS int64 `msg:"timeout_ms,omitempty"`
}

// Reply is the answer to one Request: {"status": "ok", "result": ...} or
// {"status": "error", "result": nil, "message": ..., "code": ...}. The
// result key is always present so that blueprint clients reading
// reply["result"] work for every ok reply.
type Reply struct {
	// Status is StatusOK or StatusError.
	Status string `msg:"status"`
	// Result is the command's result (nil for errors).
	Result Value `msg:"result"`
	// Message is a human-readable error description.
	Message string `msg:"message,omitempty"`
	// Code is a stable machine-readable error code (the Code constants).
	Code string `msg:"code,omitempty"`
}
