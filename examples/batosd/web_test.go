package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batos/batos/bridge/wire"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

func get(t *testing.T, h http.Handler, path, remote, token string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.RemoteAddr = remote
	req.Host = "127.0.0.1:8080"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	body, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(body)
}

// /metrics, /healthz and /readyz: the metrics move with the cycles and
// the bridge's requests; a non-loopback client needs the token.
func TestWebMetricsAndHealth(t *testing.T) {
	m := newMetrics()
	model := &vmtest.Model{}
	v, store := vmtest.Open(t, vm.Options{Model: model, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SandboxLimits: vm.SandboxLimits{MaxAllocBytes: -1}, OnCycleEnd: m.cycleEnded})
	h := &handler{vm: v, store: store, started: time.Now(), version: "test"}
	tokenFile := filepath.Join(t.TempDir(), "token")
	web, err := newWeb(webOptions{Addr: "0.0.0.0:0", TokenFile: tokenFile}, h, m)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(tokenFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", fi.Mode().Perm())
	}
	token := strings.TrimSpace(string(tok))
	const local, remote = "127.0.0.1:5000", "192.0.2.7:5000"
	if code, body := get(t, web, "/healthz", local, ""); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, _ := get(t, web, "/readyz", local, ""); code != 200 {
		t.Errorf("/readyz with a model: %d", code)
	}
	// Reads are open; pprof (costly) needs the token from afar.
	if code, _ := get(t, web, "/metrics", remote, ""); code != 200 {
		t.Errorf("/metrics from a remote client: %d", code)
	}
	if code, _ := get(t, web, "/debug/pprof/", remote, "wrong-token-wrong-token"); code != http.StatusUnauthorized {
		t.Errorf("pprof with a wrong token: %d", code)
	}
	if code, _ := get(t, web, "/debug/pprof/", remote, token); code != 404 {
		t.Errorf("pprof (off) with the token: %d", code)
	}

	counted := newCountedHandler(h, m)
	rep := counted.Handle(context.Background(), &wire.Request{Command: wire.CmdDispatchMessage, Target: wire.Named("genesis_obj"), MessageName: "display_yourself"})
	if rep.Status != wire.StatusOK {
		t.Fatalf("dispatch: %s %s", rep.Code, rep.Message)
	}
	var ms wire.MissionStarted
	if err := rep.Result.Decode(&ms); err != nil {
		t.Fatal(err)
	}
	counted.Handle(context.Background(), &wire.Request{Command: "no_such_command"})
	counted.Handle(context.Background(), &wire.Request{Command: wire.CmdInspect, Target: wire.Named("nothing_here")})
	id, err := strconv.ParseUint(ms.CycleID, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.WaitCycle(context.Background(), object.OID(id)); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, web, "/metrics", local, "")
	for _, want := range []string{
		`batos_cycles_total{outcome="complete"} 1`,
		`batos_bridge_requests_total{code="ok",command="dispatch_message"} 1`,
		`batos_bridge_requests_total{code="unknown_command",command="unknown"} 1`,
		`batos_bridge_requests_total{code="not_found",command="inspect"} 1`,
		`batos_cycle_seconds_count{outcome="complete"} 1`,
		`batos_cycle_state_seconds_count{state="DECOMPOSING"} 1`,
		`batos_model_calls_total{persona="BRICK"} 1`,
		"batos_image_objects ",
		"batos_queue_capacity ",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if _, err := newWeb(webOptions{Addr: "0.0.0.0:8080"}, h, m); err == nil {
		t.Error("a public address without a token was accepted")
	}
}

// The real daemon serves /readyz and /metrics on -http.
func TestWebDaemon(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	d := startDaemon(t, t.TempDir(), freeEndpoint(t), "-http", addr)
	d.waitLog("[HTTP] serving", time.Minute)
	for _, path := range []string{"/readyz", "/metrics"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
		if path == "/metrics" && !strings.Contains(string(body), "batos_image_objects ") {
			t.Errorf("/metrics lacks the image's objects:\n%.400s", body)
		}
	}
}
