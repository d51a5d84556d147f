package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
)

// fakeDaemon answers like batosd's handler with canned results. Cycle 42
// (display_yourself) is RUNNING when first shown (and the first wait for
// it passes its deadline) and COMPLETE afterwards, after which the
// message answers; cycle 43 (fly) FAILED.
type fakeDaemon struct {
	mu       sync.Mutex
	shown    map[string]int // show_cycle and wait_cycle calls per cycle
	learned  bool           // display_yourself was installed
	requests []*wire.Request
}

func newFake() *fakeDaemon { return &fakeDaemon{shown: map[string]int{}} }

func (f *fakeDaemon) Handle(ctx context.Context, req *wire.Request) *wire.Reply {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	switch req.Command {
	case wire.CmdDispatchMessage:
		return f.dispatch(req)
	case wire.CmdShowCycle:
		return f.showCycle(req.CycleID)
	case wire.CmdWaitCycle:
		return f.waitCycle(req)
	case wire.CmdInspect:
		if req.Target.String() == "weird" {
			return wire.OK("not an object description")
		}
		if req.Target.String() != "genesis_obj" && req.Target.String() != "1" {
			return wire.Errorf(wire.CodeNotFound, "object: not found: %s", req.Target)
		}
		return wire.OK(fakeObject())
	case wire.CmdListCycles:
		c := fakeCycle("42", stateComplete, false)
		return wire.OK(&wire.CycleList{Cycles: []wire.CycleInfo{c, fakeCycle("43", stateFailed, false)}})
	case wire.CmdIngest:
		id := req.DocID
		if id == "" {
			id = "doc-1"
		}
		return wire.OK(&wire.IngestResult{DocID: id, Chunks: int64(len(strings.Fields(req.Text)))})
	case wire.CmdSearch:
		if req.Mode == "vector" {
			return wire.Errorf(wire.CodeUnavailable, "batosd: no catalog")
		}
		return wire.OK(&wire.SearchResult{Hits: []wire.SearchHit{
			{DocID: "covenant", ChunkID: "77", Score: 1.25, Text: "Every change must persist: call self._p_changed = True.",
				Metadata: wire.Map{"lang": "en"}},
		}})
	case wire.CmdStatus:
		return wire.OK(fakeStatus())
	case wire.CmdGrantCapability:
		if req.Capability != "http_get" {
			return wire.Errorf(wire.CodeNotFound, "vm: unknown capability: %q", req.Capability)
		}
		return wire.OK(&wire.CapabilityGranted{Capability: req.Capability, Slot: req.Slot, Object: 9})
	case wire.CmdSetSlot:
		if req.Slot == "bad" {
			return wire.Errorf(wire.CodeBadRequest, "batosd: bad argument: value")
		}
		return wire.OK(true)
	}
	return wire.Errorf(wire.CodeUnknownCommand, "unknown command %q", req.Command)
}

func (f *fakeDaemon) dispatch(req *wire.Request) *wire.Reply {
	mission := func(sel, id string) *wire.Reply {
		return wire.OK(&wire.MissionStarted{Mission: true, CycleID: id, Target: 1,
			Message: "Mission to handle '" + sel + "' dispatched to the Composite Mind."})
	}
	switch req.MessageName {
	case "display_yourself":
		if f.learned {
			return wire.OK("<UvmObject oid=1 slots=['parent*', 'display_yourself']>")
		}
		return mission("display_yourself", "42")
	case "fly":
		return mission("fly", "43")
	case "echo":
		return wire.OK(wire.Map{"args": req.Args, "kwargs": req.Kwargs, "target": req.Target.String()})
	case "boom":
		return wire.Errorf(wire.CodeInternal, "vm: method raised: boom")
	}
	return wire.Errorf(wire.CodeBadRequest, "vm: bad selector")
}

func (f *fakeDaemon) showCycle(id string) *wire.Reply {
	f.shown[id]++
	switch id {
	case "42":
		if f.shown[id] == 1 {
			c := fakeCycle(id, "RUNNING", true)
			c.Transitions = c.Transitions[:2]
			c.Finished = ""
			return wire.OK(&c)
		}
		f.learned = true
		c := fakeCycle(id, stateComplete, true)
		return wire.OK(&c)
	case "43":
		c := fakeCycle(id, stateFailed, true)
		return wire.OK(&c)
	}
	return wire.Errorf(wire.CodeNotFound, "vm: no such cycle: %s", id)
}

// waitCycle is showCycle once the cycle has ended: the first wait for
// cycle 42 passes its deadline first.
func (f *fakeDaemon) waitCycle(req *wire.Request) *wire.Reply {
	if req.TimeoutMS <= 0 || time.Duration(req.TimeoutMS)*time.Millisecond > wire.MaxWaitTimeout {
		return wire.Errorf(wire.CodeBadRequest, "timeout_ms %d", req.TimeoutMS)
	}
	if req.CycleID == "42" && f.shown["42"] == 0 {
		f.shown["42"]++
		return wire.Errorf(wire.CodeDeadlineExceeded, "batosd: the cycle is still running at the wait's deadline")
	}
	return f.showCycle(req.CycleID)
}

// fakeCycle is shaped like batosd's cycleInfo.
func fakeCycle(id, state string, full bool) wire.CycleInfo {
	c := wire.CycleInfo{
		ID: id, Target: wire.ByNumber(1), State: state,
		Started: "2026-11-26T09:00:00.000Z", Finished: "2026-11-26T09:00:03.500Z",
		MissionBrief: wire.MissionBrief{Type: "unhandled_message", Selector: "display_yourself", Brief: "display yourself"},
		Transitions: []wire.Transition{
			{State: "IDLE", At: "2026-11-26T09:00:00.000Z", DurationUS: 1_000},
			{State: "DECOMPOSING", At: "2026-11-26T09:00:00.001Z", DurationUS: 1_200_000},
			{State: "DELEGATING", At: "2026-11-26T09:00:01.201Z", DurationUS: 1_500_000},
			{State: "SYNTHESIZING", At: "2026-11-26T09:00:02.701Z", DurationUS: 800_000},
		},
	}
	if state == stateFailed {
		c.Error = "guardian: audit failed: 1 finding"
	}
	if full {
		c.Result = &wire.CycleResult{
			Outcome:  "method installed",
			Result:   "def display_yourself(self):\n    return repr(self)\n",
			Lines:    []string{"doesNotUnderstand: display_yourself", "[pLLM] Activated expert: BRICK", "guardian audit passed"},
			Findings: []string{"covenant: ok"},
			Attempts: 1,
			Steps: []wire.CycleStep{
				{State: "DECOMPOSING", Persona: "BRICK", Adapter: "brick", Prompt: "p", Output: "o", Error: "", DurationMS: 1200},
				{State: "SYNTHESIZING", Persona: "ROBIN", Adapter: "", Prompt: "p", Output: "o", Error: "grammar", DurationMS: 800},
			},
		}
	}
	return c
}

func fakeObject() *wire.ObjectInfo {
	return &wire.ObjectInfo{
		OID: 1, Name: "genesis_obj", Repr: "<UvmObject oid=1 slots=['parent*', 'greeting']>",
		Parents: []wire.Ref{wire.ByNumber(0)},
		Slots: []wire.SlotInfo{{Name: "greeting", Kind: "str", Value: wire.Value{V: "hello"}}, {Name: "count", Kind: "int", Value: wire.Value{V: int64(3)}},
			{Name: "friend", Kind: "ref", Value: wire.Value{V: wire.RefValue(7)}}},
		Methods: []wire.MethodInfo{
			{Name: "display_yourself", Source: "def display_yourself(self):\n    return repr(self)\n", CycleID: "42",
				Findings: []wire.Finding{{Rule: "verdict", Message: "passed"}, {Rule: "author", Message: "BRICK"}, {Rule: "audit", Message: "warning: unused variable"}}},
			{Name: "clone", Native: true, Findings: []wire.Finding{}},
		},
	}
}

func fakeStatus() *wire.StatusInfo {
	return &wire.StatusInfo{
		Version: "0.1.0", UptimeSeconds: 3725.4, Objects: 120, Cycles: 5, ActiveCycles: 1,
		Model:  "llama 8B Q4_K - Medium",
		Device: "CUDA0:20,CPU:12 output:CPU", QueueDepth: 0, QueueCapacity: 64, Workers: 2,
		CyclesDone: 3, CyclesFailed: 1, CyclesAborted: 1,
		Adapters: &wire.AdapterInfo{Hot: []string{"BRICK"}, Warm: []string{"BRICK", "ROBIN"}, Cold: []string{"ALFRED", "BABS", "BRICK", "ROBIN"},
			HotHits: 7, WarmHits: 2, ColdLoads: 2, HotLoads: 2, HotEvictions: 0, WarmEvictions: 0},
		Extra: wire.Map{"heartbeat": "30s"},
	}
}

// serve starts a bridge server with h on an ephemeral loopback port.
func serve(t *testing.T, h bridge.Handler, curve *bridge.CurveOptions) string {
	t.Helper()
	srv, err := bridge.NewServer(h, bridge.Options{Endpoint: "tcp://127.0.0.1:*", Curve: curve})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return srv.Endpoint()
}

// deadEndpoint returns a loopback endpoint nothing listens on.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "tcp://" + addr
}

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(ctx context.Context, stdin string, args ...string) result {
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func TestRun(t *testing.T) {
	doc := filepath.Join(t.TempDir(), "covenant.txt")
	if err := os.WriteFile(doc, []byte("Every change must persist.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		stdin   string
		code    int
		stdout  []string // substrings, in order unless isJSON
		stderr  []string
		isJSON  bool // stdout must parse as JSON
		request func(t *testing.T, reqs []*wire.Request)
	}{
		{name: "send mission", args: []string{"send", "genesis_obj", "display_yourself"},
			stdout: []string{"Mission to handle 'display_yourself' dispatched to the Composite Mind.", "cycle 42 (target 1)", "batosctl cycle 42"}},
		{name: "send wait complete", args: []string{"send", "genesis_obj", "display_yourself", "--wait"},
			stdout: []string{"dispatched", "cycle 42", "  IDLE\n  DECOMPOSING\n  DELEGATING\n  SYNTHESIZING\n",
				"cycle 42 COMPLETE: method installed (3.5s)", "<UvmObject oid=1 slots=['parent*', 'display_yourself']>\n"},
			request: func(t *testing.T, reqs []*wire.Request) {
				var cmds []string
				for _, r := range reqs {
					cmds = append(cmds, r.Command)
				}
				want := "dispatch_message wait_cycle wait_cycle dispatch_message"
				if got := strings.Join(cmds, " "); got != want {
					t.Errorf("requests = %s, want %s", got, want)
				}
			}},
		{name: "send wait complete json", args: []string{"--json", "send", "genesis_obj", "display_yourself", "--wait"},
			isJSON: true, stdout: []string{`"dispatch"`, `"cycle_id": "42"`, `"state": "COMPLETE"`, `"result": "<UvmObject oid=1`}},
		{name: "send wait failed", args: []string{"send", "genesis_obj", "fly", "--wait"}, code: exitCycleFailed,
			stdout: []string{"cycle 43", "cycle 43 FAILED after 3.5s", "batosctl cycle 43"},
			stderr: []string{"cycle 43 ended FAILED: guardian: audit failed"}},
		{name: "send wait failed json", args: []string{"send", "genesis_obj", "fly", "--wait", "--json"}, code: exitCycleFailed,
			isJSON: true, stdout: []string{`"state": "FAILED"`}},
		{name: "send args kwargs", args: []string{"send", "7", "echo", "--args", `[1, "two", 2.5, [true, null]]`, "--kwargs", `{"n": 18446744073709551615}`, "--json"},
			isJSON: true, stdout: []string{`"target": "7"`},
			request: func(t *testing.T, reqs []*wire.Request) {
				r := reqs[0]
				if !r.Target.ByOID || r.Target.OID != 7 {
					t.Errorf("target = %+v, want OID 7", r.Target)
				}
				if len(r.Args) != 4 || r.Args[0] != int64(1) || r.Args[1] != "two" || r.Args[2] != 2.5 {
					t.Errorf("args = %#v", r.Args)
				}
				if r.Kwargs["n"] != uint64(18446744073709551615) {
					t.Errorf("kwargs = %#v", r.Kwargs)
				}
			}},
		{name: "send plain value", args: []string{"send", "genesis_obj", "echo", "--args", "[-1]"},
			stdout: []string{`{"args":[-1],"kwargs":{},"target":"genesis_obj"}`}},
		{name: "send server error", args: []string{"send", "genesis_obj", "boom"}, code: exitServer,
			stderr: []string{"server error internal: vm: method raised: boom"}},
		{name: "send bad args json", args: []string{"send", "genesis_obj", "echo", "--args", `{"a":1}`}, code: exitUsage,
			stderr: []string{"--args wants a JSON array"}},
		{name: "send missing selector", args: []string{"send", "genesis_obj"}, code: exitUsage,
			stderr: []string{"send wants 2 argument(s)"}},
		{name: "inspect", args: []string{"inspect", "genesis_obj"},
			stdout: []string{"genesis_obj (oid 1)", "parents: 0", "greeting", `"hello"`, "count", "3",
				"display_yourself  (cycle 42, audit passed, author BRICK)", "- warning: unused variable",
				"source:\n      def display_yourself(self):\n          return repr(self)\n", "clone  (native)"}},
		{name: "inspect json", args: []string{"inspect", "--json", "1"}, isJSON: true,
			stdout: []string{`"name": "genesis_obj"`, `"rule": "author"`}},
		{name: "inspect not found", args: []string{"inspect", "nobody"}, code: exitServer,
			stderr: []string{"server error not_found: object: not found: nobody"}},
		{name: "inspect unexpected shape", args: []string{"inspect", "weird"}, code: exitServer,
			stderr: []string{"inspect: unexpected result"}},
		{name: "cycles", args: []string{"cycles", "--limit", "5"},
			stdout: []string{"ID", "STATE", "42", "COMPLETE", "unhandled_message display_yourself", "2026-11-26 09:00:00Z", "3.5s", "43", "FAILED", "guardian: audit failed"},
			request: func(t *testing.T, reqs []*wire.Request) {
				if reqs[0].Limit != 5 {
					t.Errorf("limit = %d, want 5", reqs[0].Limit)
				}
			}},
		{name: "cycles json", args: []string{"--json", "cycles"}, isJSON: true, stdout: []string{`"cycles"`}},
		{name: "cycle", args: []string{"cycle", "43"},
			stdout: []string{"cycle 43  FAILED", "mission:", "unhandled_message display_yourself", "outcome:", "method installed",
				"error:", "guardian: audit failed", "states:", "IDLE", "SYNTHESIZING",
				"trace:\n  doesNotUnderstand: display_yourself\n  [pLLM] Activated expert: BRICK",
				"model steps:", "DECOMPOSING", "BRICK", "1200 ms", "ROBIN", "800 ms", "error: grammar",
				"findings:\n  - covenant: ok", "result:\n  def display_yourself(self):"}},
		{name: "cycle not found", args: []string{"cycle", "99"}, code: exitServer, stderr: []string{"not_found"}},
		{name: "ingest file", args: []string{"ingest", "--id", "covenant", "--meta", "lang=en", "--meta", "kind=rule", doc},
			stdout: []string{"ingested covenant: 4 chunk(s)"},
			request: func(t *testing.T, reqs []*wire.Request) {
				r := reqs[0]
				if r.Text != "Every change must persist.\n" || r.Metadata["lang"] != "en" || r.Metadata["kind"] != "rule" {
					t.Errorf("ingest request = %+v", r)
				}
			}},
		{name: "ingest stdin json", args: []string{"--json", "ingest", "-"}, stdin: "one two", isJSON: true,
			stdout: []string{`"chunks": 2`, `"doc_id": "doc-1"`}},
		{name: "ingest missing file", args: []string{"ingest", filepath.Join(t.TempDir(), "nope")}, code: exitUsage},
		{name: "ingest bad meta", args: []string{"ingest", "--meta", "novalue", doc}, code: exitUsage, stderr: []string{"key=value"}},
		{name: "search", args: []string{"search", "persist", "changes", "--filter", "lang=en", "--limit", "3"},
			stdout: []string{"1. covenant chunk 77  score 1.25", "lang=en", "Every change must persist"},
			request: func(t *testing.T, reqs []*wire.Request) {
				r := reqs[0]
				if r.Query != "persist changes" || r.Limit != 3 || r.Filters["lang"] != "en" || r.Mode != "auto" {
					t.Errorf("search request = %+v", r)
				}
			}},
		{name: "search bad mode", args: []string{"search", "x", "--mode", "fuzzy"}, code: exitUsage, stderr: []string{"--mode"}},
		{name: "search unavailable", args: []string{"search", "x", "--mode", "vector"}, code: exitServer, stderr: []string{"unavailable"}},
		{name: "status", args: []string{"status"},
			stdout: []string{"version:", "0.1.0", "model:", "llama 8B", "device:", "CUDA0:20,CPU:12 output:CPU",
				"layers:", "20 of 32 offloaded, output layer on CPU", "uptime:", "1h2m5s", "objects:", "120",
				"cycles:", "5 (1 running); since start: 3 done, 1 failed, 1 aborted", "queue:", "0 waiting of 64, 2 worker(s)",
				"adapters hot:", "BRICK", "adapters warm:", "BRICK, ROBIN", "adapters cold:", "ALFRED, BABS, BRICK, ROBIN",
				"adapter hits:", "hot 7, warm 2", "heartbeat:", "30s"}},
		{name: "status json", args: []string{"status", "--json"}, isJSON: true, stdout: []string{`"hot_hits": 7`, `"uptime_seconds": 3725.4`}},
		{name: "grant", args: []string{"grant", "genesis_obj", "web", "http_get"},
			stdout: []string{"genesis_obj.web = @9 (capability http_get)"},
			request: func(t *testing.T, reqs []*wire.Request) {
				if r := reqs[0]; r.Command != wire.CmdGrantCapability || r.Slot != "web" || r.Capability != "http_get" {
					t.Errorf("grant request = %+v", r)
				}
			}},
		{name: "grant unknown", args: []string{"grant", "genesis_obj", "x", "shell"}, code: exitServer, stderr: []string{"unknown capability"}},
		{name: "grant usage", args: []string{"grant", "genesis_obj"}, code: exitUsage},
		{name: "set", args: []string{"set", "genesis_obj", "greeting", `"hi there"`},
			stdout: []string{`genesis_obj.greeting = "hi there"`},
			request: func(t *testing.T, reqs []*wire.Request) {
				if r := reqs[0]; r.Slot != "greeting" || r.Value.V != "hi there" {
					t.Errorf("set request = %+v", r)
				}
			}},
		{name: "set reference", args: []string{"set", "genesis_obj", "friend", "@7"},
			stdout: []string{"genesis_obj.friend = @7"},
			request: func(t *testing.T, reqs []*wire.Request) {
				if oid, ok, err := wire.AsRefValue(reqs[0].Value.V); len(reqs) != 1 || !ok || err != nil || oid != 7 {
					t.Errorf("set request = %+v", reqs[0])
				}
			}},
		{name: "set reference by name", args: []string{"set", "genesis_obj", "parent*", "@genesis_obj"},
			stdout: []string{"genesis_obj.parent* = @1"},
			request: func(t *testing.T, reqs []*wire.Request) {
				if len(reqs) != 2 || reqs[0].Command != wire.CmdInspect || reqs[1].Command != wire.CmdSetSlot {
					t.Fatalf("requests %+v", reqs)
				}
				if oid, ok, _ := wire.AsRefValue(reqs[1].Value.V); !ok || oid != 1 {
					t.Errorf("set request = %+v", reqs[1])
				}
			}},
		{name: "set references as JSON", args: []string{"set", "genesis_obj", "parent*", `[{"oid": 1}]`},
			stdout: []string{`genesis_obj.parent* = [{"oid":1}]`},
			request: func(t *testing.T, reqs []*wire.Request) {
				l, _ := reqs[0].Value.V.([]any)
				if oid, ok, _ := wire.AsRefValue(l[0]); len(l) != 1 || !ok || oid != 1 {
					t.Errorf("set request = %+v", reqs[0])
				}
			}},
		{name: "set reference to nothing", args: []string{"set", "genesis_obj", "friend", "@nobody"}, code: exitServer,
			stderr: []string{"not_found"}},
		{name: "set empty reference", args: []string{"set", "genesis_obj", "friend", "@"}, code: exitUsage,
			stderr: []string{"empty TARGET"}},
		{name: "inspect reference", args: []string{"inspect", "genesis_obj"}, stdout: []string{"friend", "ref", "@7"}},
		{name: "set negative number", args: []string{"set", "genesis_obj", "count", "-5"},
			stdout: []string{"genesis_obj.count = -5"}},
		{name: "set not json", args: []string{"set", "genesis_obj", "greeting", "hi"}, code: exitUsage, stderr: []string{"not JSON"}},
		{name: "set server refuses", args: []string{"set", "genesis_obj", "bad", "1"}, code: exitServer, stderr: []string{"bad_request"}},
		{name: "unknown command", args: []string{"fly"}, code: exitUsage, stderr: []string{`unknown command "fly"`}},
		{name: "no command", args: nil, code: exitUsage, stderr: []string{"usage: batosctl"}},
		{name: "unknown flag", args: []string{"status", "--verbose"}, code: exitUsage, stderr: []string{"verbose"}},
		{name: "bad timeout", args: []string{"--timeout", "0s", "status"}, code: exitUsage},
		{name: "help", args: []string{"help"}, stdout: []string{"usage: batosctl", "exit codes"}},
		{name: "help send", args: []string{"help", "send"}, stdout: []string{"usage: batosctl send TARGET SELECTOR", "--kwargs object", "--wait\n"}},
		{name: "dash h", args: []string{"cycles", "-h"}, stdout: []string{"--limit N"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake()
			endpoint := serve(t, fake, nil)
			args := append([]string{"--endpoint", endpoint, "--timeout", "10s"}, tt.args...)
			r := runCLI(context.Background(), tt.stdin, args...)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if tt.isJSON { // keys come sorted: check each string on its own
				for _, w := range tt.stdout {
					checkContains(t, "stdout", r.stdout, []string{w})
				}
			} else {
				checkContains(t, "stdout", r.stdout, tt.stdout)
			}
			checkContains(t, "stderr", r.stderr, tt.stderr)
			if tt.code == exitOK && r.stderr != "" {
				t.Errorf("stderr not empty:\n%s", r.stderr)
			}
			if tt.isJSON {
				var v any
				if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
					t.Errorf("stdout is not JSON: %v\n%s", err, r.stdout)
				}
			}
			if tt.request != nil {
				fake.mu.Lock()
				reqs := fake.requests
				fake.mu.Unlock()
				if len(reqs) == 0 {
					t.Fatal("no request reached the server")
				}
				tt.request(t, reqs)
			}
		})
	}
}

// checkContains checks that want's strings occur in got in order.
func checkContains(t *testing.T, what, got string, want []string) {
	t.Helper()
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("%s lacks %q (in order)\n%s", what, w, got)
			return
		}
		rest = rest[i+len(w):]
	}
}

func TestUnreachable(t *testing.T) {
	r := runCLI(context.Background(), "", "--endpoint", deadEndpoint(t), "--timeout", "200ms", "status")
	if r.code != exitUnreachable {
		t.Fatalf("exit code %d, want %d; stderr %s", r.code, exitUnreachable, r.stderr)
	}
	if !strings.Contains(r.stderr, "could not reach") {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := runCLI(ctx, "", "--endpoint", deadEndpoint(t), "status")
	if r.code != exitInterrupted {
		t.Fatalf("exit code %d, want %d; stderr %s", r.code, exitInterrupted, r.stderr)
	}
}

func TestEndpointFromEnv(t *testing.T) {
	t.Setenv("BATOS_ENDPOINT", serve(t, newFake(), nil))
	r := runCLI(context.Background(), "", "--timeout", "10s", "send", "genesis_obj", "display_yourself")
	if r.code != exitOK || !strings.Contains(r.stdout, "cycle 42") {
		t.Fatalf("exit code %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestCurve(t *testing.T) {
	srv, err := bridge.GenerateKeyPair()
	if err != nil {
		t.Skip(err)
	}
	cl, err := bridge.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, srvPub, err := bridge.WriteKeyPair(dir, "server", srv)
	if err != nil {
		t.Fatal(err)
	}
	clKey, clPub, err := bridge.WriteKeyPair(dir, "client", cl)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := serve(t, newFake(), &bridge.CurveOptions{SecretKey: srv.Secret, ClientKeys: []string{cl.Public}})
	r := runCLI(context.Background(), "", "--endpoint", endpoint, "--timeout", "10s",
		"--server-key", srvPub, "--client-key", clKey, "status", "--json")
	if r.code != exitOK {
		t.Fatalf("exit code %d\nstderr %s", r.code, r.stderr)
	}
	// A .pub file holds no secret: a usage error, before any call.
	r = runCLI(context.Background(), "", "--endpoint", endpoint, "--server-key", srvPub, "--client-key", clPub, "status")
	if r.code != exitUsage {
		t.Fatalf("client .pub as key: exit code %d, want %d; stderr %s", r.code, exitUsage, r.stderr)
	}
	// Without keys the handshake never completes: unreachable.
	r = runCLI(context.Background(), "", "--endpoint", endpoint, "--timeout", "200ms", "status")
	if r.code != exitUnreachable {
		t.Fatalf("no keys: exit code %d, want %d; stderr %s", r.code, exitUnreachable, r.stderr)
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args []string
		pos  string
		wait bool
		lim  int
	}{
		{[]string{"a", "--wait", "b"}, "a b", true, 0},
		{[]string{"--limit", "3", "a", "-5"}, "a -5", false, 3},
		{[]string{"a", "--limit=4", "--", "--wait", "-"}, "a --wait -", false, 4},
		{[]string{"-wait", "-", "x"}, "- x", true, 0},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		wait := fs.Bool("wait", false, "")
		lim := fs.Int("limit", 0, "")
		pos, err := parseInterspersed(fs, tt.args)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if got := strings.Join(pos, " "); got != tt.pos || *wait != tt.wait || *lim != tt.lim {
			t.Errorf("%q: pos %q wait %v limit %d, want %q %v %d", tt.args, got, *wait, *lim, tt.pos, tt.wait, tt.lim)
		}
	}
}

func TestLayersOffloaded(t *testing.T) {
	tests := map[string]string{
		"CPU":                      "none offloaded (CPU only)",
		"CPU:16 output:CPU":        "0 of 16 offloaded, output layer on CPU",
		"CUDA0:32 output:CUDA0":    "32 of 32 offloaded, output layer on CUDA0",
		"CUDA0:10,CUDA1:10,CPU:12": "20 of 32 offloaded",
		"something else entirely":  "",
		"CUDA0:x output:CUDA0":     "",
	}
	for in, want := range tests {
		if got := layersOffloaded(in); got != want {
			t.Errorf("layersOffloaded(%q) = %q, want %q", in, got, want)
		}
	}
}
