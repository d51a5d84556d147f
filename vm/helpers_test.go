package vm_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files in testdata")

// lines is a slog handler that keeps the messages (the operator trace).
type lines struct {
	mu  sync.Mutex
	msg []string
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msg = append(l.msg, r.Message)
	l.mu.Unlock()
	return nil
}
func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msg...)
}

// fakeRunner stands in for the sandbox where a test needs no Starlark: it
// runs "return self.repr()" bodies through the VM's primitive and fails
// on anything else.
type fakeRunner struct {
	mu sync.Mutex
	v  *vm.VM
	n  int
}

func (f *fakeRunner) Call(ctx context.Context, tx *object.Tx, self object.OID, m *object.Method, args []object.Value, kwargs map[string]object.Value) (object.Value, error) {
	f.mu.Lock()
	f.n++
	v := f.v
	f.mu.Unlock()
	if strings.Contains(m.Source, "return self.repr()") {
		if v == nil { // a test that never runs methods, only trial-runs them
			return object.String("<fake repr>"), nil
		}
		return v.CallPrimitive(ctx, tx, self, vm.PrimRepr, nil, nil)
	}
	return nil, errors.New("fakeRunner: unsupported method body")
}

type env struct {
	v     *vm.VM
	store *object.Store
	model *vmtest.Model
	log   *lines
	dir   string
}

// open opens a started VM on a fresh store with the fake model and the
// fake runner; tweak adjusts the options.
func open(t *testing.T, model vm.Model, tweak func(*vm.Options)) *env {
	t.Helper()
	return openWith(t, model, object.Options{NoSync: true, Retries: 16}, tweak)
}

// openWith is open with the store's options.
func openWith(t *testing.T, model vm.Model, sopts object.Options, tweak func(*vm.Options)) *env {
	t.Helper()
	e := &env{log: &lines{}, dir: t.TempDir()}
	if model == nil {
		e.model = &vmtest.Model{}
		model = e.model
	} else if m, ok := model.(*vmtest.Model); ok {
		e.model = m
	}
	runner := &fakeRunner{}
	opts := vm.Options{
		Model:    model,
		Runner:   runner,
		Logger:   slog.New(e.log),
		CacheDir: t.TempDir(),
		Now:      fixedClock(),
	}
	if tweak != nil {
		tweak(&opts)
	}
	var err error
	e.store, err = object.Open(e.dir, sopts)
	if err != nil {
		t.Fatal(err)
	}
	e.v, err = vm.Open(context.Background(), e.store, opts)
	if err != nil {
		t.Fatal(err)
	}
	runner.mu.Lock()
	runner.v = e.v
	runner.mu.Unlock()
	if err := e.v.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.v.Close(context.Background())
		e.store.Close()
	})
	return e
}

// fixedClock returns a clock that advances one millisecond per reading,
// so records are deterministic apart from durations measured with time.Since.
func fixedClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// learn dispatches selector to target, expects a mission and waits for it.
func (e *env) learn(t *testing.T, target, selector string) *vm.CycleRecord {
	t.Helper()
	ctx := ctxT(t)
	res, err := e.v.Dispatch(ctx, target, selector, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Mission || res.Cycle == 0 {
		t.Fatalf("Dispatch(%s) = %+v, want a mission", selector, res)
	}
	rec, err := e.v.WaitCycle(ctx, res.Cycle)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// slot returns target's own slot name (nil when absent).
func (e *env) slot(t *testing.T, target, name string) object.Value {
	t.Helper()
	return objecttest.Slot(t, e.store, target, name)
}

// render formats a cycle record without timings, for golden files.
func render(rec *vm.CycleRecord) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "cycle %d target %d mission %s selector %q\n", rec.ID, rec.Target, rec.Mission, rec.Selector)
	fmt.Fprintf(&sb, "status %s outcome %q error %q attempts %d\n", rec.Status, rec.Outcome, rec.Error, rec.Attempts)
	var states []string
	for _, s := range rec.States {
		states = append(states, s.Name)
	}
	fmt.Fprintf(&sb, "states %s\n", strings.Join(states, " -> "))
	sb.WriteString("--- trace\n")
	for _, l := range rec.Lines {
		sb.WriteString(l + "\n")
	}
	for i, s := range rec.Steps {
		fmt.Fprintf(&sb, "--- step %d %s %s adapter=%q error=%q\n", i+1, s.State, s.Persona, s.Adapter, s.Error)
		sb.WriteString(">>> prompt\n" + s.Prompt + "\n<<< output\n" + s.Output + "\n")
	}
	if len(rec.Findings) > 0 {
		sb.WriteString("--- findings\n" + strings.Join(rec.Findings, "\n") + "\n")
	}
	sb.WriteString("--- result\n" + rec.Result + "\n")
	return sb.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := "testdata/" + name
	if *rewrite {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -rewrite to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -rewrite to update):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
