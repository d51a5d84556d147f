package sandbox_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/sandbox"
)

// hostile is the corpus of generated code that attacks the sandbox. Each
// must stop with one of the listed errors while the test process' memory
// stays bounded. Every case passes the guardian unless audit is false.
var hostile = []struct {
	name  string
	src   string
	want  []error
	audit bool // run with the guardian audit (else NoAudit)
	// timeout, when set, is the call's deadline: big-integer arithmetic
	// runs inside one step, so only the deadline stops it.
	timeout time.Duration
}{
	{"infinite loop", "def m(self):\n    for i in range(1 << 62):\n        pass\n", []error{sandbox.ErrSteps}, true, 0},
	{"nested loops", "def m(self):\n    n = 0\n    for i in range(100000):\n        for j in range(100000):\n            n += 1\n    return n\n", []error{sandbox.ErrSteps}, true, 0},
	{"memory bomb", "def m(self):\n    return len([0] * (1 << 25))\n", []error{sandbox.ErrMemory}, true, 0},
	{"huge repeat", "def m(self):\n    return len(\"x\" * (1 << 29))\n", []error{sandbox.ErrMemory}, true, 0},
	{"string doubling", "def m(self):\n    s = \"x\"\n    for i in range(40):\n        s = s + s\n    return len(s)\n", []error{sandbox.ErrMemory}, true, 0},
	{"list materialization", "def m(self):\n    return len(sorted(range(1 << 26)))\n", []error{sandbox.ErrMemory}, true, 0},
	{"accumulate", "def m(self):\n    keep = []\n    for i in range(1000):\n        keep.append(\"y\" * (1 << 20) + str(i))\n    return len(keep)\n", []error{sandbox.ErrMemory}, true, 0},
	{"deep nesting", "def m(self):\n    l = []\n    for i in range(200000):\n        l = [l]\n    return l\n", []error{sandbox.ErrFailed}, true, 0},
	{"deep nesting str", "def m(self):\n    l = []\n    for i in range(300000):\n        l = [l]\n    return len(str(l))\n", []error{sandbox.ErrFailed, sandbox.ErrMemory, sandbox.ErrDepth, sandbox.ErrSteps}, true, 0},
	{"recursion through self", "def m(self):\n    return self.again()\n", []error{sandbox.ErrFailed}, true, 0},
	{"mutual recursion", "def m(self):\n    return self.ping()\n", []error{sandbox.ErrFailed, sandbox.ErrDepth}, true, 0},
	{"deep delegation chain", "def m(self):\n    return self.c1()\n", []error{sandbox.ErrDepth}, true, 0},
	{"load", "load(\"os.star\", \"system\")\ndef m(self):\n    return 1\n", []error{sandbox.ErrRejected}, true, 0},
	{"load unaudited", "load(\"os.star\", \"system\")\ndef m(self):\n    return 1\n", []error{sandbox.ErrRejected}, false, 0},
	{"slots escape", "def m(self):\n    return self._slots\n", []error{sandbox.ErrRejected}, true, 0},
	{"slots escape unaudited", "def m(self):\n    return self._slots\n", []error{sandbox.ErrFailed}, false, 0},
	{"getattr escape unaudited", "def m(self):\n    return getattr(self, \"_p_jar\")\n", []error{sandbox.ErrFailed}, false, 0},
	{"dunder unaudited", "def m(self):\n    return self.__class__\n", []error{sandbox.ErrFailed}, false, 0},
	{"huge print", "def m(self):\n    for i in range(100000):\n        print(\"spam spam spam spam spam spam spam\")\n", []error{sandbox.ErrOutput}, true, 0},
	{"huge result", "def m(self):\n    return \"z\" * (4 << 20)\n", []error{sandbox.ErrOutput}, true, 0},
	{"huge state", "def m(self):\n    self.blob = \"z\" * (4 << 20)\n    self._p_changed = True\n", []error{sandbox.ErrOutput}, true, 0},
	{"bigint squaring", "def m(self):\n    x = 3\n    for i in range(40):\n        x = x * x\n    return x > 0\n", []error{sandbox.ErrMemory, sandbox.ErrCanceled}, true, time.Second},
	{"while unaudited", "def m(self):\n    while True:\n        pass\n", []error{sandbox.ErrRejected}, false, 0},
}

func vmHWM(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmHWM")
	return 0
}

func TestHostile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("memory-bounded workers need Linux")
	}
	// Start the high-water mark afresh (Linux: writing 5 to clear_refs
	// resets VmHWM to the current RSS), so earlier tests in this process
	// don't count.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	before := vmHWM(t)
	w := newWorld(t)
	// ping/pong for mutual recursion, c1..c20 for a deep chain of distinct methods.
	err := w.store.Update(context.Background(), func(tx *object.Tx) error {
		o, err := tx.Get(w.root)
		if err != nil {
			return err
		}
		o.Set("again", meth("again", "def again(self):\n    return self.again()\n"))
		o.Set("ping", meth("ping", "def ping(self):\n    return self.pong()\n"))
		o.Set("pong", meth("pong", "def pong(self):\n    return self.ping()\n"))
		for i := 1; i <= 20; i++ {
			sel := "c" + strconv.Itoa(i)
			body := "    return " + strconv.Itoa(i) + "\n"
			if i < 20 {
				body = "    return self.c" + strconv.Itoa(i+1) + "()\n"
			}
			o.Set(sel, meth(sel, "def "+sel+"(self):\n"+body))
		}
		return tx.Put(o)
	})
	if err != nil {
		t.Fatal(err)
	}
	base := sandbox.Options{
		MaxAllocBytes:  64 << 20,
		MaxSteps:       2_000_000,
		MaxPrintBytes:  64 << 10,
		MaxResultBytes: 1 << 20,
		Timeout:        20 * time.Second,
		Workers:        1,
	}
	audited := sandbox.New(base)
	defer audited.Close()
	noAudit := base
	noAudit.NoAudit = true
	unaudited := sandbox.New(noAudit)
	defer unaudited.Close()
	for _, c := range hostile {
		t.Run(c.name, func(t *testing.T) {
			r := audited
			if !c.audit {
				r = unaudited
			}
			start := time.Now()
			ctx := context.Background()
			if c.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.timeout)
				defer cancel()
			}
			err := w.store.Update(ctx, func(tx *object.Tx) error {
				_, err := r.Call(ctx, tx, w.child, meth("m", c.src), nil, nil)
				return err
			})
			ok := false
			for _, want := range c.want {
				ok = ok || errors.Is(err, want)
			}
			if !ok {
				t.Fatalf("err = %v, want one of %v", err, c.want)
			}
			t.Logf("%v in %v", err, time.Since(start).Round(time.Millisecond))
		})
	}
	// After the corpus the runner still works and the child is unchanged.
	got, err := w.call(t, audited, w.child, meth("m", "def m(self):\n    return self.x\n"))
	if err != nil || !object.Equal(got, object.Int(1)) {
		t.Fatalf("after corpus: %v, %v", got, err)
	}
	if v := w.slot(t, w.child, "blob"); v != nil {
		t.Errorf("huge state was committed")
	}
	after := vmHWM(t)
	t.Logf("test process VmHWM: %d MiB before, %d MiB after", before>>20, after>>20)
	// A 512 MiB allocation in this process would put the high-water mark
	// far over this bound.
	if limit := before + int64(400<<20); after > limit {
		t.Errorf("test process VmHWM %d MiB over %d MiB: a hostile allocation reached the parent", after>>20, limit>>20)
	}
}

func TestCancel(t *testing.T) {
	w := newWorld(t)
	modes(t, sandbox.Options{MaxSteps: 1 << 62}, func(t *testing.T, r *sandbox.Runner) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := w.store.Update(context.Background(), func(tx *object.Tx) error {
			_, err := r.Call(ctx, tx, w.child, meth("m", "def m(self):\n    for i in range(1 << 62):\n        pass\n"), nil, nil)
			return err
		})
		if !errors.Is(err, sandbox.ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrCanceled and DeadlineExceeded", err)
		}
	})
}

func TestTimeout(t *testing.T) {
	w := newWorld(t)
	modes(t, sandbox.Options{MaxSteps: 1 << 62, Timeout: 200 * time.Millisecond}, func(t *testing.T, r *sandbox.Runner) {
		_, err := w.call(t, r, w.child, meth("m", "def m(self):\n    for i in range(1 << 62):\n        pass\n"))
		if !errors.Is(err, sandbox.ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrCanceled and DeadlineExceeded", err)
		}
	})
}

// Primitives run in the calling process, outside the worker's address-space
// limit: a method that calls a writing primitive in a loop is stopped by
// the primitive-call bound or by the bytes the primitives wrote.
func TestPrimitiveBounds(t *testing.T) {
	w := newWorld(t)
	var big object.OID
	err := w.store.Update(context.Background(), func(tx *object.Tx) error {
		o, err := tx.New(map[string]object.Value{
			"payload": object.Bytes(make([]byte, 256<<10)),
			"dup":     object.Primitive("dup"),
		})
		big = o.OID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	clones := 0
	opts := sandbox.Options{
		MaxAllocBytes: 8 << 20,
		MaxSteps:      10_000_000,
		Timeout:       30 * time.Second,
		Workers:       1,
		Primitive: func(ctx context.Context, tx *object.Tx, self object.OID, name string, _ []object.Value, _ map[string]object.Value) (object.Value, error) {
			clones++
			_, err := tx.Clone(self)
			return nil, err
		},
	}
	r := sandbox.New(opts)
	defer r.Close()
	loop := meth("m", "def m(self):\n    for i in range(1000000):\n        self.dup()\n    return 0\n")
	cases := []struct {
		name string
		self object.OID
		want error
		max  int // clones allowed before the stop
	}{
		{"bytes written", big, sandbox.ErrMemory, 33}, // 8 MiB / 256 KiB = 32 clones
		{"call count", w.child, sandbox.ErrSteps, sandbox.DefaultMaxPrimitives},
	}
	err = w.store.Update(context.Background(), func(tx *object.Tx) error {
		o, err := tx.Get(w.child)
		if err != nil {
			return err
		}
		o.Set("dup", object.Primitive("dup"))
		return tx.Put(o)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clones = 0
			err := w.store.Update(context.Background(), func(tx *object.Tx) error {
				_, err := r.Call(context.Background(), tx, c.self, loop, nil, nil)
				return err
			})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if clones > c.max {
				t.Fatalf("%d primitive calls ran, want at most %d", clones, c.max)
			}
		})
	}
}
