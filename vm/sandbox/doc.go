// Package sandbox runs generated methods: Starlark source stored in
// object.Method slots, executed against the object store with the
// Persistence Covenant enforced at run time and every call bounded in
// steps, time, output and memory.
//
// # Objects in Starlark
//
// A method is called as def NAME(self, ...). self is the receiver, an
// object value with attribute get and set (starlark.HasAttrs,
// starlark.HasSetField):
//
//   - Reading self.x looks the slot up through delegation (object.Tx.Lookup).
//     A data slot converts to Starlark (None, bool, int, float, string,
//     bytes; lists and maps with string keys become fresh mutable lists and
//     dicts; references become read-only object values). A slot holding an
//     object.Method, on self or on any parent, becomes a callable bound to
//     the receiver (not to the object that holds it). A slot holding an
//     object.Primitive becomes a callable that runs Options.Primitive in the
//     calling process, with the call's transaction.
//   - Writing self.x = v (and mutating a list or dict read from self) is
//     buffered in the call's change set. Writes go to the receiver's own
//     slots: changing an inherited list gives the receiver its own copy.
//   - Objects reached through references are read-only: their slots can be
//     read and their methods called; a method called on another object runs
//     with that object as its own (writable) receiver and its own flag.
//     Reads through references see the committed state, not the call's
//     buffered writes.
//   - _slots, any _p_ attribute other than the assignment
//     self._p_changed = True, and any __ attribute are refused at run time
//     too (getattr included), whatever the audit said.
//
// # Capabilities
//
// A capability object is an object whose call slot holds
// object.Primitive(CapabilityPrimitive) (see IsCapability); a method
// calls it as ref.call(...), and Options.Capability runs it in the
// calling process with a CapabilityCall. Nothing is ambient: a call runs
// only when the reference it went through was granted, which is when it
// was read directly from a slot of a method's own receiver (self, or the
// receiver of a method called on another object; own or inherited slots)
// that holds it, or passed directly as an argument of the call. A
// reference read through another object (self.friend.tool), found
// nested in a list or dict, or copied into a variable from either, grants
// nothing, wherever it is passed afterwards: the call fails with
// ErrCapability. The parent process checks the grant against the
// transaction (the slot still holds the capability; the argument was
// the call's) before it runs the capability. A method may not store a
// reference to a capability object in a slot that did not hold it
// (ErrCapability, nothing applied): capabilities are granted by the
// host, never by methods. Attributes cannot be read by computed names
// (the guardian refuses getattr, and the sandbox does not predeclare it).
// A capability's error reaches the method as a Starlark error, which
// stops it; the MethodError wraps it.
//
// The sandbox also predeclares json (go.starlark.net/lib/json: encode,
// decode, indent), so a method can parse what a capability returns.
//
// # The covenant at run time
//
// self._p_changed = True flags every slot that differs from what was read
// (or was assigned) at its current value. When the call returns, each
// touched slot must equal its value at its last flag (or never have
// changed): otherwise the call fails with ErrCovenant and nothing is
// applied. So nothing unflagged is ever committed, and nothing flagged is
// lost: on success the flagged values are written with tx.Put. Changes are
// found by comparing values (object.Equal), so aliases (l = self.items;
// l.append(v)) are caught even though the guardian cannot see them.
//
// Before compiling a method the sandbox repeats the guardian audit
// (guardian.Check with guardian.DefaultPolicy(selector), once per distinct
// source) unless Options.NoAudit is set; a method that fails it is refused
// with ErrRejected.
//
// # Bounds
//
//   - Steps: Options.MaxSteps Starlark steps per call, nested calls
//     included (ErrSteps).
//   - Time: ctx and Options.Timeout (ErrCanceled, also matching the
//     context's error).
//   - Call depth: Options.MaxCallDepth nested method calls (ErrDepth).
//     Starlark forbids recursion, so self.m() inside m fails too.
//   - Output: Options.MaxPrintBytes of print per call, Options.MaxResultBytes
//     of encoded result and changes (ErrOutput). print goes to
//     Options.Print, nowhere else. There is no load, no I/O, no clock and
//     no randomness: methods see only their arguments and the objects.
//   - Memory: Options.MaxAllocBytes (ErrMemory), see below.
//
// # The memory bound
//
// Steps do not bound memory: [0] * (1 << 25) allocates 512 MiB in a
// handful of steps, "x" * (1 << 29) half a gigabyte in one, and
// go.starlark.net has no allocation hook. So, by default, methods run in
// worker processes: the running executable started again with the
// BATOS_SANDBOX_WORKER environment variable, which makes [Worker], called
// first in its main, serve the worker protocol instead of running the
// rest of main. A binary that does not call Worker gets ErrWorker
// instead of a second copy of itself (or names its worker command in
// Options.WorkerCommand).
// Each worker sets RLIMIT_AS to its address-space size at start plus
// MaxAllocBytes plus 128 MiB of slack for the Go runtime (six times
// MaxAllocBytes under the race detector, whose shadow memory needs it),
// and the Go soft memory limit to MaxAllocBytes. A method that allocates
// past that kills its worker ("out of memory"); the parent reports
// ErrMemory and starts a new worker for the next call. The parent never
// holds the method's values: it answers the worker's slot lookups and
// primitive calls from the transaction and receives the result and the
// flagged changes as one frame bounded by MaxResultBytes.
//
// What is guaranteed: whatever the code does, a worker's memory (resident
// included, since it cannot exceed the address space) stays under its
// limit: the kernel refuses the mapping and the worker dies. All workers
// together stay under Options.Workers times that. The daemon itself only
// ever decodes frames of at most MaxResultBytes plus 1 MiB (results,
// changes, lookup requests, print lines, primitive arguments), one at a
// time per call. What is not guaranteed: the exact point of failure (the
// limit counts address space, including runtime reservations and memory
// the worker keeps from earlier calls, so a call can fail somewhat below
// MaxAllocBytes of live data; it never gets more address space than the
// worker's starting size plus MaxAllocBytes plus 128 MiB, six times
// MaxAllocBytes under the race detector).
// On cancellation or deadline the worker is killed, so even a long
// builtin (big-integer arithmetic or sorting runs inside one step) stops at
// once. The cost is one pipe round trip per call, plus one per slot read
// that was not sent with the call and per primitive called: the receiver's
// slots named as self.NAME in the method's source (up to 16) are looked up
// by the parent and travel with the call (see BENCHMARKS.md).
// Workers are kept warm, at most Options.Workers; a worker found dead
// before it answered anything is replaced and the call retried once (it
// cannot have had effects: every read and primitive goes through the
// parent). Workers exit when their stdin closes and are killed when the
// parent dies (PR_SET_PDEATHSIG).
//
// MaxAllocBytes < 0 runs methods in the calling process instead, with
// steps, depth, output and deadline bounds but no memory bound: for
// trusted code and for measuring the cost of isolation. In process,
// cancellation and Options.Timeout are noticed between steps (the timeout
// every 4096 steps), so one long builtin runs to its end.
//
// # Concurrency
//
// A Runner is safe for concurrent use; each Call gets its own Starlark
// thread and, with the memory bound, a worker of its own for its
// duration. Call uses its transaction only from the calling goroutine
// (object.Tx is not safe for concurrent use), including for primitives.
//
// # Caveats
//
//   - Slots are read as of the start of the call (in worker mode the ones
//     the source names are read before it starts). Primitives run in the
//     calling process and see the transaction, not the call's buffered
//     writes; a write a primitive makes to the receiver
//     can be overwritten by the method's own flagged change of the same
//     slot.
//   - Memory-bounded workers need Linux. Binaries that link this package
//     must not set BATOS_SANDBOX_WORKER themselves.
//   - A method may overwrite one of its receiver's data slots with data
//     even where a parent holds a method of that name (shadowing it).
package sandbox
