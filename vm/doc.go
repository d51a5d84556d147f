// Package vm is the Universal Virtual Machine of BAT OS: it dispatches
// messages to the prototype objects of an object.Store and turns the
// messages they do not understand into cognitive cycles that teach them.
//
// # Dispatch
//
// [VM.Dispatch] resolves a target (a root name such as "genesis_obj" or a
// decimal OID), looks the selector up through delegation and runs what it
// finds inside one transaction: a primitive (a Go [PrimitiveFunc]
// registered by name with [VM.RegisterPrimitive] and stored in slots as
// object.Primitive, so it persists), a Starlark method (run by the
// [MethodRunner], by default the vm/sandbox runner), or a data slot
// (returned as is). Every object inherits the builtin primitives repr,
// display, clone, oid and slot_names from traits_obj.
//
// When nothing answers, doesNotUnderstand reifies the message as a
// mission brief and Dispatch replies at once, as the blueprint does
// ("Mission to handle 'X' dispatched to the Composite Mind."), with the
// cycle's id in [Result]; [VM.WaitCycle] waits for the outcome. Misses of
// one selector on one object while its cycle runs share that cycle.
//
// # The cognitive cycle
//
// A cycle is a CognitiveCycle object whose synthesis_state* parent slot
// points at one of the state prototypes of psm_prototypes_obj (IDLE,
// DECOMPOSING, DELEGATING, SYNTHESIZING, COMPLETE, FAILED). The cycle runs
// the process_synthesis slot of its current state (a primitive by default;
// replace the slot, even with a Starlark method returning the next
// state's name, to change how the system thinks)
// and a transition repoints synthesis_state*. DECOMPOSING asks BRICK for a
// JSON plan under the grammar of package vm/plan; DELEGATING asks the
// plan's facets;
// SYNTHESIZING has ALFRED write the method under the grammar of its
// methodspec.Spec (built for the mission: the target's slots and methods,
// the message's arguments), audits it with the guardian and trial-runs it in
// the sandbox on the message's arguments inside the cycle's transaction
// (behind an object.Savepoint, so whatever it writes is discarded: the
// unanswered message has no effect, its resend does). A refused attempt
// goes back to ALFRED with its source and findings or trial error, up to
// Options.MethodAttempts times ([MethodAttempt] in the cycle log). Or
// SYNTHESIZING has ROBIN weave a text answer; COMPLETE installs
// the method with its metadata (author, cycle, verdict, version); FAILED
// dooms the transaction. Everything a cycle writes to the image commits in
// one transaction or not at all. A conflicting commit reruns the cycle
// (replaying the model's answers); two cycles never install two methods
// for one selector.
//
// The cycle log ([CycleRecord], [VM.Cycle], [VM.Cycles]) is written in
// transactions of its own, so failed cycles are recorded too: the
// operator trace (whose lines follow the blueprint's Part IV 4.1), states
// with timings, each model call's prompt and output (bounded), audit
// findings and the failure reason. Cycles a killed process left unfinished
// are marked aborted at the next Open.
//
// # Capabilities: JIT for Agency
//
// A host gives objects tools with [VM.RegisterCapability] (a
// [Capability]: a name, a one-line doc, parameters and result with their
// kinds, whether it is read-only, a Go function, optionally a dry run and
// a per-call [Budget]) and [VM.GrantCapability], which makes a
// capability object (slots capability, doc, signature, and call holding
// the sandbox's capability primitive) and puts a reference to it in a
// slot of the object allowed to use it. A method calls it as
// self.SLOT.call(param=value, ...). Nothing is ambient: generated code
// sees no registry, and the sandbox runs a call only through a reference
// read directly from a slot of a method's receiver that holds it (own or
// inherited) or passed as an argument of the call; one read through
// another object, nested in data, or reached by a computed name is
// refused with sandbox.ErrCapability, and methods cannot store capability
// references (see vm/sandbox). The VM then binds the arguments to the
// parameters (ErrCapabilityArgs), applies the budget of the capability
// per method call (calls, bytes in and out, wall time:
// ErrCapabilityBudget, which stops the method), runs the function with
// the method's transaction and records the call (arguments previewed,
// sizes, duration) in [Result].Capabilities for a dispatch, or in the
// cycle log ([CycleRecord].Capabilities and the trace) for a trial run.
// A capability's error reaches the method as a Starlark error. The
// architect grants over the bridge with grant_capability; a capability
// object dispatched to directly (call) runs as the host's own call.
//
// The guarantees for methods that call capabilities: the grant check,
// the budgets and the log hold always; what a capability writes through
// the transaction it is given commits or rolls back with the method, like
// any primitive; what it does outside the image (an HTTP POST) cannot be
// rolled back, so a conflicting commit that reruns the method repeats
// it, and a method that fails after the call has still made it. During a
// trial run a capability that is not ReadOnly never runs: its DryRun
// answers, or the trial stops at the call with ErrCapabilitySkipped,
// recorded as a note, and the method passes on what ran before it (its
// code after the call is audited but not trial-run). Read-only
// capabilities run for real in trials.
//
// A [MissionAcquireCapability] mission (from StartCycle or the bridge,
// with a selector, trial arguments, the capability's slot, a purpose and
// optionally install_as) has ALFRED write a proxy: the prompt shows each
// held capability's doc and signature, and the method grammar
// (methodspec.Spec.Capabilities) admits only a call of one of them, with
// its parameter names and its string prefixes (an http capability's
// allowed hosts), and a return of the result, a field or its decoded
// JSON. The proxy is audited, trial-run and installed like any method,
// on the target or on a new object named install_as that delegates to
// it. A message not understood by an object that holds capabilities
// starts one too, whose grammar admits ordinary methods as well.
//
// # Prompts within the context
//
// Every prompt a cycle sends is assembled within its window: the model's
// context minus the request's output bound minus the chat format and
// system prompt, counted in the model's tokens when the Model is a
// [TokenCounter] (one token per byte of Options.ContextSize otherwise). A
// prompt is a list of parts: fixed ones (the instruction and covenant, the
// selector and previewed arguments) that must fit, else the cycle fails at
// once with a [ContextError] naming the context it needs, and foldable
// ones that render within a limit in priority order: the object's
// description (slot names and kinds, values folded, methods by signature,
// the slots the message names first, a line saying how much was left
// out), the facets' answers, catalog passages, earlier method attempts.
// Each model call's prompt tokens and window are in the cycle log.
//
// # Parts
//
// vm keeps dispatch, the state machine, the personas, the cycle log and
// the wiring; what a cycle needs that can be read alone lives in packages
// of its own, none of which imports vm or another of them:
//
//   - vm/plan: BRICK's plan (facets addressed to personas), its grammar,
//     schema, length bound and parser. Imports gbnf.
//   - vm/methodspec: what ALFRED may write for one mission, as a typed
//     GBNF grammar built from the target's slots and methods and the
//     message's arguments, whose every program the guardian admits.
//     Imports gbnf, guardian, object.
//   - vm/prompt: prompts assembled from parts within a token window, and
//     the description of an object they carry. Imports object, guardian.
//   - vm/tiers: LoRA adapters moved between cold, warm and hot. Imports
//     object, object/blobfile.
//   - vm/sandbox: the MethodRunner that runs Starlark methods under limits
//     in worker processes. Imports object, guardian.
//
// Under them all are object (the image), guardian (the audit), gbnf
// (grammars) and errcode (the classes errors carry); above vm are the
// hosts (examples/batosd adapts llama and the bridge to it). TestLayers in
// the module's root checks this graph.
//
// A state prototype's builtin behaviour is a stateFunc: it gets the
// cycle's run (the plan, the facets' answers, the artifact so far) and the
// cycle's transaction explicitly from the cycle's drive loop and returns
// the next state's name. A behaviour the image replaces it with (a host
// primitive, a Starlark method) is sent to the cycle object as a message
// and answers the next state's name; the state objects are read in the
// cycle's own transaction, so a replaced state takes effect with the next
// cycle.
//
// # Model, personas and memory tiers
//
// The VM needs only a [Model] (one Generate method); the daemon adapts the
// llama package to it. Personas are objects (slots of personas_obj) with a
// system prompt, an adapter name and sampling defaults, editable like any
// object; a persona without an adapter runs the base model with its
// prompt. When the Model also implements [AdapterLoader], LoRA adapters
// move between cold (blobs in the store), warm (files in
// Options.CacheDir) and hot (loaded in the model) with LRU eviction and
// counters ([VM.Status]). The model and adapter files given in [Options]
// are imported as blobs once; [VM.MaterializeModel] writes the model's
// cache file only when it is missing or fails its hash. The catalog's
// sentence embedding model (Options.EmbedModelFile) is a blob of pLLM
// too, materialized by [VM.MaterializeEmbedModel].
//
// # Wiring (the daemon)
//
//	v, err := vm.Open(ctx, store, vm.Options{ModelFile: gguf, Adapters: loras, CacheDir: dir, Workers: n})
//	path, err := v.MaterializeModel(ctx) // load llama from path, then:
//	v.SetModel(adapter)                  // a vm.Model (and vm.AdapterLoader) over llama
//	v.Start(ctx)
//	res, err := v.Dispatch(ctx, "genesis_obj", "display_yourself", nil, nil)
//	...
//	v.Close(shutdownCtx) // then store.Close()
//
// The default sandbox runner re-executes the running binary as its worker
// process: call sandbox.Worker() first in main (see vm/sandbox).
//
// # Runtime and concurrency
//
// [Open] runs genesis on an empty store (or resumes); [VM.Start] starts
// Options.Workers workers over a bounded mission queue (a full queue is
// [ErrQueueFull]) and, when Options.Heartbeat is set, the autotelic loop
// that starts self-audit missions; [VM.Close] drains in-flight cycles until
// its context is done and then aborts them (their transactions roll back).
// All VM methods are safe for concurrent use. Model calls are bounded by
// Options.ModelConcurrency; with 1 (the default) the facets of a plan are
// asked in order, which keeps traces deterministic. A Model that is also a
// [BatchGenerator] gets the facets whose personas share an adapter (or
// none) as one batch call, decoded together; the other facets are asked
// one by one, and every facet keeps the step number and seed it has in
// the plan's order.
//
// # Caveats
//
// The cycle log is persisted when a cycle is queued, starts, before each
// model call and when it ends, so a crash keeps the trace up to the model
// call it interrupted (the record is then marked aborted). MaterializeModel hashes
// the whole cache file only when its verification stamp (package
// object/blobfile) no longer matches its size and modification time. A method's trial run
// uses the message's own arguments, so a method that works for them but
// not for others is installed; objects have no per-slot change times, so
// the object's description orders the slots the mission names first, then
// its methods, then the rest by name.
package vm
