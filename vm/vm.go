package vm

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/tiers"
)

// MethodRunner runs a Starlark method in the sandbox. *sandbox.Runner
// implements it; tests use fakes.
type MethodRunner interface {
	Call(ctx context.Context, tx *object.Tx, self object.OID, m *object.Method, args []object.Value, kwargs map[string]object.Value) (object.Value, error)
}

// Retriever finds passages of the knowledge catalog relevant to a query.
// It is optional; the daemon adapts the catalog to it.
type Retriever interface {
	Retrieve(ctx context.Context, tx *object.Tx, query string, limit int) ([]string, error)
}

// Options configure a VM. The zero value of every field means its default.
type Options struct {
	// Model generates text for the personas. It may be nil at Open and set
	// later with SetModel; cycles that need it fail with ErrNoModel.
	Model Model
	// Runner runs Starlark methods. nil means the VM builds the default
	// sandbox runner (see NewRunner) with SandboxLimits.
	Runner MethodRunner
	// Retriever, when not nil, feeds catalog passages into the prompts.
	Retriever Retriever
	// Workers is the number of cycles that run at once (default 1).
	Workers int
	// QueueSize bounds the missions waiting for a worker (default 64). A
	// mission that does not fit is refused with ErrQueueFull.
	QueueSize int
	// ModelConcurrency bounds concurrent Model.Generate calls (default 1).
	// With 1, the facets of a plan are asked one after another, in order.
	ModelConcurrency int
	// Heartbeat is the interval of the autotelic loop, which starts a
	// cognitive-efficiency self-audit mission on the orchestrator each
	// tick. 0 disables it.
	Heartbeat time.Duration
	// CycleTimeout bounds one cognitive cycle, model calls included
	// (default 10 minutes).
	CycleTimeout time.Duration
	// Logger receives the operator trace; nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// CacheDir holds materialized model and adapter files (the warm tier);
	// "" means a "batos-cache" directory under os.TempDir().
	CacheDir string
	// ModelID names the base model in the image (default
	// "meta-llama/Meta-Llama-3.1-8B-Instruct", as in the blueprint).
	ModelID string
	// ModelFile is a GGUF file imported into the image as a blob when the
	// image has no model blob yet (at genesis or a later open).
	ModelFile string
	// EmbedModelFile is a sentence embedding GGUF file (a BERT-family
	// model) imported into the image as a blob when the image has none or
	// holds another file's; MaterializeEmbedModel writes it to the cache.
	EmbedModelFile string
	// Adapters maps adapter names to LoRA files imported as blobs when the
	// image does not hold an adapter of that name. A persona whose name
	// matches an adapter (case-insensitively) is set to use it.
	Adapters map[string]string
	// OnCycleEnd, when not nil, is called with the final record of every
	// cycle that ends (complete, failed or aborted), after it is in the
	// cycle log; for metrics. It runs on the cycle's worker: keep it short.
	OnCycleEnd func(CycleRecord)
	// OnCycleEvent, when not nil, is called with each event of every
	// cycle as it happens (queued, state entered, trace line, model call
	// ended, ended), on the goroutine that caused it (a cycle's worker, or the
	// caller of StartCycle or Dispatch), with no lock of the VM held: it
	// must be quick (hand the event to a channel).
	OnCycleEvent func(CycleEvent)
	// Progress, when not nil, reports blob imports and materializations:
	// name is the file, done and total are bytes.
	Progress func(name string, done, total int64)
	// HotAdapters is the number of adapters kept resident in the model
	// (default 2). WarmAdapters is the number of materialized adapter files
	// kept (default 4).
	HotAdapters, WarmAdapters int
	// KeepCycles and KeepCyclesFor bound the cycle log: records beyond the
	// newest KeepCycles, or of cycles that ended more than KeepCyclesFor
	// ago, are deleted (the cycle objects and the methods they wrote
	// stay). Zero keeps every record. Pruning runs at Open and after every
	// 64th cycle.
	KeepCycles    int
	KeepCyclesFor time.Duration
	// TraceLimit bounds each prompt and output kept in the cycle log, in
	// bytes (default 4096).
	TraceLimit int
	// SandboxLimits are the limits of the default sandbox runner.
	SandboxLimits SandboxLimits
	// ContextSize is the model's context window in tokens when the Model
	// does not say (it is not a TokenCounter, or reports 0); default 8192.
	// Without a TokenCounter every byte counts as one token.
	ContextSize int
	// MethodAttempts bounds how often ALFRED writes a method in one cycle:
	// an attempt that fails the guardian or its trial run is fed back for
	// another, up to this many (default 3). The cycle fails when all fail.
	MethodAttempts int
	// NoMethodGrammar turns off the method grammar for strong models:
	// ALFRED's output is then cleaned of Markdown and prose, audited,
	// trial-run and repaired the same way.
	NoMethodGrammar bool
}

// SandboxLimits bound one method call in the default sandbox runner. Zero
// fields mean the sandbox's defaults.
type SandboxLimits struct {
	MaxSteps      uint64        // Starlark steps per call
	MaxAllocBytes int64         // memory per call; < 0 runs calls in process, unbounded
	MaxPrintBytes int           // print output per call
	MaxCallDepth  int           // nested method calls
	Timeout       time.Duration // wall time per call
}

func (o *Options) ensureDefaults() {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 64
	}
	if o.ModelConcurrency <= 0 {
		o.ModelConcurrency = 1
	}
	if o.CycleTimeout <= 0 {
		o.CycleTimeout = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ModelID == "" {
		o.ModelID = "meta-llama/Meta-Llama-3.1-8B-Instruct"
	}
	if o.HotAdapters <= 0 {
		o.HotAdapters = 2
	}
	if o.WarmAdapters <= 0 {
		o.WarmAdapters = 4
	}
	if o.TraceLimit <= 0 {
		o.TraceLimit = 4096
	}
	if o.ContextSize <= 0 {
		o.ContextSize = 8192
	}
	if o.MethodAttempts <= 0 {
		o.MethodAttempts = 3
	}
}

// VM is the Universal Virtual Machine: it dispatches messages to the
// objects of a Store and turns the messages they do not understand into
// cognitive cycles. All methods are safe for concurrent use.
type VM struct {
	store *object.Store
	opts  Options
	log   *slog.Logger
	r     roots // OIDs of the primordial objects, fixed after Open

	primMu sync.RWMutex
	prims  map[string]PrimitiveFunc
	caps   map[string]*Capability
	states map[string]stateFunc // builtin state behaviours by primitive name, unless replaced

	modelMu     sync.RWMutex
	model       Model
	modelSem    chan struct{}
	runner      MethodRunner
	closeRunner func() error // set when the VM built the runner
	tiers       *tiers.Tiers

	queue chan *mission

	mu       sync.Mutex
	started  bool
	closed   bool
	reserved int                          // queue slots reserved by missions being created
	inflight map[missionKey]*pending      // doesNotUnderstand missions not finished
	live     map[object.OID]*cycleRun     // queued and running cycles
	done     map[object.OID]chan struct{} // closed when the cycle ends

	runCtx    context.Context // canceled to abort in-flight cycles
	runCancel context.CancelFunc
	hbCancel  context.CancelFunc
	wg        sync.WaitGroup

	start      time.Time
	cyclesDone atomic.Int64
	finished   atomic.Int64 // cycles ended, for the log's pruning cadence
	cyclesFail atomic.Int64
	cyclesAbrt atomic.Int64

	methodCalls, methodFailed, methodLimits atomic.Int64
}

// Open opens the VM on store. On a store without a genesis object it
// incarnates the primordial objects in one transaction (importing
// Options.ModelFile and Options.Adapters as blobs first); on a later open it
// resumes from the living image, marks cycles that a previous process left
// unfinished as aborted, and imports only files the image lacks. Open does
// not start workers; call Start.
func Open(ctx context.Context, store *object.Store, opts Options) (*VM, error) {
	opts.ensureDefaults()
	v := &VM{
		store:    store,
		opts:     opts,
		log:      opts.Logger,
		prims:    make(map[string]PrimitiveFunc),
		caps:     make(map[string]*Capability),
		states:   make(map[string]stateFunc),
		model:    opts.Model,
		modelSem: make(chan struct{}, opts.ModelConcurrency),
		queue:    make(chan *mission, opts.QueueSize),
		inflight: make(map[missionKey]*pending),
		live:     make(map[object.OID]*cycleRun),
		done:     make(map[object.OID]chan struct{}),
		start:    opts.Now(),
	}
	v.runCtx, v.runCancel = context.WithCancel(context.Background())
	v.registerBuiltins()
	v.tiers = tiers.New(tiers.Options{Dir: v.cacheDir(), Hot: opts.HotAdapters, Warm: opts.WarmAdapters, Materialize: v.materialize, Log: v.line})
	if err := v.genesis(ctx); err != nil {
		return nil, err
	}
	if err := v.importEmbedModel(ctx); err != nil {
		return nil, err
	}
	if err := v.recoverCycleLog(ctx); err != nil {
		return nil, err
	}
	if _, err := v.PruneCycles(ctx); err != nil {
		return nil, err
	}
	v.runner = opts.Runner
	if v.runner == nil {
		r := v.NewRunner(opts.SandboxLimits)
		v.runner = r
		if c, ok := r.(io.Closer); ok {
			v.closeRunner = c.Close
		}
	}
	v.runner = countedRunner{r: v.runner, calls: &v.methodCalls, failed: &v.methodFailed, limits: &v.methodLimits}
	return v, nil
}

// Store returns the store the VM runs on.
func (v *VM) Store() *object.Store { return v.store }

// SetModel sets (or replaces) the model. The daemon calls it after Open
// when the model is loaded from the file MaterializeModel returns.
func (v *VM) SetModel(m Model) {
	v.modelMu.Lock()
	v.model = m
	v.modelMu.Unlock()
	v.tiers.Reset()
}

func (v *VM) currentModel() Model {
	v.modelMu.RLock()
	defer v.modelMu.RUnlock()
	return v.model
}

// Start starts the workers and, when Options.Heartbeat is set, the
// autotelic loop. They run until Close.
func (v *VM) Start(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return ErrClosed
	}
	if v.started {
		return ErrStarted
	}
	v.started = true
	for i := range v.opts.Workers {
		v.wg.Add(1)
		go v.worker(i)
	}
	if v.opts.Heartbeat > 0 {
		hbCtx, cancel := context.WithCancel(v.runCtx)
		v.hbCancel = cancel
		v.wg.Add(1)
		go v.autotelicLoop(hbCtx)
	}
	v.log.Info("[UVM] System is live. Awaiting Architect's command...", "workers", v.opts.Workers)
	return nil
}

// Run starts the VM and blocks until ctx is done, then closes it, giving
// in-flight cycles drain to finish.
func (v *VM) Run(ctx context.Context, drain time.Duration) error {
	if err := v.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	cctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	return v.Close(cctx)
}

// Close stops the VM: new missions are refused with ErrClosed, the
// heartbeat stops, and the workers drain the queue and finish in-flight
// cycles until ctx is done. Then the remaining cycles are aborted: their
// transactions roll back and the cycle log records them as aborted. Close
// does not close the store.
func (v *VM) Close(ctx context.Context) error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return ErrClosed
	}
	v.closed = true
	started := v.started
	if v.hbCancel != nil {
		v.hbCancel()
	}
	close(v.queue) // senders hold v.mu and check closed
	v.mu.Unlock()

	if !started {
		v.runCancel()
		for m := range v.queue {
			v.abortQueued(m)
		}
		return v.releaseRunner()
	}
	drained := make(chan struct{})
	go func() { v.wg.Wait(); close(drained) }()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		v.log.Warn("[UVM] Shutdown deadline reached; aborting in-flight cycles.")
		err = ctx.Err()
	}
	v.runCancel()
	<-drained
	if rerr := v.releaseRunner(); err == nil {
		err = rerr
	}
	v.log.Info("[UVM] System has been decommissioned.")
	return err
}

func (v *VM) releaseRunner() error {
	if v.closeRunner == nil {
		return nil
	}
	return v.closeRunner()
}

// Status is a snapshot of the VM for the status command.
type Status struct {
	QueueDepth    int           // missions waiting for a worker
	QueueCapacity int           // Options.QueueSize
	Workers       int           // Options.Workers
	Running       int           // cycles queued or running
	CyclesDone    int64         // cycles completed since Open
	CyclesFailed  int64         // cycles failed since Open
	CyclesAborted int64         // cycles aborted since Open
	Adapters      AdapterStatus // memory tiers
	Uptime        time.Duration // since Open
	Model         bool          // whether a model is set
	ContextSize   int           // the model's context window in tokens (as budgeted)
	Methods       MethodStats   // the runner's calls since Open
}

// Status returns a snapshot of the VM's counters.
func (v *VM) Status() Status {
	v.mu.Lock()
	running := len(v.live)
	v.mu.Unlock()
	return Status{
		QueueDepth:    len(v.queue),
		QueueCapacity: v.opts.QueueSize,
		Workers:       v.opts.Workers,
		Running:       running,
		CyclesDone:    v.cyclesDone.Load(),
		CyclesFailed:  v.cyclesFail.Load(),
		CyclesAborted: v.cyclesAbrt.Load(),
		Adapters:      v.adapterStatus(),
		Uptime:        v.opts.Now().Sub(v.start),
		Model:         v.currentModel() != nil,
		ContextSize:   v.counter().ContextSize(),
		Methods: MethodStats{Calls: v.methodCalls.Load(), Failed: v.methodFailed.Load(),
			LimitHits: v.methodLimits.Load()},
	}
}

// worker runs missions from the queue until it is closed.
func (v *VM) worker(i int) {
	defer v.wg.Done()
	for m := range v.queue {
		if v.runCtx.Err() != nil {
			v.abortQueued(m)
			continue
		}
		v.runCycle(m)
	}
}

// line logs one operator trace line.
func (v *VM) line(msg string, attrs ...any) { v.log.Info(msg, attrs...) }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var errMiss = errors.New("vm: miss")

func oidAttr(oid object.OID) slog.Attr { return slog.Uint64("oid", uint64(oid)) }

func cycleAttr(id object.OID) slog.Attr { return slog.Uint64("cycle", uint64(id)) }
