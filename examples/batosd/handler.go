package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
	"github.com/batos/batos/catalog"
	"github.com/batos/batos/errcode"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
)

// handler answers bridge requests with the VM and the catalog.
type handler struct {
	vm      *vm.VM
	store   *object.Store
	catalog *catalog.Catalog // nil: ingest and search are unavailable
	model   string           // description of the loaded model
	device  string           // where its layers are, e.g. "CUDA0:33 output:CUDA0"
	layers  int              // the model's repeating layers
	gpu     int              // how many of them are on a GPU
	started time.Time
	version string
	// embedder describes the catalog's embedder ("" when not reported).
	embedder string
}

var _ bridge.Handler = (*handler)(nil)

func ok(v any) *wire.Reply { return &wire.Reply{Status: wire.StatusOK, Result: wire.Value{V: v}} }

func fail(code string, err error) *wire.Reply {
	return &wire.Reply{Status: wire.StatusError, Code: code, Message: err.Error()}
}

// foreignCodes are the codes of errors that cannot carry one: the
// context's (checked first: they say why a call stopped, where a
// sentinel wrapping them, such as sandbox.ErrCanceled, only says that it
// did).
var foreignCodes = []struct {
	err  error
	code string
}{
	{context.DeadlineExceeded, wire.CodeTimeout},
	{context.Canceled, wire.CodeUnavailable}, // the server is shutting down
}

// errorCode returns the stable wire code of err: a foreign error's, else
// the class errcode.Of finds on err's chain (the sentinels of object, vm,
// vm/sandbox and catalog, and this package's own), else internal.
func errorCode(err error) string {
	for _, f := range foreignCodes {
		if errors.Is(err, f.err) {
			return f.code
		}
	}
	if c := errcode.Of(err); c != "" {
		return c
	}
	return wire.CodeInternal
}

// errorReply answers err with its stable wire code.
func errorReply(err error) *wire.Reply { return fail(errorCode(err), err) }

var (
	// errBadArgument is a request value the handler cannot convert.
	errBadArgument = errcode.New(wire.CodeBadRequest, "batosd: bad argument")
	// errWaitDeadline answers a wait_cycle whose deadline passed first.
	errWaitDeadline = errcode.New(wire.CodeDeadlineExceeded, "batosd: the cycle is still running at the wait's deadline")
)

func (h *handler) Handle(ctx context.Context, req *wire.Request) *wire.Reply {
	var (
		result any
		err    error
	)
	switch req.Command {
	case wire.CmdDispatchMessage:
		result, err = h.dispatch(ctx, req)
	case wire.CmdInitiateCognitiveCycle:
		result, err = h.startCycle(ctx, req)
	case wire.CmdInspect:
		result, err = h.inspect(ctx, req)
	case wire.CmdSetSlot:
		result, err = h.setSlot(ctx, req)
	case wire.CmdListCycles:
		result, err = h.listCycles(ctx, req)
	case wire.CmdShowCycle:
		result, err = h.showCycle(ctx, req)
	case wire.CmdWaitCycle:
		result, err = h.waitCycle(ctx, req)
	case wire.CmdIngest:
		result, err = h.ingest(ctx, req)
	case wire.CmdSearch:
		result, err = h.search(ctx, req)
	case wire.CmdStatus:
		result, err = h.status(ctx)
	case wire.CmdDefineMethod:
		result, err = h.defineMethod(ctx, req)
	case wire.CmdMethodHistory:
		result, err = h.methodHistory(ctx, req)
	case wire.CmdRevertMethod:
		result, err = h.revertMethod(ctx, req)
	case wire.CmdClone:
		result, err = h.clone(ctx, req)
	case wire.CmdRemoveSlot:
		result, err = h.removeSlot(ctx, req)
	case wire.CmdExport:
		result, err = h.export(ctx, req)
	case wire.CmdImport:
		result, err = h.importObjects(ctx, req)
	case wire.CmdBackup:
		result, err = h.backup(ctx, req)
	case wire.CmdCollectBlobs:
		result, err = h.collectBlobs(ctx, req)
	case wire.CmdGrantCapability:
		result, err = h.grantCapability(ctx, req)
	default:
		return fail(wire.CodeUnknownCommand, fmt.Errorf("unknown command %q", req.Command))
	}
	if err != nil {
		return errorReply(err)
	}
	return ok(result)
}

func (h *handler) dispatch(ctx context.Context, req *wire.Request) (any, error) {
	args, err := listFromWire(req.Args)
	if err != nil {
		return nil, fmt.Errorf("%w: args: %v", errBadArgument, err)
	}
	kwargs, err := mapFromWire(req.Kwargs)
	if err != nil {
		return nil, fmt.Errorf("%w: kwargs: %v", errBadArgument, err)
	}
	if err := h.checkRefs(ctx, args, kwargs); err != nil {
		return nil, err
	}
	res, err := h.vm.Dispatch(ctx, req.Target.String(), req.MessageName, args, kwargs)
	if err != nil {
		return nil, err
	}
	if res.Mission {
		return &wire.MissionStarted{
			Mission: true,
			Message: res.Message,
			CycleID: res.Cycle.String(),
			Target:  uint64(res.Target),
		}, nil
	}
	return toWire(res.Value), nil
}

// checkRefs fails with object.ErrNotFound when a reference in vals names
// no object, so that a message cannot pass a dangling one to a method
// (vm.SetSlot checks set_slot's own).
func (h *handler) checkRefs(ctx context.Context, vals ...object.Value) error {
	if len(object.AppendRefs(nil, object.List(vals))) == 0 {
		return nil // most messages carry none: no transaction
	}
	return h.store.View(ctx, func(tx *object.Tx) error {
		for _, v := range vals {
			if err := tx.CheckRefs(v); err != nil {
				return err
			}
		}
		return nil
	})
}

func (h *handler) startCycle(ctx context.Context, req *wire.Request) (any, error) {
	brief, err := mapFromWire(req.MissionBrief)
	if err != nil {
		return nil, fmt.Errorf("%w: mission_brief: %v", errBadArgument, err)
	}
	id, err := h.vm.StartCycle(ctx, req.Target.String(), brief)
	if err != nil {
		return nil, err
	}
	return &wire.CycleStarted{CycleID: id.String()}, nil
}

func (h *handler) inspect(ctx context.Context, req *wire.Request) (any, error) {
	ins, err := h.vm.Inspect(ctx, req.Target.String())
	if err != nil {
		return nil, err
	}
	info := wire.ObjectInfo{OID: uint64(ins.OID), Repr: ins.Repr, Parents: []wire.Ref{}, Slots: []wire.SlotInfo{}, Methods: []wire.MethodInfo{}}
	if !req.Target.ByOID {
		info.Name = req.Target.Name
	}
	for _, p := range ins.Parents {
		info.Parents = append(info.Parents, wire.ByNumber(uint64(p)))
	}
	for _, s := range ins.Slots {
		switch {
		case s.Method != nil:
			m := wire.MethodInfo{Name: s.Name, Source: s.Method.Source, Findings: []wire.Finding{}}
			if s.Method.Cycle != 0 {
				m.CycleID = s.Method.Cycle.String()
			}
			m.Findings = append(m.Findings, wire.Finding{Rule: "verdict", Message: s.Method.Verdict})
			if s.Method.Author != "" {
				m.Findings = append(m.Findings, wire.Finding{Rule: "author", Message: s.Method.Author})
			}
			for _, f := range s.Method.Findings {
				m.Findings = append(m.Findings, wire.Finding{Rule: "audit", Message: f})
			}
			info.Methods = append(info.Methods, m)
		case s.Kind == vm.SlotPrimitive:
			info.Methods = append(info.Methods, wire.MethodInfo{Name: s.Name, Native: true, Findings: []wire.Finding{}})
		case s.Kind == vm.SlotParent:
			// Listed in Parents.
		default:
			info.Slots = append(info.Slots, wire.SlotInfo{Name: s.Name, Kind: s.Kind, Value: wire.Value{V: toWire(s.Value)}})
		}
	}
	return &info, nil
}

func (h *handler) setSlot(ctx context.Context, req *wire.Request) (any, error) {
	v, err := fromWire(req.Value.V)
	if err != nil {
		return nil, fmt.Errorf("%w: value: %v", errBadArgument, err)
	}
	// vm.SetSlot checks, in its transaction, that references name
	// objects, that a parent* slot holds references and that the state
	// machine stays wired.
	if err := h.vm.SetSlot(ctx, req.Target.String(), req.Slot, v); err != nil {
		return nil, err
	}
	return true, nil
}

func (h *handler) listCycles(ctx context.Context, req *wire.Request) (any, error) {
	limit := int(req.Limit)
	if limit <= 0 {
		limit = 20
	}
	recs, err := h.vm.Cycles(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := &wire.CycleList{Cycles: []wire.CycleInfo{}}
	for i := range recs {
		out.Cycles = append(out.Cycles, cycleInfo(&recs[i], false))
	}
	return out, nil
}

func (h *handler) showCycle(ctx context.Context, req *wire.Request) (any, error) {
	id, err := parseCycleID(req.CycleID)
	if err != nil {
		return nil, err
	}
	rec, err := h.vm.Cycle(ctx, id)
	if err != nil {
		return nil, err
	}
	info := cycleInfo(rec, true)
	return &info, nil
}

func parseCycleID(s string) (object.OID, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: cycle_id %q", errBadArgument, s)
	}
	return object.OID(id), nil
}

// waitCycle answers like showCycle once the cycle has ended, or with
// errWaitDeadline when req.TimeoutMS (wire.DefaultWaitTimeout when zero,
// cut to wire.MaxWaitTimeout) passes first. The bridge runs it outside
// its workers and bounds how many it holds (bridge.Options.MaxWaits).
func (h *handler) waitCycle(ctx context.Context, req *wire.Request) (any, error) {
	id, err := parseCycleID(req.CycleID)
	if err != nil {
		return nil, err
	}
	d := wire.DefaultWaitTimeout
	if req.TimeoutMS > 0 {
		d = min(time.Duration(req.TimeoutMS)*time.Millisecond, wire.MaxWaitTimeout)
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	rec, err := h.vm.WaitCycle(wctx, id)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: cycle %d after %v", errWaitDeadline, uint64(id), d)
		}
		return nil, err
	}
	info := cycleInfo(rec, true)
	return &info, nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// cycleInfo converts a cycle record; full adds the trace, model steps and
// audit findings.
func cycleInfo(r *vm.CycleRecord, full bool) wire.CycleInfo {
	c := wire.CycleInfo{
		ID:       r.ID.String(),
		Target:   wire.ByNumber(uint64(r.Target)),
		State:    strings.ToUpper(r.Status),
		Started:  stamp(r.Started),
		Finished: stamp(r.Ended),
		Error:    r.Error,
		MissionBrief: wire.MissionBrief{
			Type:     r.Mission,
			Selector: r.Selector,
			Brief:    r.Brief,
		},
	}
	for _, s := range r.States {
		c.Transitions = append(c.Transitions, wire.Transition{State: s.Name, At: stamp(s.Start), DurationUS: s.Duration.Microseconds()})
	}
	if !full {
		return c
	}
	// Lists encode as arrays, empty for nil: the keys are always there.
	res := &wire.CycleResult{Outcome: r.Outcome, Result: r.Result, Lines: r.Lines,
		Findings: r.Findings, Attempts: int64(r.Attempts), ContextSize: int64(r.ContextSize)}
	for _, s := range r.Steps {
		res.Steps = append(res.Steps, wire.CycleStep{State: s.State, Persona: s.Persona, Adapter: s.Adapter,
			Prompt: s.Prompt, Output: s.Output, Error: s.Error, DurationMS: s.Duration.Milliseconds(),
			PromptTokens: int64(s.PromptTokens), Window: int64(s.Window), MaxTokens: int64(s.MaxTokens),
			OutputTokens: int64(s.OutputTokens), PrefillUS: s.Prefill.Microseconds(), DecodeUS: s.Decode.Microseconds(),
			BudgetUS: s.Budget.Microseconds(), SampleUS: s.Sample.Microseconds(), ForcedTokens: int64(s.ForcedTokens),
			Batch: int64(s.Batch)})
	}
	for _, a := range r.Methods {
		res.Methods = append(res.Methods, wire.MethodAttempt{Attempt: int64(a.Attempt), Source: a.Source,
			Verdict: a.Verdict, Findings: a.Findings, Trial: a.Trial, Error: a.Error})
	}
	for _, k := range r.Capabilities {
		res.Capabilities = append(res.Capabilities, wire.CapabilityCall{Capability: k.Capability, Object: k.Object, Args: k.Args,
			BytesIn: int64(k.BytesIn), BytesOut: int64(k.BytesOut), DurationUS: k.Duration.Microseconds(),
			Trial: k.Trial, DryRun: k.DryRun, Skipped: k.Skipped, Error: k.Error})
	}
	c.Result = res
	return c
}

func (h *handler) grantCapability(ctx context.Context, req *wire.Request) (any, error) {
	oid, err := h.vm.GrantCapability(ctx, req.Target.String(), req.Slot, req.Capability)
	if err != nil {
		return nil, err
	}
	return &wire.CapabilityGranted{Capability: req.Capability, Slot: req.Slot, Object: uint64(oid)}, nil
}

func (h *handler) ingest(ctx context.Context, req *wire.Request) (any, error) {
	if h.catalog == nil {
		return nil, fmt.Errorf("%w: no catalog", vm.ErrNoModel)
	}
	meta, err := stringMap(req.Metadata)
	if err != nil {
		return nil, err
	}
	docID := req.DocID
	if docID == "" {
		docID = fmt.Sprintf("doc-%d", time.Now().UnixNano())
	}
	// Chunk and embed outside the transaction: a conflict then rewrites
	// the document without embedding it again.
	p, err := h.catalog.Prepare(ctx, docID, req.Text, meta)
	if err != nil {
		return nil, err
	}
	var n int
	err = h.store.Update(ctx, func(tx *object.Tx) error {
		var err error
		n, err = h.catalog.IndexPrepared(ctx, tx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &wire.IngestResult{DocID: docID, Chunks: int64(n)}, nil
}

func (h *handler) search(ctx context.Context, req *wire.Request) (any, error) {
	if h.catalog == nil {
		return nil, fmt.Errorf("%w: no catalog", vm.ErrNoModel)
	}
	filter, err := stringMap(req.Filters)
	if err != nil {
		return nil, err
	}
	q := catalog.Query{Text: req.Query, Limit: int(req.Limit), Filter: filter}
	switch strings.ToLower(req.Mode) {
	case "", "auto":
	case "bm25", "text":
		q.Mode = catalog.BM25
	case "vector":
		q.Mode = catalog.Vector
	case "hybrid":
		q.Mode = catalog.Hybrid
	default:
		return nil, fmt.Errorf("%w: mode %q (auto, bm25, vector, hybrid)", errBadArgument, req.Mode)
	}
	var res []catalog.Result
	err = h.store.View(ctx, func(tx *object.Tx) error {
		var err error
		res, err = h.catalog.Search(ctx, tx, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &wire.SearchResult{Hits: []wire.SearchHit{}}
	for _, r := range res {
		meta := wire.Map{}
		for k, v := range r.Meta {
			meta[k] = v
		}
		out.Hits = append(out.Hits, wire.SearchHit{DocID: r.DocID, ChunkID: r.ChunkOID.String(), Score: r.Score, Text: r.Text, Metadata: meta})
	}
	return out, nil
}

func stringMap(m wire.Map) (map[string]string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: metadata %q must be a string", errBadArgument, k)
		}
		out[k] = s
	}
	return out, nil
}

func (h *handler) status(ctx context.Context) (any, error) {
	st := h.vm.Status()
	objects := h.store.ObjectCount()
	sp, err := h.store.Space()
	if err != nil {
		return nil, err
	}
	a := st.Adapters
	return &wire.StatusInfo{
		Version:       h.version,
		UptimeSeconds: time.Since(h.started).Seconds(),
		Objects:       objects,
		Cycles:        st.CyclesDone + st.CyclesFailed + st.CyclesAborted,
		ActiveCycles:  int64(st.Running),
		CyclesDone:    st.CyclesDone,
		CyclesFailed:  st.CyclesFailed,
		CyclesAborted: st.CyclesAborted,
		Model:         h.model,
		Device:        h.device,
		Layers:        int64(h.layers),
		GPULayers:     int64(h.gpu),
		ContextSize:   int64(st.ContextSize),
		QueueDepth:    int64(st.QueueDepth),
		QueueCapacity: int64(st.QueueCapacity),
		Workers:       int64(st.Workers),
		ImageBytes:    sp.Used,
		FreeBytes:     sp.Free,
		Adapters: &wire.AdapterInfo{
			Hot: a.Hot, Warm: a.Warm, Cold: a.Cold,
			HotHits: a.HotHits, WarmHits: a.WarmHits, ColdLoads: a.ColdLoads,
			HotLoads: a.HotLoads, HotEvictions: a.HotEvictions, WarmEvictions: a.WarmEvictions,
		},
		Extra: h.embedderStatus(ctx),
	}, nil
}
