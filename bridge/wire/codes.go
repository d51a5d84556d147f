package wire

// Commands a Request may carry (the "command" key).
const (
	// CmdDispatchMessage sends MessageName with Args and Kwargs to Target
	// (the blueprint's display_yourself protocol).
	CmdDispatchMessage = "dispatch_message"
	// CmdInitiateCognitiveCycle starts a cycle for Target with MissionBrief.
	CmdInitiateCognitiveCycle = "initiate_cognitive_cycle"
	// CmdInspect describes Target: slots, parents, methods with source and
	// audit findings.
	CmdInspect = "inspect"
	// CmdSetSlot sets Slot of Target to Value.
	CmdSetSlot = "set_slot"
	// CmdListCycles lists up to Limit recent cognitive cycles.
	CmdListCycles = "list_cycles"
	// CmdShowCycle shows the cycle named CycleID.
	CmdShowCycle = "show_cycle"
	// CmdIngest adds document Text (with DocID and Metadata) to the catalog.
	CmdIngest = "ingest"
	// CmdSearch searches the catalog for Query (Limit, Mode, Filters).
	CmdSearch = "search"
	// CmdStatus reports the server's status.
	CmdStatus = "status"
)

// Commands returns every command name in a fixed order.
func Commands() []string {
	return []string{
		CmdDispatchMessage, CmdInitiateCognitiveCycle, CmdInspect, CmdSetSlot,
		CmdListCycles, CmdShowCycle, CmdIngest, CmdSearch, CmdStatus,
	}
}

// Reply statuses.
const (
	// StatusOK marks a successful Reply.
	StatusOK = "ok"
	// StatusError marks a failed Reply; Code and Message say why.
	StatusError = "error"
)

// Stable error codes carried in Reply.Code. Clients branch on these, never
// on Message.
const (
	// CodeBadRequest: the payload could not be decoded or failed validation.
	CodeBadRequest = "bad_request"
	// CodeUnknownCommand: the command is not one of the Cmd constants.
	CodeUnknownCommand = "unknown_command"
	// CodeNotFound: the target object, cycle or document does not exist.
	CodeNotFound = "not_found"
	// CodeBusy: the server's queue is full; retry later.
	CodeBusy = "busy"
	// CodeInternal: the handler failed (or panicked).
	CodeInternal = "internal"
	// CodeTimeout: the handler did not finish before its deadline.
	CodeTimeout = "timeout"
	// CodeUnauthorized: the client may not run this command.
	CodeUnauthorized = "unauthorized"
	// CodeTooLarge: the request or a container in it exceeds a limit.
	CodeTooLarge = "too_large"
	// CodeUnavailable: the server is shutting down.
	CodeUnavailable = "unavailable"
)
