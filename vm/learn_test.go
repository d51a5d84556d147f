package vm_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

// realSandbox makes the VM run methods in the real sandbox, in process.
func realSandbox(o *vm.Options) {
	o.Runner = nil
	o.SandboxLimits.MaxAllocBytes = -1
}

// alfredScript answers ALFRED's requests with the given sources in turn
// (the last one repeats) and records the prompts it was sent.
type alfredScript struct {
	mu      sync.Mutex
	sources []string
	prompts []string
}

func (a *alfredScript) script(g vm.Generation) (string, error) {
	if g.Persona != vm.PersonaCoder {
		return "", nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.prompts = append(a.prompts, g.Messages[len(g.Messages)-1].Content)
	i := min(len(a.prompts), len(a.sources)) - 1
	return a.sources[i], nil
}

const incrementMethod = `def increment(self):
    """Count one more."""
    self.count = self.count + 1
    self._p_changed = True
    return self.count
`

func (e *env) send(t *testing.T, selector string, args ...object.Value) vm.Result {
	t.Helper()
	res, err := e.v.Dispatch(ctxT(t), vm.RootGenesis, selector, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *env) setSlot(t *testing.T, name string, val object.Value) {
	t.Helper()
	if err := e.v.SetSlot(ctxT(t), vm.RootGenesis, name, val); err != nil {
		t.Fatal(err)
	}
}

func (e *env) wait(t *testing.T, res vm.Result) *vm.CycleRecord {
	t.Helper()
	if !res.Mission {
		t.Fatalf("want a mission, got %+v", res)
	}
	rec, err := e.v.WaitCycle(ctxT(t), res.Cycle)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// reopen closes the VM and the store and opens them again on the same
// directory, as a restart of the daemon does.
func (e *env) reopen(t *testing.T, model vm.Model, tweak func(*vm.Options)) {
	t.Helper()
	ctx := context.Background()
	if err := e.v.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.store, err = object.Open(e.dir, object.Options{NoSync: true, Retries: 16}); err != nil {
		t.Fatal(err)
	}
	opts := vm.Options{Model: model, Logger: slog.New(e.log), CacheDir: t.TempDir()}
	tweak(&opts)
	if e.v, err = vm.Open(ctx, e.store, opts); err != nil {
		t.Fatal(err)
	}
	if err := e.v.Start(ctx); err != nil {
		t.Fatal(err)
	}
}

// A counter selector installs a state-changing method; its trial run
// changes nothing; each resend increments exactly once; the count
// survives a restart.
func TestLearnCounter(t *testing.T) {
	a := &alfredScript{sources: []string{incrementMethod}}
	model := &vmtest.Model{Script: a.script}
	e := open(t, model, realSandbox)
	e.setSlot(t, "count", object.Int(0))

	rec := e.wait(t, e.send(t, "increment"))
	if rec.Status != vm.StatusComplete || rec.Outcome != "method installed" {
		t.Fatalf("cycle %s %q: %s", rec.Status, rec.Outcome, rec.Error)
	}
	if len(rec.Methods) != 1 || rec.Methods[0].Verdict != vm.VerdictPassed || rec.Methods[0].Trial != "1" {
		t.Fatalf("attempts = %+v, want one passed whose trial returned 1", rec.Methods)
	}
	if got := e.slot(t, vm.RootGenesis, "count"); got != object.Int(0) {
		t.Fatalf("after the cycle count = %v, want 0: the trial run must change nothing", got)
	}
	m, ok := e.slot(t, vm.RootGenesis, "increment").(*object.Method)
	if !ok || m.Source != incrementMethod || m.Verdict != "passed" {
		t.Fatalf("installed %#v", e.slot(t, vm.RootGenesis, "increment"))
	}
	for want := int64(1); want <= 3; want++ {
		res := e.send(t, "increment")
		if res.Mission || res.Value != object.Int(want) {
			t.Fatalf("resend %d = %+v", want, res)
		}
	}
	e.reopen(t, model, realSandbox)
	if got := e.slot(t, vm.RootGenesis, "count"); got != object.Int(3) {
		t.Fatalf("after restart count = %v, want 3", got)
	}
	if res := e.send(t, "increment"); res.Value != object.Int(4) {
		t.Fatalf("after restart increment = %+v, want 4", res)
	}
}

// A first attempt that breaks the covenant, and a second whose trial
// run raises, are fed back to ALFRED with their findings; the third is
// installed.
func TestLearnRepairs(t *testing.T) {
	noFlag := "def increment(self):\n    self.count = self.count + 1\n    return self.count\n"
	raises := "def increment(self):\n    self.count = self.counter + 1\n    self._p_changed = True\n    return self.count\n"
	a := &alfredScript{sources: []string{noFlag, raises, incrementMethod}}
	e := open(t, &vmtest.Model{Script: a.script}, realSandbox)
	e.setSlot(t, "count", object.Int(10))

	rec := e.wait(t, e.send(t, "increment"))
	if rec.Status != vm.StatusComplete {
		t.Fatalf("cycle %s: %s", rec.Status, rec.Error)
	}
	var verdicts []string
	for _, m := range rec.Methods {
		verdicts = append(verdicts, m.Verdict)
	}
	if got := strings.Join(verdicts, ","); got != "rejected,trial failed,passed" {
		t.Fatalf("verdicts %s", got)
	}
	if f := strings.Join(rec.Methods[0].Findings, " "); !strings.Contains(f, "covenant") {
		t.Errorf("first attempt's findings %q lack the covenant", f)
	}
	if !strings.Contains(rec.Methods[1].Error, "counter") {
		t.Errorf("second attempt's trial error %q does not name the missing slot", rec.Methods[1].Error)
	}
	if len(a.prompts) != 3 {
		t.Fatalf("ALFRED asked %d times", len(a.prompts))
	}
	if p := a.prompts[1]; !strings.Contains(p, "Attempt 1 was refused") || !strings.Contains(p, "covenant") || !strings.Contains(p, noFlag) {
		t.Errorf("the repair prompt lacks the refused attempt and its findings:\n%s", p)
	}
	if p := a.prompts[2]; !strings.Contains(p, "Attempt 2 was refused (trial failed)") || !strings.Contains(p, "counter") {
		t.Errorf("the second repair prompt lacks the trial error:\n%s", p)
	}
	if got := e.slot(t, vm.RootGenesis, "count"); got != object.Int(10) {
		t.Errorf("count = %v after the cycle, want 10 unchanged", got)
	}
	if res := e.send(t, "increment"); res.Value != object.Int(11) {
		t.Errorf("resend = %+v", res)
	}
}

// Three bad attempts end in FAILED with nothing changed.
func TestLearnGivesUp(t *testing.T) {
	bad := "def increment(self):\n    self.count += 1\n    return self.count\n"
	a := &alfredScript{sources: []string{bad}}
	e := open(t, &vmtest.Model{Script: a.script}, realSandbox)
	e.setSlot(t, "count", object.Int(5))
	rec := e.wait(t, e.send(t, "increment"))
	if rec.Status != vm.StatusFailed || len(rec.Methods) != 3 || !strings.Contains(rec.Error, "3 method attempts refused") {
		t.Fatalf("cycle %s with %d attempts: %s", rec.Status, len(rec.Methods), rec.Error)
	}
	if e.slot(t, vm.RootGenesis, "increment") != nil || e.slot(t, vm.RootGenesis, "count") != object.Int(5) {
		t.Fatal("a failed cycle changed the object")
	}
}

// An object with 5,000 slots and a 1 MiB string learns with a 4,096-token
// context: the fake model refuses any request whose prompt and output
// bound do not fit, as llama.cpp does.
func TestHugeObjectLearns(t *testing.T) {
	model := &vmtest.Model{Context: 4096}
	e := open(t, model, nil)
	slots := vmtest.HugeSlots("fact", 5000, 1<<20)
	slots["color"] = object.String("blue")
	err := objecttest.SetSlots(ctxT(t), e.store, vm.RootGenesis, slots)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.v.Dispatch(ctxT(t), vm.RootGenesis, "display_color", []object.Value{object.String(strings.Repeat("x", 100000))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := e.wait(t, res)
	if rec.Status != vm.StatusComplete {
		t.Fatalf("cycle %s: %s", rec.Status, rec.Error)
	}
	for _, s := range rec.Steps {
		if s.PromptTokens == 0 || s.PromptTokens > s.Window || s.Window+s.MaxTokens != 4096 {
			t.Errorf("%s %s: prompt %d tokens, window %d, output %d", s.State, s.Persona, s.PromptTokens, s.Window, s.MaxTokens)
		}
	}
	brick := model.Calls()[0].Messages[0].Content
	if !strings.Contains(brick, `color (str): "blue"`) || !strings.Contains(brick, "more entries left out") {
		t.Errorf("BRICK's prompt lacks the relevant slot or the left-out line:\n%s", brick)
	}
	if rec.ContextSize != 4096 {
		t.Errorf("record context %d", rec.ContextSize)
	}
}

// A plan with three facets whose answers fill their bound still reaches
// COMPLETE with a 4,096-token context.
func TestFullFacetsFit(t *testing.T) {
	plan := `{"facets":[{"persona":"BABS","query":"one"},{"persona":"ROBIN","query":"two"},{"persona":"BRICK","query":"three"}]}`
	model := &vmtest.Model{Context: 4096}
	model.Script = func(g vm.Generation) (string, error) {
		switch {
		case g.JSONSchema != "":
			return plan, nil
		case g.Grammar == "" && g.Persona != vm.PersonaWeaver:
			return strings.Repeat("word ", g.MaxTokens), nil // one token each
		}
		return "", nil
	}
	e := open(t, model, func(o *vm.Options) {})
	for _, p := range []string{"BABS", "ROBIN", "BRICK"} {
		e.setPersonaMaxTokens(t, p, 1500)
	}
	rec := e.learn(t, vm.RootGenesis, "display_yourself")
	if rec.Status != vm.StatusComplete {
		t.Fatalf("cycle %s: %s", rec.Status, rec.Error)
	}
	calls := model.Calls()
	last := calls[len(calls)-1]
	if p := last.Messages[0].Content; last.Persona != vm.PersonaCoder || !strings.Contains(p, "bytes left out]") || strings.Count(p, "word word") < 3 {
		t.Errorf("ALFRED's prompt does not fold the facets' answers:\n%s", p)
	}
}

func (e *env) setPersonaMaxTokens(t *testing.T, persona string, n int) {
	t.Helper()
	err := e.store.Update(ctxT(t), func(tx *object.Tx) error {
		ps, err := tx.Resolve(vm.RootPersonas)
		if err != nil {
			return err
		}
		o, err := tx.Get(ps)
		if err != nil {
			return err
		}
		p, err := tx.Get(object.OID(o.Slots[persona].(object.Ref)))
		if err != nil {
			return err
		}
		p.Set("max_tokens", object.Int(n))
		return tx.Put(p)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// When even the fixed parts do not fit, the cycle fails at once with an
// error naming the context size needed, without calling the model.
func TestTinyContextFailsClearly(t *testing.T) {
	model := &vmtest.Model{Context: 200}
	e := open(t, model, nil)
	rec := e.learn(t, vm.RootGenesis, "display_yourself")
	if rec.Status != vm.StatusFailed || !strings.Contains(rec.Error, "needs a context of at least") {
		t.Fatalf("cycle %s: %s", rec.Status, rec.Error)
	}
	if n := len(model.Calls()); n != 0 {
		t.Errorf("the model was called %d times", n)
	}
}

// Without the method grammar (a strong model), ALFRED's chatty output is
// cleaned of prose and fences, a Python-ism comes back as a finding it
// can act on, and the repaired method is installed.
func TestNoMethodGrammar(t *testing.T) {
	pythonic := "Sure! Here is the method:\n```python\ndef increment(self):\n    self.count += 1\n    self._p_changed = True\n    return f\"count {self.count}\"\n```\nHope this helps."
	fixed := "```\n" + incrementMethod + "```\nThe method increments the counter."
	a := &alfredScript{sources: []string{pythonic, fixed}}
	model := &vmtest.Model{Script: a.script}
	e := open(t, model, func(o *vm.Options) { realSandbox(o); o.NoMethodGrammar = true })
	e.setSlot(t, "count", object.Int(0))
	rec := e.wait(t, e.send(t, "increment"))
	if rec.Status != vm.StatusComplete || len(rec.Methods) != 2 {
		t.Fatalf("cycle %s after %d attempts: %s", rec.Status, len(rec.Methods), rec.Error)
	}
	if f := strings.Join(rec.Methods[0].Findings, " "); !strings.Contains(f, "syntax") {
		t.Errorf("the f-string came back as %q", f)
	}
	if src := rec.Methods[0].Source; strings.Contains(src, "Sure") || strings.Contains(src, "```") || strings.Contains(src, "Hope") {
		t.Errorf("prose left in the source:\n%s", src)
	}
	for _, g := range model.Calls() {
		if g.Persona == vm.PersonaCoder && g.Grammar != "" {
			t.Fatal("ALFRED got a grammar")
		}
	}
	if m, _ := e.slot(t, vm.RootGenesis, "increment").(*object.Method); m == nil || m.Source != incrementMethod {
		t.Fatalf("installed %v", m)
	}
}

// A trial run does not re-enter the running cycle: a method that calls a
// state's behaviour (here FAILED's, which would doom the cycle's
// transaction) fails its trial as a call outside a cycle, and is
// repaired like any other failure.
func TestTrialOutsideTheCycle(t *testing.T) {
	reenter := "def poke(self):\n    return self.process_synthesis()\n"
	a := &alfredScript{sources: []string{reenter, "def poke(self):\n    return \"poked\"\n"}}
	e := open(t, &vmtest.Model{Script: a.script}, realSandbox)
	var failed object.OID
	err := e.store.View(ctxT(t), func(tx *object.Tx) error {
		psm, err := tx.Resolve(vm.RootPSM)
		if err != nil {
			return err
		}
		o, err := tx.Get(psm)
		if err != nil {
			return err
		}
		failed = object.OID(o.Slots[vm.StateFailed].(object.Ref))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.v.Dispatch(ctxT(t), failed.String(), "poke", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := e.wait(t, res)
	if rec.Status != vm.StatusComplete || len(rec.Methods) != 2 || rec.Methods[0].Verdict != vm.VerdictTrialFailed {
		t.Fatalf("cycle %s, attempts %+v: %s", rec.Status, rec.Methods, rec.Error)
	}
	if !strings.Contains(rec.Methods[0].Error, "outside a cognitive cycle") {
		t.Errorf("trial error %q", rec.Methods[0].Error)
	}
}

// A state object replaced in psm_prototypes_obj takes effect with the
// next cycle, without a restart: cycles read the wiring in their own
// transaction.
func TestReplacedStateTakesEffect(t *testing.T) {
	e := open(t, nil, nil)
	e.v.RegisterPrimitive("test.refuse", func(ctx context.Context, c *vm.Call) (object.Value, error) {
		return nil, errors.New("the replaced DECOMPOSING ran")
	})
	err := e.store.Update(ctxT(t), func(tx *object.Tx) error {
		psm, err := tx.Resolve(vm.RootPSM)
		if err != nil {
			return err
		}
		o, err := tx.Get(psm)
		if err != nil {
			return err
		}
		st, err := tx.New(map[string]object.Value{"name": object.String(vm.StateDecomposing), "process_synthesis": object.Primitive("test.refuse")})
		if err != nil {
			return err
		}
		o.Set(vm.StateDecomposing, object.Ref(st.OID))
		return tx.Put(o)
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := e.learn(t, vm.RootGenesis, "display_yourself")
	if rec.Status != vm.StatusFailed || !strings.Contains(rec.Error, "the replaced DECOMPOSING ran") {
		t.Fatalf("cycle %s: %s", rec.Status, rec.Error)
	}
}

// A model file given on a later open is never silently ignored: the same
// file is not imported again, another one replaces the image's model
// (and its old blob is deleted).
func TestModelFileReplaced(t *testing.T) {
	src := t.TempDir()
	a, b := filepath.Join(src, "a.gguf"), filepath.Join(src, "b.gguf")
	os.WriteFile(a, bytes.Repeat([]byte("a"), 1<<16), 0o644)
	os.WriteFile(b, bytes.Repeat([]byte("b"), 1<<16), 0o644)
	withModel := func(path string) func(*vm.Options) { return func(o *vm.Options) { o.ModelFile = path } }
	imports := func(e *env) int {
		n := 0
		for _, l := range e.log.all() {
			if strings.Contains(l, "Persisting file to a blob") {
				n++
			}
		}
		return n
	}
	e := open(t, nil, withModel(a))
	blobOf := func() object.BlobRef {
		var ref object.BlobRef
		e.store.View(ctxT(t), func(tx *object.Tx) error {
			p, _ := tx.Resolve(vm.RootPLLM)
			o, err := tx.Get(p)
			if err == nil {
				ref, _ = o.Slots["model_blob"].(object.BlobRef)
			}
			return nil
		})
		return ref
	}
	first := blobOf()
	if imports(e) != 1 || first.Size != 1<<16 {
		t.Fatalf("first open: %d imports, blob %+v", imports(e), first)
	}
	e.reopen(t, &vmtest.Model{}, withModel(a))
	if n := imports(e); n != 1 {
		t.Errorf("the same file was imported again (%d imports)", n)
	}
	e.reopen(t, &vmtest.Model{}, withModel(b))
	second := blobOf()
	if second.SHA256 == first.SHA256 || imports(e) != 2 {
		t.Fatalf("another file did not replace the model: %d imports, %x", imports(e), second.SHA256[:4])
	}
	if _, err := e.store.Blob(ctxT(t), first.ID); err == nil {
		t.Error("the replaced model's blob was kept")
	}
	path, err := e.v.MaterializeModel(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, bytes.Repeat([]byte("b"), 1<<16)) {
		t.Error("the materialized model is not the new file")
	}
}
