package vm_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/sandbox"
	"github.com/batos/batos/vm/vmtest"
)

const crashChildEnv = "VM_TEST_CRASH_CHILD_DIR"

// TestMain turns the test binary into a sandbox worker when a Runner
// starts it as one, and into the crash test's child process when
// crashChildEnv is set.
func TestMain(m *testing.M) {
	sandbox.Worker()
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild starts a cycle whose ALFRED call blocks, says "ready" once
// the cycle is inside its transaction, and waits to be killed.
func crashChild(dir string) {
	store, err := object.Open(dir, object.Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	model := &vmtest.Model{Block: "ALFRED", Blocked: make(chan struct{})}
	v, err := vm.Open(context.Background(), store, vm.Options{Model: model, Runner: &fakeRunner{}, Logger: slogDiscard()})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	v.Start(context.Background())
	res, err := v.Dispatch(context.Background(), "genesis_obj", "display_yourself", nil, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	<-model.Blocked
	fmt.Println("ready", res.Cycle)
	select {}
}

// A process killed in the middle of a cycle leaves no partial method, and
// the reopened image has a consistent cycle log.
func TestKillMidCycle(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v", line, err)
	}
	var cycle object.OID
	fmt.Sscan(strings.TrimPrefix(line, "ready "), &cycle)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	store, err := object.Open(dir, object.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	log := &lines{}
	ctx := ctxT(t)
	v, err := vm.Open(ctx, store, vm.Options{Model: &vmtest.Model{}, Runner: &fakeRunner{}, Logger: slogWith(log)})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(ctx)
	rec, err := v.Cycle(ctx, cycle)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != vm.StatusAborted || !strings.Contains(rec.Error, "process ended") {
		t.Errorf("killed cycle: %s %q", rec.Status, rec.Error)
	}
	if n := len(rec.Lines); n < 3 || rec.Lines[n-2] != "[pLLM] Activated expert: ALFRED" {
		t.Errorf("the persisted trace does not reach the interrupted call:\n%s", strings.Join(rec.Lines, "\n"))
	}
	if !strings.Contains(strings.Join(log.all(), "\n"), "[UVM] Resuming existence from Living Image.") {
		t.Errorf("reopen did not resume:\n%s", strings.Join(log.all(), "\n"))
	}
	e := &env{v: v, store: store}
	if m := e.slot(t, "genesis_obj", "display_yourself"); m != nil {
		t.Fatalf("partial method after the crash: %v", m)
	}
	id := fmt.Sprint(cycle)
	if s := e.slot(t, id, "status"); s != object.String(vm.StatusAborted) {
		t.Errorf("cycle object status = %v", s)
	}
	if p := e.slot(t, id, "plan"); p != nil {
		t.Errorf("cycle object holds uncommitted plan %v", p)
	}
	// The image works on: the message is learnt afresh.
	if err := v.Start(ctx); err != nil {
		t.Fatal(err)
	}
	rec2 := e.learn(t, "genesis_obj", "display_yourself")
	if rec2.Status != vm.StatusComplete || rec2.ID == cycle {
		t.Errorf("after the crash: %s %d", rec2.Status, rec2.ID)
	}
	recs, err := v.Cycles(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if !r.Done() {
			t.Errorf("cycle %d still %s", r.ID, r.Status)
		}
	}
	_ = time.Second
}
