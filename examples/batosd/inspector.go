package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/batos/batos/bridge/wire"
	"github.com/batos/batos/catalog"
	"github.com/batos/batos/errcode"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/prompt"
)

// The inspector's pages: one HTML page and its script and style, served
// from the binary. The page draws everything from the JSON under /api/
// and the event stream /api/events.
//
//go:embed inspector
var inspectorFiles embed.FS

// Bounds of what the inspector sends, so that a hostile object (1 MiB
// strings, deep nesting, thousands of slots) renders bounded.
const (
	previewBytes   = 240      // a slot value's preview
	previewDepth   = 3        // nesting shown in a preview
	maxSlotsShown  = 500      // slots of one object
	maxSourceBytes = 64 << 10 // a method's source
	maxGraphNodes  = 32       // objects in a delegation graph
	maxChunkText   = 2000     // a chunk's text on a document's page
	maxChunksShown = 200      // chunks of one document
	maxSendBody    = 1 << 20  // a send request's body
	maxSSEClients  = 64
)

// inspector serves the browser inspector's API.
type inspector struct {
	h   *handler
	hub *eventHub
	// writable reports whether r may change the image (send a message).
	writable func(r *http.Request) bool
}

func (in *inspector) routes(mux *http.ServeMux) {
	static, _ := fs.Sub(inspectorFiles, "inspector")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'")
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.HandleFunc("GET /api/status", in.status)
	mux.HandleFunc("GET /api/roots", in.roots)
	mux.HandleFunc("GET /api/object/{ref}", in.object)
	mux.HandleFunc("GET /api/history/{ref}/{selector}", in.history)
	mux.HandleFunc("GET /api/cycles", in.cycles)
	mux.HandleFunc("GET /api/cycle/{id}", in.cycle)
	mux.HandleFunc("GET /api/search", in.search)
	mux.HandleFunc("GET /api/documents", in.documents)
	mux.HandleFunc("GET /api/documents/{id}", in.document)
	mux.HandleFunc("GET /api/events", in.events)
	mux.HandleFunc("POST /api/send", in.send)
}

// apiError is the JSON body of a failed API call: the bridge's error
// code and message.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// writeErr answers err with its wire code and the matching HTTP status.
func writeErr(w http.ResponseWriter, err error) {
	code := errorCode(err)
	status := http.StatusInternalServerError
	switch code {
	case wire.CodeNotFound:
		status = http.StatusNotFound
	case wire.CodeBadRequest:
		status = http.StatusBadRequest
	case wire.CodeBusy, wire.CodeUnavailable:
		status = http.StatusServiceUnavailable
	case wire.CodeTimeout, wire.CodeDeadlineExceeded:
		status = http.StatusGatewayTimeout
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(apiError{Code: code, Message: err.Error()})
}

// statusView is /api/status: the bridge's status reply, with the
// bridge's keys (converted from its msgpack), plus what the page needs.
type statusView struct {
	Writable bool           `json:"writable"`
	Methods  vm.MethodStats `json:"methods"`
	Recent   []recentCycle  `json:"recent"`
	Catalog  bool           `json:"catalog"`
}

// recentCycle is one point of the status page's charts.
type recentCycle struct {
	ID         uint64  `json:"id"`
	Status     string  `json:"status"`
	Selector   string  `json:"selector,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	TokPerSec  float64 `json:"tok_s"` // output tokens over decode time (call time when unmeasured)
}

// recentCharted is how many ended cycles the status charts show.
const recentCharted = 40

func (in *inspector) status(w http.ResponseWriter, r *http.Request) {
	st, err := in.h.status(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	view := statusView{Writable: in.writable(r), Methods: in.h.vm.Status().Methods,
		Catalog: in.h.catalog != nil, Recent: []recentCycle{}}
	recs, err := in.h.vm.Cycles(r.Context(), recentCharted)
	if err != nil {
		writeErr(w, err)
		return
	}
	for _, rec := range slices.Backward(recs) {
		if !rec.Done() || rec.Started.IsZero() {
			continue
		}
		p := recentCycle{ID: uint64(rec.ID), Status: rec.Status, Selector: rec.Selector,
			DurationMS: float64(rec.Ended.Sub(rec.Started).Microseconds()) / 1000}
		if rec.DecodeTime > 0 { // Cycles summed the steps it left out
			p.TokPerSec = float64(rec.OutputTokens) / rec.DecodeTime.Seconds()
		}
		view.Recent = append(view.Recent, p)
	}
	out, err := wireJSON(st.(*wire.StatusInfo))
	if err != nil {
		writeErr(w, err)
		return
	}
	extra, _ := json.Marshal(view)
	if err := json.Unmarshal(extra, &out); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, out)
}

// wireJSON converts a bridge result to JSON through its msgpack form, so
// the inspector's keys are the bridge's.
func wireJSON(v msgp.Marshaler) (map[string]any, error) {
	b, err := v.MarshalMsg(nil)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := msgp.UnmarshalAsJSON(&buf, b); err != nil {
		return nil, err
	}
	out := map[string]any{}
	return out, json.Unmarshal(buf.Bytes(), &out)
}

// objectLink names an object for a link: its OID and root name, if any.
type objectLink struct {
	OID  uint64 `json:"oid"`
	Name string `json:"name,omitempty"`
}

func (in *inspector) roots(w http.ResponseWriter, r *http.Request) {
	type root struct {
		objectLink
		Repr string `json:"repr"`
	}
	out := []root{}
	err := in.h.store.View(r.Context(), func(tx *object.Tx) error {
		roots, err := tx.Roots()
		if err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(roots)) {
			repr := ""
			if o, err := tx.Get(roots[name]); err == nil {
				repr = prompt.Bound(o.String(), previewBytes)
			}
			out = append(out, root{objectLink{uint64(roots[name]), name}, repr})
		}
		return nil
	})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, out)
}

// objectView is /api/object/{ref}.
type objectView struct {
	objectLink
	Repr    string       `json:"repr"`
	Parents []objectLink `json:"parents"`
	Slots   []slotView   `json:"slots"`
	Methods []methodView `json:"methods"`
	// Omitted counts the slots left out (beyond maxSlotsShown).
	Omitted int       `json:"omitted,omitempty"`
	Graph   graphView `json:"graph"`
}

type slotView struct {
	Name    string       `json:"name"`
	Kind    string       `json:"kind"` // the value's type (prompt.KindName): int, str, list of 3, reference, ...
	Preview string       `json:"preview"`
	Refs    []objectLink `json:"refs,omitempty"` // objects the value refers to
}

type methodView struct {
	Name      string   `json:"name"`
	Native    bool     `json:"native,omitempty"`
	Source    string   `json:"source,omitempty"`
	Truncated bool     `json:"truncated,omitempty"`
	Author    string   `json:"author,omitempty"`
	Cycle     uint64   `json:"cycle,omitempty"`
	Verdict   string   `json:"verdict,omitempty"`
	Findings  []string `json:"findings,omitempty"`
	Version   int64    `json:"version,omitempty"`
	Installed string   `json:"installed,omitempty"`
}

// graphView is the delegation graph from an object up its parent* slots.
type graphView struct {
	Nodes []objectLink `json:"nodes"`
	Edges [][2]uint64  `json:"edges"` // child, parent
	// Cut reports that the graph has more than maxGraphNodes objects.
	Cut bool `json:"cut,omitempty"`
}

func (in *inspector) object(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	var view *objectView
	err := in.h.store.View(r.Context(), func(tx *object.Tx) error {
		o, err := tx.GetTarget(ref)
		if err != nil {
			return err
		}
		roots, err := tx.Roots()
		if err != nil {
			return err
		}
		names := make(map[object.OID]string, len(roots))
		for n, oid := range roots {
			if old, ok := names[oid]; !ok || n < old {
				names[oid] = n
			}
		}
		link := func(oid object.OID) objectLink { return objectLink{uint64(oid), names[oid]} }
		view = &objectView{objectLink: link(o.OID), Repr: prompt.Bound(o.String(), 4*previewBytes),
			Parents: []objectLink{}, Slots: []slotView{}, Methods: []methodView{}}
		for _, p := range o.Parents() {
			view.Parents = append(view.Parents, link(p))
		}
		for i, n := range o.Names() {
			if i == maxSlotsShown {
				view.Omitted = len(o.Slots) - i
				break
			}
			val := o.Slots[n]
			switch x := val.(type) {
			case *object.Method:
				src, cut := x.Source, false
				if len(src) > maxSourceBytes {
					src, cut = prompt.Bound(src, maxSourceBytes), true
				}
				mv := methodView{Name: n, Source: src, Truncated: cut, Author: x.Author, Cycle: uint64(x.Cycle),
					Verdict: x.Verdict, Findings: x.Findings, Version: x.Version}
				if !x.Created.IsZero() {
					mv.Installed = x.Created.UTC().Format(time.RFC3339)
				}
				view.Methods = append(view.Methods, mv)
				continue
			case object.Primitive:
				view.Methods = append(view.Methods, methodView{Name: n, Native: true})
				continue
			}
			if object.IsParentSlot(n) {
				continue // Parents and the graph show them
			}
			sv := slotView{Name: n, Kind: prompt.KindName(val), Preview: prompt.Preview(val, previewBytes, previewDepth)}
			for i, oid := range object.AppendRefs(nil, val) {
				if i == 20 {
					break
				}
				sv.Refs = append(sv.Refs, link(oid))
			}
			view.Slots = append(view.Slots, sv)
		}
		view.Graph = delegationGraph(tx, o.OID, link)
		return nil
	})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, view)
}

// delegationGraph walks parent* slots breadth first from oid, up to
// maxGraphNodes objects.
func delegationGraph(tx *object.Tx, oid object.OID, link func(object.OID) objectLink) graphView {
	g := graphView{Nodes: []objectLink{link(oid)}, Edges: [][2]uint64{}}
	seen := map[object.OID]bool{oid: true}
	queue := []object.OID{oid}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		o, err := tx.Get(cur)
		if err != nil {
			continue // a dangling parent: the edge stays, the node has no parents
		}
		for _, p := range o.Parents() {
			g.Edges = append(g.Edges, [2]uint64{uint64(cur), uint64(p)})
			if seen[p] {
				continue
			}
			if len(g.Nodes) == maxGraphNodes {
				g.Cut = true
				continue
			}
			seen[p] = true
			g.Nodes = append(g.Nodes, link(p))
			queue = append(queue, p)
		}
	}
	// Edges to objects left out would point nowhere.
	g.Edges = slices.DeleteFunc(g.Edges, func(e [2]uint64) bool { return !seen[object.OID(e[1])] })
	return g
}

func (in *inspector) history(w http.ResponseWriter, r *http.Request) {
	vs, err := in.h.vm.MethodHistory(r.Context(), r.PathValue("ref"), r.PathValue("selector"))
	if err != nil {
		writeErr(w, err)
		return
	}
	type version struct {
		Version   int64    `json:"version"`
		Author    string   `json:"author"`
		Cycle     uint64   `json:"cycle,omitempty"`
		Verdict   string   `json:"verdict"`
		Findings  []string `json:"findings,omitempty"`
		Installed string   `json:"installed"`
		Note      string   `json:"note,omitempty"`
		Current   bool     `json:"current,omitempty"`
		Source    string   `json:"source"`
	}
	out := []version{}
	for _, v := range vs {
		out = append(out, version{v.Version, v.Author, uint64(v.Cycle), v.Verdict, v.Findings,
			v.Installed.UTC().Format(time.RFC3339), v.Note, v.Current, prompt.Bound(v.Source, maxSourceBytes)})
	}
	writeJSON(w, out)
}

func (in *inspector) cycles(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	limit = min(max(limit, 1), 500)
	if r.URL.Query().Get("limit") == "" {
		limit = 100
	}
	state := strings.ToLower(r.URL.Query().Get("state"))
	// A filter reads further back so that a page of matches is found.
	read := limit
	if state != "" {
		read = 1000
	}
	recs, err := in.h.vm.Cycles(r.Context(), read)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := []vm.CycleRecord{}
	for _, rec := range recs {
		if state == "" || rec.Status == state {
			rec.Brief = prompt.Bound(rec.Brief, previewBytes)
			out = append(out, rec)
		}
		if len(out) == limit {
			break
		}
	}
	writeJSON(w, out)
}

func (in *inspector) cycle(w http.ResponseWriter, r *http.Request) {
	id, err := parseCycleID(r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	rec, err := in.h.vm.Cycle(r.Context(), id)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, rec)
}

func (in *inspector) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	req := &wire.Request{Command: wire.CmdSearch, Query: q.Get("q"), Mode: q.Get("mode"), Limit: int64(min(max(limit, 0), 100))}
	for _, k := range []string{"doc_id", "source"} {
		if v := q.Get(k); v != "" {
			if req.Filters == nil {
				req.Filters = wire.Map{}
			}
			req.Filters[k] = v
		}
	}
	res, err := in.h.search(r.Context(), req)
	if err != nil {
		writeErr(w, err)
		return
	}
	type hit struct {
		DocID string            `json:"doc_id"`
		Chunk string            `json:"chunk"`
		Score float64           `json:"score"`
		Text  string            `json:"text"`
		Meta  map[string]string `json:"metadata,omitempty"`
	}
	out := []hit{}
	for _, h := range res.(*wire.SearchResult).Hits {
		meta := map[string]string{}
		for k, v := range h.Metadata {
			meta[k] = fmt.Sprint(v)
		}
		out = append(out, hit{h.DocID, h.ChunkID, h.Score, prompt.Bound(h.Text, maxChunkText), meta})
	}
	writeJSON(w, out)
}

func (in *inspector) documents(w http.ResponseWriter, r *http.Request) {
	type doc struct {
		ID     string            `json:"id"`
		Chunks int               `json:"chunks"`
		Meta   map[string]string `json:"metadata,omitempty"`
	}
	out := struct {
		Documents []doc `json:"documents"`
		More      bool  `json:"more"`
	}{Documents: []doc{}}
	err := in.h.store.View(r.Context(), func(tx *object.Tx) error {
		docs, more, err := catalog.Documents(tx, r.URL.Query().Get("prefix"), 200)
		for _, d := range docs {
			out.Documents = append(out.Documents, doc{d.ID, len(d.Chunks), d.Meta})
		}
		out.More = more
		return err
	})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, out)
}

func (in *inspector) document(w http.ResponseWriter, r *http.Request) {
	type chunk struct {
		OID  uint64 `json:"oid"`
		Text string `json:"text"`
	}
	out := struct {
		ID      string            `json:"id"`
		Meta    map[string]string `json:"metadata,omitempty"`
		Chunks  []chunk           `json:"chunks"`
		Omitted int               `json:"omitted,omitempty"`
	}{ID: r.PathValue("id"), Chunks: []chunk{}}
	err := in.h.store.View(r.Context(), func(tx *object.Tx) error {
		d, ok, err := catalog.GetDocument(tx, out.ID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: document %q", object.ErrNotFound, out.ID)
		}
		out.Meta = d.Meta
		for i, oid := range d.Chunks {
			if i == maxChunksShown {
				out.Omitted = len(d.Chunks) - i
				break
			}
			text := ""
			if o, err := tx.Get(oid); err == nil {
				s, _ := o.Slots[catalog.SlotText].(object.String)
				text = prompt.Bound(string(s), maxChunkText)
			}
			out.Chunks = append(out.Chunks, chunk{uint64(oid), text})
		}
		return nil
	})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, out)
}

// sendRequest is the body of POST /api/send: a message to an object, with
// arguments as JSON ({"oid": N} is a reference). newWeb lets only a
// loopback client or one with the token send.
type sendRequest struct {
	Target   string         `json:"target"`
	Selector string         `json:"selector"`
	Args     []any          `json:"args"`
	Kwargs   map[string]any `json:"kwargs"`
}

func (in *inspector) send(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeErr(w, fmt.Errorf("%w: Content-Type must be application/json", errBadArgument))
		return
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxSendBody))
	dec.UseNumber()
	var sr sendRequest
	if err := dec.Decode(&sr); err != nil {
		writeErr(w, fmt.Errorf("%w: %v", errBadArgument, err))
		return
	}
	args, err := jsonToWire(sr.Args)
	if err != nil {
		writeErr(w, fmt.Errorf("%w: args: %v", errBadArgument, err))
		return
	}
	kwargs, err := jsonToWire(sr.Kwargs)
	if err != nil {
		writeErr(w, fmt.Errorf("%w: kwargs: %v", errBadArgument, err))
		return
	}
	req := &wire.Request{Command: wire.CmdDispatchMessage, Target: wire.Named(sr.Target), MessageName: sr.Selector}
	if args != nil {
		req.Args = args.([]any)
	}
	if kwargs != nil {
		req.Kwargs = kwargs.(map[string]any)
	}
	res, err := in.h.dispatch(r.Context(), req)
	if err != nil {
		writeErr(w, err)
		return
	}
	if ms, ok := res.(*wire.MissionStarted); ok {
		writeJSON(w, map[string]any{"mission": true, "cycle": ms.CycleID, "message": ms.Message})
		return
	}
	writeJSON(w, map[string]any{"mission": false, "value": res})
}

// jsonToWire turns decoded JSON (numbers as json.Number) into the values
// fromWire reads: integers as int64, other numbers as float64.
func jsonToWire(v any) (any, error) {
	return jsonToWireDepth(v, 0)
}

func jsonToWireDepth(v any, depth int) (any, error) {
	if depth > wire.MaxDepth {
		return nil, fmt.Errorf("nested deeper than %d", wire.MaxDepth)
	}
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		return x.Float64()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = jsonToWireDepth(e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			var err error
			if out[k], err = jsonToWireDepth(e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

// events streams the VM's cycle events as server-sent events: each is
// "event: cycle" with the vm.CycleEvent as JSON; "event: lagged" says
// events were dropped (the client should reload what it shows).
func (in *inspector) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	sub, err := in.hub.subscribe()
	if err != nil {
		writeErr(w, err)
		return
	}
	defer in.hub.unsubscribe(sub)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-in.hub.closed:
			return
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
		case <-sub.lagged:
			fmt.Fprint(w, "event: lagged\ndata: {}\n\n")
		case e := <-sub.ch:
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: cycle\ndata: %s\n\n", b)
		}
		fl.Flush()
	}
}

// eventHub fans the VM's cycle events out to the inspector's streams. A
// slow stream loses events (and is told so) rather than slowing a cycle.
type eventHub struct {
	mu        sync.Mutex
	subs      map[*subscriber]struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

type subscriber struct {
	ch     chan vm.CycleEvent
	lagged chan struct{} // one pending "lagged" notice
}

// errTooManyStreams refuses an event stream beyond maxSSEClients.
var errTooManyStreams = errcode.New(wire.CodeBusy, "batosd: too many event streams")

func newEventHub() *eventHub {
	return &eventHub{subs: map[*subscriber]struct{}{}, closed: make(chan struct{})}
}

// publish is vm.Options.OnCycleEvent: it never blocks.
func (h *eventHub) publish(e vm.CycleEvent) {
	if len(e.Line) > 2*previewBytes {
		e.Line = prompt.Bound(e.Line, 2*previewBytes)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- e:
		default:
			select {
			case s.lagged <- struct{}{}:
			default:
			}
		}
	}
}

func (h *eventHub) subscribe() (*subscriber, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= maxSSEClients {
		return nil, errTooManyStreams
	}
	s := &subscriber{ch: make(chan vm.CycleEvent, 256), lagged: make(chan struct{}, 1)}
	h.subs[s] = struct{}{}
	return s, nil
}

func (h *eventHub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// close ends every stream (the server is shutting down).
func (h *eventHub) close() { h.closeOnce.Do(func() { close(h.closed) }) }
