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
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/sandbox"
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
}

var _ bridge.Handler = (*handler)(nil)

func ok(v any) *wire.Reply { return &wire.Reply{Status: wire.StatusOK, Result: wire.Value{V: v}} }

func fail(code string, err error) *wire.Reply {
	return &wire.Reply{Status: wire.StatusError, Code: code, Message: err.Error()}
}

// errorReply maps an error to a stable wire code.
func errorReply(err error) *wire.Reply {
	switch {
	case errors.Is(err, object.ErrNotFound), errors.Is(err, vm.ErrNoCycle):
		return fail(wire.CodeNotFound, err)
	case errors.Is(err, vm.ErrQueueFull), errors.Is(err, object.ErrConflict):
		return fail(wire.CodeBusy, err) // retryable
	case errors.Is(err, sandbox.ErrOutput), errors.Is(err, sandbox.ErrMemory):
		return fail(wire.CodeTooLarge, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fail(wire.CodeTimeout, err)
	case errors.Is(err, vm.ErrClosed), errors.Is(err, object.ErrClosed), errors.Is(err, sandbox.ErrClosed),
		errors.Is(err, vm.ErrNoModel), errors.Is(err, context.Canceled), errors.Is(err, object.ErrDiskFull):
		return fail(wire.CodeUnavailable, err)
	case errors.Is(err, sandbox.ErrCanceled):
		return fail(wire.CodeTimeout, err)
	case errors.Is(err, vm.ErrBadSelector), errors.Is(err, object.ErrInvalid), errors.Is(err, catalog.ErrEmptyDocID),
		errors.Is(err, catalog.ErrMode), errors.Is(err, vm.ErrNotCallable), errors.Is(err, errBadArgument),
		errors.Is(err, vm.ErrAudit), errors.Is(err, sandbox.ErrRejected), errors.Is(err, sandbox.ErrCovenant),
		errors.Is(err, sandbox.ErrSteps), errors.Is(err, sandbox.ErrDepth), errors.Is(err, sandbox.ErrFailed):
		// The request or the method it ran is at fault, not the server.
		return fail(wire.CodeBadRequest, err)
	default:
		return fail(wire.CodeInternal, err)
	}
}

var errBadArgument = errors.New("batosd: bad argument")

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
	res, err := h.vm.Dispatch(ctx, req.Target.String(), req.MessageName, args, kwargs)
	if err != nil {
		return nil, err
	}
	if res.Mission {
		return wire.Map{
			"mission":  true,
			"message":  res.Message,
			"cycle_id": strconv.FormatUint(uint64(res.Cycle), 10),
			"target":   int64(res.Target),
		}, nil
	}
	return toWire(res.Value), nil
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
	return wire.Map{"cycle_id": strconv.FormatUint(uint64(id), 10)}, nil
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
	id, err := strconv.ParseUint(req.CycleID, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: cycle_id %q", errBadArgument, req.CycleID)
	}
	rec, err := h.vm.Cycle(ctx, object.OID(id))
	if err != nil {
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
		MissionBrief: wire.Map{
			"type":     r.Mission,
			"selector": r.Selector,
			"brief":    r.Brief,
		},
	}
	for _, s := range r.States {
		c.Transitions = append(c.Transitions, wire.Transition{State: s.Name, At: stamp(s.Start), Note: s.Duration.String()})
	}
	if full {
		steps := wire.List{}
		for _, s := range r.Steps {
			steps = append(steps, wire.Map{"state": s.State, "persona": s.Persona, "adapter": s.Adapter,
				"prompt": s.Prompt, "output": s.Output, "error": s.Error, "duration_ms": s.Duration.Milliseconds(),
				"prompt_tokens": int64(s.PromptTokens), "window": int64(s.Window), "max_tokens": int64(s.MaxTokens),
				"budget_us": s.Budget.Microseconds()})
		}
		methods := wire.List{}
		for _, a := range r.Methods {
			fs := make(wire.List, len(a.Findings))
			for i, f := range a.Findings {
				fs[i] = f
			}
			methods = append(methods, wire.Map{"attempt": int64(a.Attempt), "source": a.Source, "verdict": a.Verdict,
				"findings": fs, "trial": a.Trial, "error": a.Error})
		}
		lines := make(wire.List, len(r.Lines))
		for i, l := range r.Lines {
			lines[i] = l
		}
		findings := make(wire.List, len(r.Findings))
		for i, f := range r.Findings {
			findings[i] = f
		}
		c.Result = wire.Value{V: wire.Map{"outcome": r.Outcome, "result": r.Result, "lines": lines,
			"steps": steps, "findings": findings, "attempts": int64(r.Attempts),
			"methods": methods, "context_size": int64(r.ContextSize)}}
	}
	return c
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
	var n int
	err = h.store.Update(ctx, func(tx *object.Tx) error {
		var err error
		n, err = h.catalog.Index(ctx, tx, docID, req.Text, meta)
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
		Model:         h.model,
		Extra: wire.Map{
			"device":         h.device,
			"layers":         int64(h.layers),
			"gpu_layers":     int64(h.gpu),
			"queue_depth":    int64(st.QueueDepth),
			"queue_capacity": int64(st.QueueCapacity),
			"workers":        int64(st.Workers),
			"cycles_done":    st.CyclesDone,
			"cycles_failed":  st.CyclesFailed,
			"cycles_aborted": st.CyclesAborted,
			"context_size":   int64(st.ContextSize),
			"adapters":       adapterStatus(a),
			"image_bytes":    sp.Used,
			"free_bytes":     sp.Free,
		},
	}, nil
}

func strList(s []string) wire.List {
	out := make(wire.List, len(s))
	for i, e := range s {
		out[i] = e
	}
	return out
}

func adapterStatus(a vm.AdapterStatus) wire.Map {
	return wire.Map{
		"hot": strList(a.Hot), "warm": strList(a.Warm), "cold": strList(a.Cold),
		"hot_hits": a.HotHits, "warm_hits": a.WarmHits, "cold_loads": a.ColdLoads,
		"hot_loads": a.HotLoads, "hot_evictions": a.HotEvictions, "warm_evictions": a.WarmEvictions,
	}
}
