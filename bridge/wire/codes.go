package wire

import (
	"time"

	"github.com/batos/batos/errcode"
)

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
	// CmdWaitCycle waits until the cycle named CycleID ends and shows it
	// (CycleInfo, as show_cycle), for at most TimeoutMS milliseconds
	// (see DefaultWaitTimeout and MaxWaitTimeout); a wait that passes its
	// deadline is answered CodeDeadlineExceeded. A server bounds the waits
	// it holds at once and answers CodeBusy beyond the bound.
	CmdWaitCycle = "wait_cycle"
	// CmdIngest adds document Text (with DocID and Metadata) to the catalog.
	CmdIngest = "ingest"
	// CmdSearch searches the catalog for Query (Limit, Mode, Filters).
	CmdSearch = "search"
	// CmdStatus reports the server's status.
	CmdStatus = "status"
	// CmdDefineMethod installs Source as the method Slot of Target, audited
	// by the guardian like a method a persona wrote (MethodInstalled).
	CmdDefineMethod = "define_method"
	// CmdMethodHistory lists the versions of Target's method Slot
	// (MethodHistory).
	CmdMethodHistory = "method_history"
	// CmdRevertMethod installs Version of Target's method Slot again, as a
	// new version, audited again (MethodInstalled).
	CmdRevertMethod = "revert_method"
	// CmdClone copies Target into a new object, named Root if given
	// (Cloned).
	CmdClone = "clone"
	// CmdRemoveSlot removes Slot from Target.
	CmdRemoveSlot = "remove_slot"
	// CmdExport writes the objects Targets name (all when empty) as JSON
	// lines (Exported).
	CmdExport = "export"
	// CmdImport reads JSON lines in Text into the image (Imported).
	CmdImport = "import"
	// CmdBackup writes a consistent copy of the image to Path, a directory
	// on the daemon's host that must not exist, laid out as a data
	// directory (BackedUp).
	CmdBackup = "backup"
	// CmdCollectBlobs deletes the blobs no object refers to, or with
	// DryRun lists them (Collected).
	CmdCollectBlobs = "collect_blobs"
	// CmdGrantCapability grants the host's registered capability named
	// Capability to Target: a new capability object in Target's Slot
	// (CapabilityGranted). Only the host and the architect grant
	// capabilities; methods cannot.
	CmdGrantCapability = "grant_capability"
)

// Commands returns every command name in a fixed order.
func Commands() []string {
	return []string{
		CmdDispatchMessage, CmdInitiateCognitiveCycle, CmdInspect, CmdSetSlot,
		CmdListCycles, CmdShowCycle, CmdIngest, CmdSearch, CmdStatus,
		CmdWaitCycle, CmdDefineMethod, CmdMethodHistory, CmdRevertMethod, CmdClone, CmdRemoveSlot,
		CmdExport, CmdImport, CmdBackup, CmdCollectBlobs, CmdGrantCapability,
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
	CodeBadRequest = errcode.BadRequest
	// CodeUnknownCommand: the command is not one of the Cmd constants.
	CodeUnknownCommand = "unknown_command"
	// CodeNotFound: the target object, cycle or document does not exist.
	CodeNotFound = errcode.NotFound
	// CodeBusy: the server's queue (or, for wait_cycle, its bound on the
	// waits it holds) is full, or a transaction conflicted; retry later.
	CodeBusy = errcode.Busy
	// CodeInternal: the handler failed (or panicked).
	CodeInternal = errcode.Internal
	// CodeTimeout: the handler did not finish before its deadline.
	CodeTimeout = errcode.Timeout
	// CodeUnauthorized: the client may not run this command.
	CodeUnauthorized = "unauthorized"
	// CodeTooLarge: the request or a container in it exceeds a limit.
	CodeTooLarge = errcode.TooLarge
	// CodeUnavailable: the server is shutting down.
	CodeUnavailable = errcode.Unavailable
	// CodeDeadlineExceeded: wait_cycle's deadline passed before the cycle
	// ended; the cycle goes on, and the client may wait again.
	CodeDeadlineExceeded = "deadline_exceeded"
)

// Deadlines of wait_cycle.
const (
	// DefaultWaitTimeout is the deadline of a wait_cycle without
	// TimeoutMS.
	DefaultWaitTimeout = time.Minute
	// MaxWaitTimeout bounds TimeoutMS: a longer deadline is cut to it.
	MaxWaitTimeout = 10 * time.Minute
)
