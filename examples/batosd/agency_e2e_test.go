package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
)

// TestAcquireCapabilityDemo runs JIT for Agency on the real daemon with
// the demo model: an http capability granted in the config to a loopback
// service, an acquire_capability mission from the bridge, and the proxy
// it writes. The model's choices are noise, but the grammar makes every
// program a call of the capability on an allowed URL: the proxy is
// audited, trial-run with a real, bounded call, installed, and its calls
// reach the service.
func TestAcquireCapabilityDemo(t *testing.T) {
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path": %q, "temp": 21}`, r.URL.Path)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	data := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "batosd.json")
	cfg := fmt.Sprintf(`{"capabilities": {"http": {"grant": ["genesis_obj"], "allow": [%q], "max-bytes": 4096}, "clock": {"grant": ["genesis_obj"]}}}`, host)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	endpoint := freeEndpoint(t)
	d := startDaemon(t, data, endpoint, "-config", cfgFile)
	if !strings.Contains(d.logText(), "capability granted") {
		t.Fatal("no capability granted in the log")
	}
	c, err := bridge.Dial(context.Background(), endpoint, bridge.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	started := call(t, c, &wire.Request{Command: wire.CmdInitiateCognitiveCycle, Target: wire.Named("genesis_obj"),
		MissionBrief: wire.Map{"type": "acquire_capability", "selector": "fetch_page", "kwargs": wire.Map{"page": "home"},
			"capability": "http_get", "purpose": "fetch a page of the local service", "install_as": "web_proxy"}}).(map[string]any)
	rec := waitCycle(t, c, started["cycle_id"].(string))
	if rec["state"] != "COMPLETE" {
		t.Fatalf("cycle ended %v: %v\n%v", rec["state"], rec["error"], rec["result"])
	}
	res := rec["result"].(map[string]any)
	calls, _ := res["capabilities"].([]any)
	if len(calls) == 0 || gets.Load() == 0 {
		t.Fatalf("the trial made no capability call (%d requests): %v", gets.Load(), res)
	}
	for _, k := range calls {
		k := k.(map[string]any)
		if k["capability"] != "http_get" || k["trial"] != true || k["error"] != nil && k["error"] != "" {
			t.Fatalf("trial call %v", k)
		}
	}
	ins := call(t, c, &wire.Request{Command: wire.CmdInspect, Target: wire.Named("web_proxy")}).(map[string]any)
	src := fmt.Sprint(ins["methods"])
	if !strings.Contains(src, "def fetch_page(self, page):") || !strings.Contains(src, "self.http_get.call(url=\"http://"+host+"/") {
		t.Fatalf("web_proxy's method is not a proxy of http_get: %v", src)
	}
	t.Logf("the demo model's proxy: %v", src)

	// The proxy answers noise, but its call is real and bounded.
	before := gets.Load()
	out := call(t, c, &wire.Request{Command: wire.CmdDispatchMessage, Target: wire.Named("web_proxy"), MessageName: "fetch_page",
		Kwargs: wire.Map{"page": "news"}})
	if gets.Load() != before+1 {
		t.Fatalf("the proxy made %d requests, want 1 (answer %v)", gets.Load()-before, out)
	}

	// The architect grants through the bridge; methods cannot.
	rep := callReply(t, c, &wire.Request{Command: wire.CmdGrantCapability, Target: wire.Named("web_proxy"), Slot: "time", Capability: "clock_now"})
	if rep.Status != wire.StatusOK {
		t.Fatalf("grant_capability: %s %s", rep.Code, rep.Message)
	}
	rep = callReply(t, c, &wire.Request{Command: wire.CmdGrantCapability, Target: wire.Named("web_proxy"), Slot: "x", Capability: "shell"})
	if rep.Code != wire.CodeNotFound {
		t.Fatalf("granting an unregistered capability: %s %s", rep.Code, rep.Message)
	}
}
