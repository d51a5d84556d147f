package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
	"github.com/batos/batos/vm/sandbox"
	"github.com/batos/batos/vm/vmtest"
)

var batosdBin string

func TestMain(m *testing.M) {
	sandbox.Worker() // the handler tests run methods in worker processes
	dir, err := os.MkdirTemp("", "batosd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// BATOSD_BIN names a built daemon instead (a test binary carried to a
	// machine without Go, to run its benchmarks).
	batosdBin = os.Getenv("BATOSD_BIN")
	if batosdBin == "" {
		batosdBin = filepath.Join(dir, "batosd")
		build := exec.Command("go", "build", "-o", batosdBin, ".")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building batosd:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a running batosd process with its log.
type daemon struct {
	t        *testing.T
	cmd      *exec.Cmd
	endpoint string
	mu       sync.Mutex
	log      bytes.Buffer
	done     chan struct{}
}

func freeEndpoint(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("tcp://%s", l.Addr())
}

func startDaemon(t *testing.T, data, endpoint string, extra ...string) *daemon {
	t.Helper()
	args := append([]string{"-data", data, "-endpoint", endpoint, "-threads", "1"}, extra...)
	d := &daemon{t: t, cmd: exec.Command(batosdBin, args...), endpoint: endpoint, done: make(chan struct{})}
	d.cmd.Env = append(os.Environ(), "GGML_NO_BACKTRACE=1")
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			d.mu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
		}
		d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("batosd log:\n%s", d.logText())
		}
	})
	d.waitLog("[Synaptic Bridge] listening", 3*time.Minute)
	return d
}

func (d *daemon) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// waitLog waits for text to appear in the log.
func (d *daemon) waitLog(text string, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(d.logText(), text) {
		select {
		case <-d.done:
			d.t.Fatalf("batosd exited before logging %q", text)
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("batosd did not log %q within %v", text, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *daemon) stop(sig syscall.Signal) {
	d.t.Helper()
	d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
	case <-time.After(time.Minute):
		d.t.Fatalf("batosd did not exit after %v", sig)
	}
}

func call(t *testing.T, c *bridge.Client, req *wire.Request) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := c.Call(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Command, err)
	}
	if rep.Status != wire.StatusOK {
		t.Fatalf("%s: %s: %s", req.Command, rep.Code, rep.Message)
	}
	return rep.Result.V
}

func dispatch(t *testing.T, c *bridge.Client, selector string) any {
	return call(t, c, &wire.Request{Command: wire.CmdDispatchMessage, Target: wire.Named("genesis_obj"), MessageName: selector})
}

func cycleCount(t *testing.T, c *bridge.Client) int {
	res := call(t, c, &wire.Request{Command: wire.CmdListCycles, Limit: 1000})
	cycles, _ := res.(map[string]any)["cycles"].([]any)
	return len(cycles)
}

// waitCycle waits with wait_cycle until the cycle ends and returns it,
// as show_cycle shows it.
func waitCycle(t *testing.T, c *bridge.Client, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		rep, err := c.Call(ctx, &wire.Request{Command: wire.CmdWaitCycle, CycleID: id, TimeoutMS: 60_000})
		cancel()
		if err != nil {
			t.Fatalf("wait_cycle: %v", err)
		}
		if rep.Code == wire.CodeDeadlineExceeded {
			continue
		}
		if rep.Status != wire.StatusOK {
			t.Fatalf("wait_cycle: %s: %s", rep.Code, rep.Message)
		}
		res := rep.Result.V.(map[string]any)
		switch res["state"] {
		case "COMPLETE", "FAILED", "ABORTED":
		default:
			t.Fatalf("wait_cycle answered before the cycle ended: %v", res["state"])
		}
		// The same cycle as show_cycle shows it.
		shown := call(t, c, &wire.Request{Command: wire.CmdShowCycle, CycleID: id}).(map[string]any)
		if shown["state"] != res["state"] || shown["finished"] != res["finished"] {
			t.Fatalf("wait_cycle says %v at %v, show_cycle %v at %v", res["state"], res["finished"], shown["state"], shown["finished"])
		}
		return res
	}
	t.Fatalf("cycle %s did not end", id)
	return nil
}

// wireInt is a msgpack integer as the client decodes it.
func wireInt(t *testing.T, v any) int64 {
	t.Helper()
	switch n := v.(type) {
	case int64:
		return n
	case uint64:
		return int64(n)
	case int:
		return int64(n)
	}
	t.Fatalf("%v (%T) is not an integer", v, v)
	return 0
}

// ownSlots renders genesis_obj's data slots, as inspect shows them.
func ownSlots(t *testing.T, c *bridge.Client) string {
	t.Helper()
	ins := call(t, c, &wire.Request{Command: wire.CmdInspect, Target: wire.Named("genesis_obj")}).(map[string]any)
	return fmt.Sprint(ins["slots"])
}

func pyClient(t *testing.T, endpoint string) map[string]any {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import zmq, msgpack").Run(); err != nil {
		t.Fatalf("Debian python3-zmq and python3-msgpack are required (make deps installs them): %v", err)
	}
	out, err := exec.Command(py, "testdata/blueprint_client.py", endpoint).Output()
	if err != nil {
		t.Fatalf("pyzmq client: %v", err)
	}
	var rep map[string]any
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("pyzmq client output %q: %v", out, err)
	}
	return rep
}

// TestDisplayYourself runs the blueprint's validation protocol on the real
// daemon: llama.cpp on a generated model, Pebble on disk, libzmq sockets.
func TestDisplayYourself(t *testing.T) {
	data := t.TempDir()
	endpoint := freeEndpoint(t)
	d := startDaemon(t, data, endpoint)
	c, err := bridge.Dial(context.Background(), endpoint, bridge.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// 1. The first message is not understood: a mission is dispatched.
	first, ok := dispatch(t, c, "display_yourself").(map[string]any)
	if !ok || first["mission"] != true || !strings.Contains(fmt.Sprint(first["message"]), "dispatched") {
		t.Fatalf("first reply = %#v, want a dispatched mission", first)
	}
	rec := waitCycle(t, c, first["cycle_id"].(string))
	if rec["state"] != "COMPLETE" {
		t.Fatalf("cycle ended %v: %v\n%v", rec["state"], rec["error"], rec["result"])
	}
	if err := vmtest.CheckTrace(d.logText(), vmtest.BlueprintTrace); err != nil {
		t.Fatal(err)
	}
	// llama.cpp's counts reach show_cycle: ALFRED's method header is
	// forced by its grammar (jump-forward decoding), and sampling took time.
	var forced, sampleUS int64
	steps, _ := rec["result"].(map[string]any)["steps"].([]any)
	for _, s := range steps {
		st := s.(map[string]any)
		if _, ok := st["batch"]; !ok {
			t.Fatalf("step without a batch key: %v", st)
		}
		if st["persona"] == "ALFRED" {
			forced += wireInt(t, st["forced_tokens"])
		}
		sampleUS += wireInt(t, st["sample_us"])
	}
	if forced == 0 || sampleUS == 0 {
		t.Fatalf("show_cycle: ALFRED's forced tokens %d, sampling %d µs over %d steps", forced, sampleUS, len(steps))
	}
	cycles := cycleCount(t, c)

	// 2. The same message now runs the installed method. On the demo
	// model what it returns is noise; that it runs, read-only and the
	// same every time, is not.
	res := fmt.Sprint(dispatch(t, c, "display_yourself"))
	if strings.Contains(res, "mission") {
		t.Fatalf("second reply = %v, want the method's answer", res)
	}
	if n := cycleCount(t, c); n != cycles {
		t.Fatalf("second dispatch started a cycle (%d -> %d)", cycles, n)
	}
	ins := call(t, c, &wire.Request{Command: wire.CmdInspect, Target: wire.Named("genesis_obj")}).(map[string]any)
	if !strings.Contains(fmt.Sprint(ins["methods"]), "def display_yourself(self") {
		t.Fatalf("inspect shows no display_yourself source: %v", ins["methods"])
	}

	// 3. The blueprint's pyzmq client, its payload exactly as in Part IV.
	rep := pyClient(t, endpoint)
	if rep["status"] != "ok" || fmt.Sprint(rep["result"]) != res {
		t.Fatalf("pyzmq reply = %v, want ok with %q", rep, res)
	}

	// 3b. A state-changing selector sent with an argument: its method is
	// audited and trial-run (the trial changes nothing), installed, and
	// what the resend flags persists across the restart below.
	before := ownSlots(t, c)
	mut := call(t, c, &wire.Request{Command: wire.CmdDispatchMessage, Target: wire.Named("genesis_obj"),
		MessageName: "remember_color", Args: wire.List{"red"}}).(map[string]any)
	mrec := waitCycle(t, c, mut["cycle_id"].(string))
	if mrec["state"] != "COMPLETE" {
		t.Fatalf("remember_color cycle ended %v: %v\n%v", mrec["state"], mrec["error"], mrec["result"])
	}
	attempts, _ := mrec["result"].(map[string]any)["methods"].([]any)
	if len(attempts) == 0 || attempts[len(attempts)-1].(map[string]any)["verdict"] != "passed" {
		t.Fatalf("remember_color attempts: %v", attempts)
	}
	if after := ownSlots(t, c); after != before {
		t.Fatalf("the trial run changed the object:\nbefore %s\nafter  %s", before, after)
	}
	ins = call(t, c, &wire.Request{Command: wire.CmdInspect, Target: wire.Named("genesis_obj")}).(map[string]any)
	if m := fmt.Sprint(ins["methods"]); !strings.Contains(m, "def remember_color(self, arg0):") || !strings.Contains(m, "self._p_changed = True") {
		t.Fatalf("remember_color's method is not a flagged state change: %v", ins["methods"])
	}
	call(t, c, &wire.Request{Command: wire.CmdDispatchMessage, Target: wire.Named("genesis_obj"), MessageName: "remember_color", Args: wire.List{"red"}})
	flagged := ownSlots(t, c)
	cycles = cycleCount(t, c)
	t.Logf("remember_color learned in %d attempt(s); the resend changed the object: %v", len(attempts), flagged != before)

	// 4. SIGTERM and restart: the method answers at once, no new cycle.
	d.stop(syscall.SIGTERM)
	if !strings.Contains(d.logText(), "shutdown complete") {
		t.Fatal("no graceful shutdown in the log")
	}
	d = startDaemon(t, data, endpoint)
	if again := fmt.Sprint(dispatch(t, c, "display_yourself")); again != res {
		t.Fatalf("after restart: %v, want %v", again, res)
	}
	if n := cycleCount(t, c); n != cycles {
		t.Fatalf("restart caused a cycle (%d -> %d)", cycles, n)
	}
	if strings.Contains(d.logText(), "doesNotUnderstand") {
		t.Fatal("the restarted daemon did not understand display_yourself")
	}
	if got := ownSlots(t, c); got != flagged {
		t.Fatalf("what remember_color flagged did not survive the restart:\nbefore %s\nafter  %s", flagged, got)
	}

	// 5. SIGKILL in the middle of a cycle, restart: no partial method, the
	// cycle log shows the interrupted cycle, the daemon serves.
	d.stop(syscall.SIGTERM)
	t.Setenv(testModelDelayEnv, "2s")
	d = startDaemon(t, data, endpoint)
	os.Unsetenv(testModelDelayEnv)
	mid := dispatch(t, c, "describe_yourself").(map[string]any)
	d.waitLog("to state: DECOMPOSING", time.Minute)
	d.stop(syscall.SIGKILL)
	d = startDaemon(t, data, endpoint)
	_ = d
	ins = call(t, c, &wire.Request{Command: wire.CmdInspect, Target: wire.Named("genesis_obj")}).(map[string]any)
	if strings.Contains(fmt.Sprint(ins), "describe_yourself") {
		t.Fatalf("a partial method survived the kill: %v", ins)
	}
	rec = call(t, c, &wire.Request{Command: wire.CmdShowCycle, CycleID: mid["cycle_id"].(string)}).(map[string]any)
	if st := rec["state"]; st == "COMPLETE" || st == "" {
		t.Fatalf("interrupted cycle recorded as %v", st)
	}
	t.Logf("interrupted cycle recorded as %v: %v", rec["state"], rec["error"])
	st := call(t, c, &wire.Request{Command: wire.CmdStatus}).(map[string]any)
	if st["model"] == "" {
		t.Fatalf("status = %v", st)
	}
	if again := fmt.Sprint(dispatch(t, c, "display_yourself")); again != res {
		t.Fatalf("after the kill: %v, want %v", again, res)
	}
}
