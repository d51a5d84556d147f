package vmtest

import (
	"fmt"
	"strings"
)

// BlueprintTrace is the operator trace of the blueprint's display_yourself
// validation protocol (Part IV 4.1): fragments the log must show, in order.
var BlueprintTrace = []string{
	"[UVM] doesNotUnderstand: 'display_yourself' for OID",
	"[UVM] Reifying failed message as a creative mandate for the Orchestrator.",
	"[Orchestrator] Initiating new cognitive cycle for mission: unhandled_message",
	"activated (IDLE).",
	"to state: DECOMPOSING",
	"Decomposing mission (DECOMPOSING).",
	"[pLLM] Activated expert: BRICK",
	"to state: DELEGATING",
	"Delegating to facets (DELEGATING).",
	"to state: SYNTHESIZING",
	"Performing Cognitive Weaving (SYNTHESIZING).",
	"[pLLM] Activated expert: ALFRED",
	"[Guardian] Code audit passed. Adheres to the Persistence Covenant.",
	"to state: COMPLETE",
	"completed (COMPLETE).",
	"New method 'display_yourself' installed on OID",
}

// CheckTrace reports the first fragment of want that log lacks, searching
// each after the previous one, or nil when all appear in order.
func CheckTrace(log string, want []string) error {
	rest := log
	for _, line := range want {
		i := strings.Index(rest, line)
		if i < 0 {
			return fmt.Errorf("the log lacks %q (or has it out of order)", line)
		}
		rest = rest[i+len(line):]
	}
	return nil
}
