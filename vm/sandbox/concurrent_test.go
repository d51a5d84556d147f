package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/sandbox"
)

// TestConcurrent runs calls from several goroutines on one Runner, each on
// its own object; every increment must land exactly once.
func TestConcurrent(t *testing.T) {
	modes(t, sandbox.Options{Workers: 2}, func(t *testing.T, r *sandbox.Runner) {
		w := newWorld(t)
		const goroutines, calls = 4, 10
		oids := make([]object.OID, goroutines)
		err := w.store.Update(context.Background(), func(tx *object.Tx) error {
			for i := range oids {
				o, err := tx.New(map[string]object.Value{"parent*": object.Ref(w.parent), "n": object.Int(0)})
				if err != nil {
					return err
				}
				oids[i] = o.OID
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		inc := meth("inc", "def inc(self):\n    self.n += 1\n    self._p_changed = True\n    return self.helper()\n")
		var wg sync.WaitGroup
		errs := make(chan error, goroutines*calls)
		for _, oid := range oids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range calls {
					if _, err := w.call(t, r, oid, inc); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for _, oid := range oids {
			if got := w.slot(t, oid, "n"); !object.Equal(got, object.Int(calls)) {
				t.Errorf("object %d: n = %s, want %d", oid, object.Format(got), calls)
			}
		}
	})
}

func TestClose(t *testing.T) {
	w := newWorld(t)
	r := sandbox.New(sandbox.Options{})
	get := meth("m", "def m(self):\n    return self.x\n")
	if _, err := w.call(t, r, w.child, get); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := w.call(t, r, w.child, get); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

// workerPIDs returns the PIDs of this process' children that are sandbox
// workers.
func workerPIDs(t *testing.T) []int {
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	var pids []int
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(field)
			env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
			if err == nil && strings.Contains(string(env), "BATOS_SANDBOX_WORKER=1") {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// TestIdleWorkerDies checks that a worker killed while idle is replaced
// without failing the next call.
func TestIdleWorkerDies(t *testing.T) {
	w := newWorld(t)
	r := sandbox.New(sandbox.Options{Workers: 1})
	defer r.Close()
	get := meth("m", "def m(self):\n    return self.x\n")
	if _, err := w.call(t, r, w.child, get); err != nil {
		t.Fatal(err)
	}
	pids := workerPIDs(t)
	if len(pids) == 0 {
		t.Skip("cannot find worker processes (no /proc/*/task/*/children)")
	}
	for _, pid := range pids {
		p, _ := os.FindProcess(pid)
		_ = p.Kill()
	}
	// Wait until the runner has reaped them (their /proc entries go).
	for _, pid := range pids {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
				break
			}
		}
	}
	if got, err := w.call(t, r, w.child, get); err != nil || !object.Equal(got, object.Int(1)) {
		t.Fatalf("after killing the idle worker: %v, %v", got, err)
	}
}

// TestPrimitivePanic checks that a panicking primitive does not leak the
// worker: the runner (one worker) still serves the next call.
func TestPrimitivePanic(t *testing.T) {
	w := newWorld(t)
	modes(t, sandbox.Options{Workers: 1, Primitive: func(ctx context.Context, tx *object.Tx, self object.OID, name string, args []object.Value, kwargs map[string]object.Value) (object.Value, error) {
		panic("primitive bug")
	}}, func(t *testing.T, r *sandbox.Runner) {
		err := w.store.Update(context.Background(), func(tx *object.Tx) error {
			_, err := r.Call(context.Background(), tx, w.child, meth("m", "def m(self):\n    return self.prim()\n"), nil, nil)
			return err
		})
		var pe *object.PanicError
		if !errors.As(err, &pe) {
			t.Fatalf("err = %v, want the store's PanicError", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = w.store.Update(ctx, func(tx *object.Tx) error {
			_, err := r.Call(ctx, tx, w.child, meth("m", "def m(self):\n    return self.x\n"), nil, nil)
			return err
		})
		if err != nil {
			t.Fatalf("next call: %v", err)
		}
	})
}
