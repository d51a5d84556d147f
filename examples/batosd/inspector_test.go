package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/batos/batos/bridge/wire"
	"github.com/batos/batos/catalog"
	"github.com/batos/batos/catalog/catalogtest"
	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

// inspected is a VM with the fake model, a catalog and the HTTP side, as
// batosd wires them.
type inspected struct {
	v     *vm.VM
	store *object.Store
	h     *handler
	m     *metrics
	hub   *eventHub
	web   http.Handler
}

func openInspected(t *testing.T, addr, tokenFile string) *inspected {
	t.Helper()
	in := &inspected{m: newMetrics(), hub: newEventHub()}
	in.store = objecttest.OpenDir(t, object.Options{Retries: 8, OnCommit: in.m.committed})
	v, err := vm.Open(context.Background(), in.store, vm.Options{Model: &vmtest.Model{}, CacheDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SandboxLimits: vm.SandboxLimits{MaxAllocBytes: -1},
		OnCycleEnd: in.m.cycleEnded, OnCycleEvent: in.hub.publish})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close(context.Background()) })
	in.v = v
	cat := catalog.New(catalogtest.HashEmbedder{}, catalog.Options{})
	if err := cat.Load(context.Background(), in.store); err != nil {
		t.Fatal(err)
	}
	in.h = &handler{vm: v, store: in.store, catalog: cat, model: "fake", started: time.Now(), version: "test"}
	in.web, err = newWeb(webOptions{Addr: addr, TokenFile: tokenFile, Events: in.hub}, in.h, in.m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.hub.close)
	return in
}

const local, remote = "127.0.0.1:5000", "192.0.2.7:5000"

// do sends one request to the handler; body, when not nil, is JSON.
func do(t *testing.T, h http.Handler, method, path, from string, body any, header ...string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = strings.NewReader(string(b))
	}
	req := httptest.NewRequest(method, path, r)
	req.RemoteAddr = from
	req.Host = "127.0.0.1:8080"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	out, _ := io.ReadAll(w.Result().Body)
	return w.Code, out
}

func getJSON(t *testing.T, h http.Handler, path string, into any) {
	t.Helper()
	code, body := do(t, h, "GET", path, local, nil)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatalf("GET %s: %v: %.300s", path, err, body)
	}
}

// Every page and endpoint of the inspector against a VM on the fake
// model: a message sent through the API starts a cycle that the event
// stream follows to its end; the object, its method and history, the
// cycle list and trace, the catalog's search and documents, and the
// status the charts draw.
func TestInspectorAPI(t *testing.T) {
	in := openInspected(t, "127.0.0.1:0", "")
	for path, want := range map[string]string{"/": "/static/app.js", "/static/app.js": "EventSource", "/static/app.css": "--accent"} {
		code, body := do(t, in.web, "GET", path, local, nil)
		if code != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, lacks %q", path, code, want)
		}
	}

	// The event stream, through a real server (it streams).
	srv := httptest.NewServer(in.web)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/events", nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events: Content-Type %q", ct)
	}
	events := make(chan vm.CycleEvent, 1024)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && data != "{}" {
				var e vm.CycleEvent
				if json.Unmarshal([]byte(data), &e) == nil {
					events <- e
				}
			}
		}
	}()
	time.Sleep(50 * time.Millisecond) // let the stream subscribe before the cycle starts

	code, body := do(t, in.web, "POST", "/api/send", local, map[string]any{"target": "genesis_obj", "selector": "display_yourself"})
	if code != 200 {
		t.Fatalf("send: %d %s", code, body)
	}
	var sent struct {
		Mission bool
		Cycle   string
	}
	if err := json.Unmarshal(body, &sent); err != nil || !sent.Mission {
		t.Fatalf("send: %s (%v)", body, err)
	}
	kinds := map[string]int{}
	var states []string
	for e := range events {
		if fmt.Sprint(uint64(e.Cycle)) != sent.Cycle {
			continue
		}
		kinds[e.Kind]++
		if e.Kind == vm.EventState && e.State != "" {
			states = append(states, e.State)
		}
		if e.Kind == vm.EventEnd {
			if e.Status != vm.StatusComplete {
				t.Errorf("end event status %q", e.Status)
			}
			break
		}
	}
	if kinds[vm.EventQueued] != 1 || kinds[vm.EventLine] == 0 || kinds[vm.EventStep] == 0 || kinds[vm.EventEnd] != 1 {
		t.Errorf("events of cycle %s: %v", sent.Cycle, kinds)
	}
	if got := strings.Join(states, " "); !strings.Contains(got, "DECOMPOSING DELEGATING SYNTHESIZING COMPLETE") {
		t.Errorf("state events: %s", got)
	}

	var rec vm.CycleRecord
	getJSON(t, in.web, "/api/cycle/"+sent.Cycle, &rec)
	if rec.Status != vm.StatusComplete || len(rec.Steps) == 0 || len(rec.States) < 4 || len(rec.Lines) == 0 {
		t.Errorf("cycle record: status %s, %d steps, %d states, %d lines", rec.Status, len(rec.Steps), len(rec.States), len(rec.Lines))
	}
	for _, s := range rec.Steps {
		if s.OutputTokens <= 0 {
			t.Errorf("step %s/%s: %d output tokens", s.State, s.Persona, s.OutputTokens)
		}
	}
	var list []vm.CycleRecord
	getJSON(t, in.web, "/api/cycles?state=complete", &list)
	if len(list) != 1 || fmt.Sprint(uint64(list[0].ID)) != sent.Cycle || list[0].Steps != nil {
		t.Errorf("complete cycles: %+v", list)
	}
	getJSON(t, in.web, "/api/cycles?state=failed", &list)
	if len(list) != 0 {
		t.Errorf("failed cycles: %d", len(list))
	}

	var obj objectView
	getJSON(t, in.web, "/api/object/genesis_obj", &obj)
	var m *methodView
	for i := range obj.Methods {
		if obj.Methods[i].Name == "display_yourself" {
			m = &obj.Methods[i]
		}
	}
	if m == nil || !strings.Contains(m.Source, "def display_yourself(self") || m.Verdict != "passed" ||
		m.Author != "ALFRED" || fmt.Sprint(m.Cycle) != sent.Cycle || m.Version != 1 {
		t.Fatalf("genesis_obj's method: %+v", m)
	}
	if obj.Name != "genesis_obj" || len(obj.Parents) == 0 || len(obj.Graph.Nodes) < 2 || len(obj.Graph.Edges) == 0 {
		t.Errorf("genesis_obj: name %q, parents %v, graph %+v", obj.Name, obj.Parents, obj.Graph)
	}
	var hist []map[string]any
	getJSON(t, in.web, "/api/history/genesis_obj/display_yourself", &hist)
	if len(hist) != 1 || hist[0]["current"] != true {
		t.Errorf("history: %v", hist)
	}
	var roots []objectLink
	getJSON(t, in.web, "/api/roots", &roots)
	found := false
	for _, r := range roots {
		found = found || r.Name == "genesis_obj"
	}
	if !found {
		t.Errorf("roots: %v", roots)
	}

	// The catalog: a document, its chunks, and search in each mode.
	if _, err := in.h.ingest(context.Background(), &wire.Request{Command: wire.CmdIngest, DocID: "notes <1>",
		Text: "The prototype delegates to its parent. Delegation is how Self shares behaviour.", Metadata: wire.Map{"source": "test"}}); err != nil {
		t.Fatal(err)
	}
	var docs struct {
		Documents []struct {
			ID     string
			Chunks int
		}
	}
	getJSON(t, in.web, "/api/documents", &docs)
	if len(docs.Documents) != 1 || docs.Documents[0].ID != "notes <1>" || docs.Documents[0].Chunks == 0 {
		t.Errorf("documents: %+v", docs)
	}
	var doc struct {
		Chunks []struct{ Text string }
	}
	getJSON(t, in.web, "/api/documents/notes%20%3C1%3E", &doc)
	if len(doc.Chunks) == 0 || !strings.Contains(doc.Chunks[0].Text, "prototype") {
		t.Errorf("document chunks: %+v", doc)
	}
	for _, mode := range []string{"bm25", "vector", "hybrid"} {
		var hits []struct {
			DocID string `json:"doc_id"`
			Score float64
		}
		getJSON(t, in.web, "/api/search?q=delegation+parent&mode="+mode+"&source=test", &hits)
		if len(hits) == 0 || hits[0].DocID != "notes <1>" || hits[0].Score <= 0 {
			t.Errorf("search %s: %+v", mode, hits)
		}
	}

	var st map[string]any
	getJSON(t, in.web, "/api/status", &st)
	recent, _ := st["recent"].([]any)
	if st["cycles_done"] != 1.0 || st["writable"] != true || len(recent) != 1 || st["model"] != "fake" {
		t.Errorf("status: %v", st)
	}
	if methods, _ := st["methods"].(map[string]any); methods["calls"].(float64) < 1 {
		t.Errorf("status methods: %v", st["methods"])
	}

	// Errors answer with the bridge's codes.
	for path, want := range map[string]struct {
		status int
		code   string
	}{
		"/api/object/no_such_object":     {404, wire.CodeNotFound},
		"/api/cycle/abc":                 {400, wire.CodeBadRequest},
		"/api/cycle/999999":              {404, wire.CodeNotFound},
		"/api/search?q=x&mode=telepathy": {400, wire.CodeBadRequest},
		"/api/documents/none":            {404, wire.CodeNotFound},
	} {
		code, body := do(t, in.web, "GET", path, local, nil)
		var e apiError
		json.Unmarshal(body, &e)
		if code != want.status || e.Code != want.code {
			t.Errorf("GET %s: %d %s, want %d %s", path, code, body, want.status, want.code)
		}
	}
	for name, body := range map[string]any{
		"bad args":    map[string]any{"target": "genesis_obj", "selector": "x", "args": map[string]any{}},
		"no object":   map[string]any{"target": "nothing_here", "selector": "x"},
		"bad ref arg": map[string]any{"target": "genesis_obj", "selector": "x", "args": []any{map[string]any{"oid": 99999}}},
	} {
		if code, b := do(t, in.web, "POST", "/api/send", local, body); code == 200 {
			t.Errorf("send %s: %d %s", name, code, b)
		}
	}
}

// The inspector renders a hostile object escaped and bounded: slot names
// and values with markup, a 1 MiB string, deep nesting and thousands of
// slots.
func TestInspectorHostileObject(t *testing.T) {
	in := openInspected(t, "127.0.0.1:0", "")
	deep := object.Value(object.String("<b>bottom</b>"))
	for range 60 { // the store's own bound is 64
		deep = object.List{deep, object.Map{"<k>": object.String("<v>")}}
	}
	slots := map[string]object.Value{
		"<script>alert(1)</script>": object.String(`"><img src=x onerror=alert(1)>`),
		"huge":                      object.String(strings.Repeat("<i>x</i>", 1<<17)), // 1 MiB
		"deep":                      deep,
		"map":                       object.Map{"</td><script>": object.String("<style>")},
	}
	for i := range 2000 {
		slots[fmt.Sprintf("slot_%04d", i)] = object.Int(int64(i))
	}
	if err := objecttest.SetSlots(context.Background(), in.store, "genesis_obj", slots); err != nil {
		t.Fatal(err)
	}
	code, body := do(t, in.web, "GET", "/api/object/genesis_obj", local, nil)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if len(body) > 256<<10 {
		t.Errorf("object page is %d bytes for 2004 slots and 1 MiB of values", len(body))
	}
	if strings.Contains(string(body), "<script") || strings.Contains(string(body), "<img") {
		t.Error("raw markup in the JSON (it should be escaped)")
	}
	var obj objectView
	if err := json.Unmarshal(body, &obj); err != nil {
		t.Fatal(err)
	}
	if len(obj.Slots) > maxSlotsShown || obj.Omitted == 0 {
		t.Errorf("%d slots shown, %d omitted", len(obj.Slots), obj.Omitted)
	}
	sawHostile := false
	for _, s := range obj.Slots {
		if len(s.Preview) > 2*previewBytes {
			t.Errorf("slot %q preview is %d bytes", s.Name, len(s.Preview))
		}
		sawHostile = sawHostile || s.Name == "<script>alert(1)</script>"
	}
	if !sawHostile {
		t.Error("the slot with a markup name is not shown (by name, as text)")
	}
	// The page itself never inlines data: it is the static file, with a
	// policy that forbids inline script.
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = local
	req.Host = "127.0.0.1:8080"
	w := httptest.NewRecorder()
	in.web.ServeHTTP(w, req)
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if strings.Contains(w.Body.String(), "genesis") {
		t.Error("the page inlines image data")
	}
}

// Who may change what: reads are open, a send needs loopback or the
// token, a cross-origin POST and a non-loopback Host (DNS rebinding) are
// refused.
func TestInspectorAccess(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	in := openInspected(t, "0.0.0.0:0", tokenFile)
	token, err := loadToken(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	send := map[string]any{"target": "genesis_obj", "selector": "describe"}
	if code, _ := do(t, in.web, "GET", "/api/object/genesis_obj", remote, nil); code != 200 {
		t.Errorf("remote read: %d", code)
	}
	var st map[string]any
	_, body := do(t, in.web, "GET", "/api/status", remote, nil)
	json.Unmarshal(body, &st)
	if st["writable"] != false {
		t.Errorf("remote status says writable: %v", st["writable"])
	}
	if code, _ := do(t, in.web, "POST", "/api/send", remote, send); code != http.StatusUnauthorized {
		t.Errorf("remote send without the token: %d", code)
	}
	if code, _ := do(t, in.web, "POST", "/api/send", remote, send, "Authorization", "Bearer wrong-wrong-wrong-wrong"); code != http.StatusUnauthorized {
		t.Errorf("remote send with a wrong token: %d", code)
	}
	if code, b := do(t, in.web, "POST", "/api/send", remote, send, "Authorization", "Bearer "+token); code != 200 {
		t.Errorf("remote send with the token: %d %s", code, b)
	}
	if code, _ := do(t, in.web, "POST", "/api/send", local, send, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden {
		t.Errorf("cross-origin send: %d", code)
	}
	if code, _ := do(t, in.web, "POST", "/api/send", local, nil); code == 200 {
		t.Error("a send without a JSON body was accepted")
	}

	lo := openInspected(t, "127.0.0.1:0", "")
	if code, _ := do(t, lo.web, "GET", "/api/status", local, nil, "Host", "rebound.evil.example:8080"); code != http.StatusMisdirectedRequest {
		t.Errorf("loopback daemon with a foreign Host: %d", code)
	}
	for _, host := range []string{"localhost:8080", "127.0.0.1:8080", "[::1]:8080"} {
		if code, _ := do(t, lo.web, "GET", "/api/status", local, nil, "Host", host); code != 200 {
			t.Errorf("Host %s: %d", host, code)
		}
	}
}

// /metrics parsed with Prometheus's own text parser: the counters move
// when a cycle runs.
func TestInspectorMetricsParsed(t *testing.T) {
	in := openInspected(t, "127.0.0.1:0", "")
	scrape := func() map[string]*dto.MetricFamily {
		t.Helper()
		code, body := do(t, in.web, "GET", "/metrics", local, nil)
		if code != 200 {
			t.Fatalf("/metrics: %d", code)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
		if err != nil {
			t.Fatalf("parsing /metrics: %v", err)
		}
		return fams
	}
	sum := func(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
		var total float64
		f := fams[name]
		if f == nil {
			return 0
		}
	metric:
		for _, m := range f.Metric {
			for i := 0; i+1 < len(labels); i += 2 {
				ok := false
				for _, l := range m.Label {
					ok = ok || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				if !ok {
					continue metric
				}
			}
			switch {
			case m.Counter != nil:
				total += m.Counter.GetValue()
			case m.Gauge != nil:
				total += m.Gauge.GetValue()
			case m.Histogram != nil:
				total += float64(m.Histogram.GetSampleCount())
			}
		}
		return total
	}
	before := scrape()
	res, err := in.v.Dispatch(context.Background(), "genesis_obj", "display_yourself", nil, nil)
	if err != nil || !res.Mission {
		t.Fatalf("dispatch: %+v %v", res, err)
	}
	if _, err := in.v.WaitCycle(context.Background(), res.Cycle); err != nil {
		t.Fatal(err)
	}
	if _, err := in.v.Dispatch(context.Background(), "genesis_obj", "display_yourself", nil, nil); err != nil {
		t.Fatal(err)
	}
	after := scrape()
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"batos_cycles_total", []string{"outcome", "complete"}},
		{"batos_cycle_seconds", []string{"outcome", "complete"}},
		{"batos_cycle_state_seconds", []string{"state", "DELEGATING"}},
		{"batos_model_calls_total", []string{"persona", "ALFRED"}},
		{"batos_model_prompt_tokens_total", nil},
		{"batos_model_output_tokens_total", nil},
		{"batos_model_call_seconds", nil},
		{"batos_model_tokens_per_second", nil},
		{"batos_store_commits_total", []string{"result", "ok"}},
		{"batos_store_commit_seconds", nil},
		{"batos_sandbox_calls_total", []string{"result", "ok"}},
		{"batos_image_objects", nil},
	} {
		b, a := sum(before, c.name, c.labels...), sum(after, c.name, c.labels...)
		if a <= b {
			t.Errorf("%s%v did not move: %v -> %v", c.name, c.labels, b, a)
		}
	}
}

// The cost a cycle pays per event with four live streams reading.
func BenchmarkEventHubPublish(b *testing.B) {
	h := newEventHub()
	defer h.close()
	for range 4 {
		s, err := h.subscribe()
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			for {
				select {
				case <-s.ch:
				case <-h.closed:
					return
				}
			}
		}()
	}
	e := vm.CycleEvent{Kind: vm.EventLine, Cycle: 42, Line: "[pLLM] Activated expert: BRICK"}
	for b.Loop() {
		h.publish(e)
	}
}
