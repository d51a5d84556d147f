package methodspec_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/batos/batos/gbnf"
	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/methodspec"
)

// trialWorld is a vm.VM with a target object of a handful of slots that
// delegates to genesis_obj, and a sandbox runner in process.
type trialWorld struct {
	v      *vm.VM
	store  *object.Store
	target object.OID
	run    vm.MethodRunner
}

var trialSlots = map[string]object.Value{
	"count": object.Int(3),
	"name":  object.String("widget"),
	"items": object.List{object.String("apple"), object.String("pear")},
	"table": object.Map{"red": object.Int(1), "blue": object.Int(2)},
	"ratio": object.Float(0.5),
}

func newTrialWorld(t testing.TB) *trialWorld {
	t.Helper()
	store := objecttest.Open(t, object.Options{})
	ctx := context.Background()
	v, err := vm.Open(ctx, store, vm.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close(ctx) })
	w := &trialWorld{v: v, store: store, run: v.NewRunner(vm.SandboxLimits{MaxAllocBytes: -1})}
	err = store.Update(ctx, func(tx *object.Tx) error {
		g, err := tx.Root(vm.RootGenesis)
		if err != nil {
			return err
		}
		slots := map[string]object.Value{"parent*": object.Ref(g)}
		for k, val := range trialSlots {
			slots[k] = object.CloneValue(val)
		}
		o, err := tx.New(slots)
		w.target = o.OID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *trialWorld) spec(t testing.TB, selector string, params []string, args []object.Value) methodspec.Spec {
	t.Helper()
	var s methodspec.Spec
	err := w.store.View(context.Background(), func(tx *object.Tx) error {
		var err error
		s, err = methodspec.New(tx, w.target, selector, params, args)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var errDiscard = errors.New("discard the trial")

// trial runs src on the target and discards whatever it wrote.
func (w *trialWorld) trial(selector, src string, args []object.Value) error {
	ctx := context.Background()
	err := w.store.Update(ctx, func(tx *object.Tx) error {
		if _, err := w.run.Call(ctx, tx, w.target, &object.Method{Selector: selector, Source: src}, args, nil); err != nil {
			return err
		}
		return errDiscard
	})
	if errors.Is(err, errDiscard) {
		return nil
	}
	return err
}

// failureClass reduces an error to a class for the report.
var classRE = regexp.MustCompile(`[0-9]+|"[^"]*"|'[^']*'`)

func failureClass(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg)-i > 8 {
		msg = msg[i+2:]
	}
	if len(msg) > 70 {
		msg = msg[:70]
	}
	return classRE.ReplaceAllString(msg, "_")
}

// Programs sampled uniformly from the grammar built for a target with a
// handful of slots pass the guardian and run on that target: at least
// 90% of them, none longer than MaxTokens, and the GBNF text parses as
// llama.cpp reads it.
func TestMethodGrammarSamplesRun(t *testing.T) {
	w := newTrialWorld(t)
	params := []string{"arg0", "arg1"}
	args := []object.Value{object.Int(5), object.String("blue")}
	base := w.spec(t, "update_stats", params, args)
	for _, tc := range []struct {
		name   string
		change methodspec.Change
		n      int
	}{
		{"either", methodspec.ChangeEither, 10000},
		{"read-only", methodspec.ChangeNever, 2000},
		{"state-changing", methodspec.ChangeAlways, 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := base
			spec.Change = tc.change
			n := tc.n
			if testing.Short() {
				n /= 10
			}
			sampleRun(t, w, spec, params, args, n)
		})
	}
}

func sampleRun(t *testing.T, w *trialWorld, spec methodspec.Spec, params []string, args []object.Value, n int) {
	text := spec.Grammar()
	g, err := gbnf.Parse(text)
	if err != nil {
		t.Fatalf("the grammar does not parse: %v", err)
	}
	limit := spec.MaxTokens()
	if g.MaxLen() != limit {
		t.Errorf("parsed MaxLen %d, MaxTokens %d", g.MaxLen(), limit)
	}
	t.Logf("grammar: %d bytes, %d rules; MaxTokens %d", len(text), len(g.Names()), limit)
	pol := guardian.DefaultPolicy(spec.Selector)
	pol.Params = params
	r := rand.New(rand.NewPCG(11, 12))
	pass, mutating := 0, 0
	classes := map[string]int{}
	example := map[string]string{}
	for range n {
		src := g.Sample(r)
		if len(src) > limit {
			t.Fatalf("sample of %d bytes over MaxTokens %d:\n%s", len(src), limit, src)
		}
		flagged := strings.Contains(src, "_p_changed")
		if flagged {
			mutating++
		}
		if flagged && spec.Change == methodspec.ChangeNever || !flagged && spec.Change == methodspec.ChangeAlways {
			t.Fatalf("a %v body:\n%s", spec.Change, src)
		}
		var cls string
		if err := guardian.Check(src, pol); err != nil {
			cls = "guardian: " + failureClass(err)
		} else if err := w.trial(spec.Selector, src, args); err != nil {
			cls = "trial: " + failureClass(err)
		}
		if cls == "" {
			pass++
			continue
		}
		classes[cls]++
		if _, ok := example[cls]; !ok {
			example[cls] = src
		}
	}
	rate := float64(pass) / float64(n)
	t.Logf("%d of %d samples (%.2f%%) pass the guardian and run; %d change state", pass, n, 100*rate, mutating)
	keys := make([]string, 0, len(classes))
	for k := range classes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return classes[keys[i]] > classes[keys[j]] })
	for i, k := range keys {
		if i < 12 {
			t.Logf("%5d  %s\n%s", classes[k], k, example[k])
		}
	}
	if rate < 0.9 {
		t.Errorf("pass rate %.1f%% < 90%%", 100*rate)
	}
}

// A corpusCase is one testdata/methods/*.star file: a method as an
// instruct model writes it, with a header of "# key: JSON" lines that
// give what its grammar is built from and the guardian's verdict.
type corpusCase struct {
	file    string
	source  string // the method, header stripped
	spec    methodspec.Spec
	verdict []string // "pass" or the rule ids expected, sorted
}

func loadMethodCorpus(t testing.TB) []corpusCase {
	t.Helper()
	files, err := filepath.Glob("testdata/methods/*.star")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	var out []corpusCase
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		c := corpusCase{file: filepath.Base(file)}
		var slots, methods map[string]any
		var args []any
		var params []string
		lines := strings.SplitAfter(string(data), "\n")
		i := 0
		for ; i < len(lines) && strings.HasPrefix(lines[i], "# "); i++ {
			key, val, ok := strings.Cut(strings.TrimSpace(lines[i][2:]), ": ")
			if !ok {
				t.Fatalf("%s: header line %q", file, lines[i])
			}
			var dst any
			switch key {
			case "slots":
				dst = &slots
			case "args":
				dst = &args
			case "params":
				dst = &params
			case "methods":
				dst = &methods
			case "verdict":
				c.verdict = strings.Split(val, ",")
				sort.Strings(c.verdict)
				continue
			default:
				t.Fatalf("%s: unknown header %q", file, key)
			}
			dec := json.NewDecoder(strings.NewReader(val))
			dec.UseNumber()
			if err := dec.Decode(dst); err != nil {
				t.Fatalf("%s: %s: %v", file, key, err)
			}
		}
		c.source = strings.Join(lines[i:], "")
		if m := regexp.MustCompile(`(?m)^def (\w+)`).FindStringSubmatch(c.source); m != nil {
			c.spec.Selector = m[1]
		}
		c.spec.Slots = map[string]object.Value{}
		for k, v := range slots {
			c.spec.Slots[k] = jsonValue(v)
		}
		for _, a := range args {
			c.spec.Args = append(c.spec.Args, jsonValue(a))
		}
		if params == nil {
			for j := range args {
				params = append(params, "arg"+strconv.Itoa(j))
			}
		}
		c.spec.Params = params
		c.spec.Methods = map[string]int{"repr": 0, "display": 0, "oid": 0, "slot_names": 0, "clone": 0}
		c.spec.Change = methodspec.SelectorChange(c.spec.Selector) // as methodspec.New derives it
		for k, v := range methods {
			n, _ := v.(json.Number).Int64()
			c.spec.Methods[k] = int(n)
		}
		out = append(out, c)
	}
	return out
}

// jsonValue converts a decoded JSON value: numbers with a point are
// floats, {"ref": N} is a reference.
func jsonValue(v any) object.Value {
	switch x := v.(type) {
	case nil:
		return nil
	case bool:
		return object.Bool(x)
	case string:
		return object.String(x)
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			f, _ := x.Float64()
			return object.Float(f)
		}
		n, _ := x.Int64()
		return object.Int(n)
	case []any:
		l := object.List{}
		for _, e := range x {
			l = append(l, jsonValue(e))
		}
		return l
	case map[string]any:
		if r, ok := x["ref"].(json.Number); ok && len(x) == 1 {
			n, _ := r.Int64()
			return object.Ref(n)
		}
		m := object.Map{}
		for k, e := range x {
			m[k] = jsonValue(e)
		}
		return m
	}
	panic(fmt.Sprintf("jsonValue %T", v))
}

// Every corpus method gets the guardian verdict its header says.
func TestMethodCorpusVerdicts(t *testing.T) {
	cases := loadMethodCorpus(t)
	if len(cases) < 150 {
		t.Errorf("%d corpus methods, want at least 150", len(cases))
	}
	for _, c := range cases {
		pol := guardian.DefaultPolicy(c.spec.Selector)
		pol.Params = c.spec.Params
		err := guardian.Check(c.source, pol)
		got := []string{"pass"}
		if err != nil {
			var fs guardian.Findings
			if !errors.As(err, &fs) {
				t.Fatalf("%s: %v", c.file, err)
			}
			seen := map[string]bool{}
			got = nil
			for _, f := range fs {
				if !seen[f.Rule] {
					seen[f.Rule] = true
					got = append(got, f.Rule)
				}
			}
			sort.Strings(got)
		}
		if strings.Join(got, ",") != strings.Join(c.verdict, ",") {
			t.Errorf("%s: verdict %v, header says %v (%v)", c.file, got, c.verdict, err)
		}
	}
}

// At least 95% of the corpus methods the guardian passes are admitted
// verbatim by the grammar built for their spec; the rejected ones need
// not be (and none is).
func TestMethodCorpusCoverage(t *testing.T) {
	cases := loadMethodCorpus(t)
	admitted, passing := 0, 0
	var missed []string
	for _, c := range cases {
		g, err := gbnf.Parse(c.spec.Grammar())
		if err != nil {
			t.Fatalf("%s: grammar: %v", c.file, err)
		}
		ok := g.Match(c.source)
		if c.verdict[0] != "pass" {
			if ok {
				t.Errorf("%s: the grammar admits a method the guardian rejects", c.file)
			}
			continue
		}
		passing++
		if ok {
			admitted++
			if len(c.source) > c.spec.MaxTokens() {
				t.Errorf("%s: admitted but longer than MaxTokens", c.file)
			}
		} else {
			missed = append(missed, c.file)
		}
	}
	rate := float64(admitted) / float64(passing)
	t.Logf("grammar admits %d of %d passing corpus methods (%.1f%%); not admitted: %v", admitted, passing, 100*rate, missed)
	if rate < 0.95 {
		t.Errorf("coverage %.1f%% < 95%%", 100*rate)
	}
}

// The blueprint's display_yourself, on genesis_obj with nothing but the
// genesis slots, is admitted, and the fake model's header parser reads
// the grammar's first line.
func TestMethodGrammarDisplayYourself(t *testing.T) {
	w := newTrialWorld(t)
	var spec methodspec.Spec
	err := w.store.View(context.Background(), func(tx *object.Tx) error {
		g, err := tx.Root(vm.RootGenesis)
		if err != nil {
			return err
		}
		spec, err = methodspec.New(tx, g, "display_yourself", nil, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"repr", "oid", "slot_names", "clone"} {
		if n, ok := spec.Methods[m]; !ok || n != 0 {
			t.Errorf("Methods[%s] = %d, %v", m, n, ok)
		}
	}
	if _, ok := spec.Slots["parent*"]; ok {
		t.Error("parent slot among the data slots")
	}
	text := spec.Grammar()
	if !strings.HasPrefix(text, `root ::= "def display_yourself(self):\n" `) {
		t.Errorf("grammar starts %.60q", text)
	}
	if h := strings.TrimPrefix(text, `root ::= "`); !strings.HasPrefix(h, `def display_yourself(self):\n"`) {
		t.Errorf("header %.40q", h)
	}
	g, err := gbnf.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		"def display_yourself(self):\n    return self.repr()\n",
		"def display_yourself(self):\n    \"\"\"Display a summary of the object's own state.\"\"\"\n    return self.repr()\n",
	} {
		if !g.Match(src) {
			t.Errorf("not admitted:\n%s", src)
		}
	}
	t.Logf("display_yourself: MaxTokens %d, grammar %d bytes", spec.MaxTokens(), len(text))
}

// MaxTokens is the exact bound: it grows with the target, it is met by
// no sample, and it stays moderate for a target with a handful of slots.
func TestMethodGrammarMaxTokens(t *testing.T) {
	empty := methodspec.Spec{Selector: "f"}
	rich := methodspec.Spec{Selector: "f", Params: []string{"arg0"}, Args: []object.Value{object.Int(1)}, Slots: trialSlots,
		Methods: map[string]int{"repr": 0, "oid": 0, "slot_names": 0, "clone": 0}}
	a, b := empty.MaxTokens(), rich.MaxTokens()
	if a <= 0 || b <= a {
		t.Errorf("MaxTokens empty %d, rich %d", a, b)
	}
	if b > 1500 {
		t.Errorf("MaxTokens %d for a handful of slots", b)
	}
	g, err := gbnf.Parse(rich.Grammar())
	if err != nil {
		t.Fatal(err)
	}
	if g.MaxLen() != b {
		t.Errorf("parsed %d, MaxTokens %d", g.MaxLen(), b)
	}
	t.Logf("MaxTokens: no slots %d, five slots and an argument %d", a, b)
}

// Hostile slot, method and parameter names never reach the grammar as
// code: names that are not identifiers, keywords and private names are
// skipped, and the grammar still parses and admits only audited code.
func FuzzMethodSpec(f *testing.F) {
	f.Add("count", "items", "greet", "arg0")
	f.Add("_p_changed", "a b", "x\"y", "def")
	f.Add("if", "_slots", "__class__", "é")
	f.Add("a\nb", "parent*", "self", "None")
	f.Fuzz(func(t *testing.T, s1, s2, m, p string) {
		spec := methodspec.Spec{
			Selector: "act",
			Params:   []string{"arg0"},
			Args:     []object.Value{object.String("v")},
			Slots:    map[string]object.Value{s1: object.Int(1), s2: object.List{object.String("a")}},
			Methods:  map[string]int{m: 0, "repr": 0},
		}
		if guardian.ValidSelector(p) && p != "act" {
			spec.Params = []string{p}
		}
		text := spec.Grammar()
		g, err := gbnf.Parse(text)
		if err != nil {
			t.Fatalf("%v", err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		pol := guardian.DefaultPolicy("act")
		pol.Params = spec.Params
		for range 20 {
			src := g.Sample(r)
			if err := guardian.Check(src, pol); err != nil {
				t.Fatalf("guardian rejects a sample:\n%s\n%v", src, err)
			}
		}
	})
}
