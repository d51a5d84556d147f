// Package vmtest provides test helpers for the vm package and its users: a
// scripted, deterministic fake Model (optionally an AdapterLoader), and a
// helper that opens a VM on a fresh store.
package vmtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
	"github.com/batos/batos/vm"
)

// DefaultPlan is the plan the fake model returns to BRICK.
const DefaultPlan = `{"facets":[{"persona":"BABS","query":"Which slots does the object hold?"},{"persona":"ROBIN","query":"How should the object present itself?"}]}`

// Model is a scripted, deterministic fake vm.Model. Its zero value answers
// every request: a plan (DefaultPlan) when asked with a JSON schema, the
// blueprint's display_yourself-style method (return self.repr()) when
// asked with a method grammar, and a fixed sentence otherwise. Fields
// override that behaviour. It is safe for concurrent use.
type Model struct {
	// Script, when not nil, answers instead of the defaults; returning
	// ("", nil) falls back to them.
	Script func(g vm.Generation) (string, error)
	// Replies maps a persona name to a fixed reply, checked before Script.
	Replies map[string]string
	// Errors maps a persona name to the error its requests fail with.
	Errors map[string]error
	// Block, when not empty, names a persona whose requests block until
	// their context is done (to test timeouts, shutdown and crashes).
	// Blocked is closed (when not nil) as the first such request blocks.
	Block   string
	Blocked chan struct{}
	// Context, when above 0, makes the model a vm.TokenCounter with this
	// context size and the deterministic tokenizer of CountTokens; its
	// requests then fail, as llama.cpp's do, when the prompt and the
	// output bound do not fit.
	Context int

	mu       sync.Mutex
	calls    []vm.Generation
	blockOne sync.Once
}

var (
	_ vm.Model        = (*Model)(nil)
	_ vm.TokenCounter = (*Model)(nil)
)

// ContextSize returns m.Context (0: unknown, the VM budgets by bytes).
func (m *Model) ContextSize() int { return m.Context }

// CountTokens is the fake model's tokenizer: every run of up to four
// bytes of a white-space separated word is a token, and so is every line
// break. It is deterministic and close to real BPE counts for English.
func (m *Model) CountTokens(text string) int {
	n := strings.Count(text, "\n")
	for _, w := range strings.Fields(text) {
		n += (len(w) + 3) / 4
	}
	return n
}

// PromptTokens counts g's system prompt and messages with CountTokens plus
// four tokens of chat format per message and one to begin the text.
func (m *Model) PromptTokens(g vm.Generation) (int, error) {
	n := 1 + 4 + m.CountTokens(g.System)
	for _, msg := range g.Messages {
		n += 4 + m.CountTokens(msg.Content)
	}
	return n, nil
}

// Generate answers g.
func (m *Model) Generate(ctx context.Context, g vm.Generation) (string, error) {
	m.mu.Lock()
	m.calls = append(m.calls, g)
	m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if m.Block != "" && g.Persona == m.Block {
		if m.Blocked != nil {
			m.blockOne.Do(func() { close(m.Blocked) })
		}
		<-ctx.Done()
		return "", ctx.Err()
	}
	if err, ok := m.Errors[g.Persona]; ok {
		return "", err
	}
	if m.Context > 0 {
		n, _ := m.PromptTokens(g)
		if n+g.MaxTokens > m.Context {
			return "", fmt.Errorf("vmtest: prompt of %d tokens and output bound %d exceed the context of %d", n, g.MaxTokens, m.Context)
		}
	}
	if r, ok := m.Replies[g.Persona]; ok {
		return r, nil
	}
	if m.Script != nil {
		out, err := m.Script(g)
		if err != nil || out != "" {
			return out, err
		}
	}
	switch {
	case g.JSONSchema != "":
		return DefaultPlan, nil
	case strings.HasPrefix(g.Grammar, `root ::= "def `):
		return DisplayMethod(MethodHeader(g.Grammar)), nil
	default:
		return fmt.Sprintf("%s considers the request and answers plainly.", g.Persona), nil
	}
}

// Calls returns the requests received so far, in order.
func (m *Model) Calls() []vm.Generation {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]vm.Generation(nil), m.calls...)
}

// Personas returns the persona of each request so far, in order.
func (m *Model) Personas() []string {
	var out []string
	for _, g := range m.Calls() {
		out = append(out, g.Persona)
	}
	return out
}

// MethodHeader extracts the "def name(self, ...):" line from a grammar
// made by methodspec.Spec.Grammar (it begins with the def line).
func MethodHeader(grammar string) string {
	s := strings.TrimPrefix(grammar, `root ::= "`)
	if i := strings.Index(s, `\n"`); i >= 0 {
		s = s[:i]
	}
	return s
}

// DisplayMethod returns the method the fake model writes: a docstring and
// return self.repr(), under header.
func DisplayMethod(header string) string {
	return header + "\n    \"\"\"Display a summary of the object's own state.\"\"\"\n    return self.repr()\n"
}

// Loader is a fake Model that is also a vm.AdapterLoader: it records
// LoadAdapter and UnloadAdapter calls as "load NAME" and "unload NAME"
// and checks that a request's adapter is resident.
type Loader struct {
	Model
	lmu      sync.Mutex
	resident map[string]string
	events   []string
}

var _ vm.AdapterLoader = (*Loader)(nil)

// LoadAdapter records the load.
func (l *Loader) LoadAdapter(ctx context.Context, name, path string) error {
	l.lmu.Lock()
	defer l.lmu.Unlock()
	if l.resident == nil {
		l.resident = map[string]string{}
	}
	l.resident[name] = path
	l.events = append(l.events, "load "+name)
	return nil
}

// UnloadAdapter records the unload.
func (l *Loader) UnloadAdapter(ctx context.Context, name string) error {
	l.lmu.Lock()
	defer l.lmu.Unlock()
	if _, ok := l.resident[name]; !ok {
		return fmt.Errorf("vmtest: adapter %s is not resident", name)
	}
	delete(l.resident, name)
	l.events = append(l.events, "unload "+name)
	return nil
}

// Generate fails when the request's adapter is not resident.
func (l *Loader) Generate(ctx context.Context, g vm.Generation) (string, error) {
	if g.Adapter != "" {
		l.lmu.Lock()
		_, ok := l.resident[g.Adapter]
		l.lmu.Unlock()
		if !ok {
			return "", fmt.Errorf("vmtest: adapter %s used while not resident", g.Adapter)
		}
	}
	return l.Model.Generate(ctx, g)
}

// Events returns the load and unload events so far.
func (l *Loader) Events() []string {
	l.lmu.Lock()
	defer l.lmu.Unlock()
	return append([]string(nil), l.events...)
}

// Open opens a store in a fresh temporary directory (without fsync) and a
// VM on it, started; both are closed when the test ends.
func Open(t testing.TB, opts vm.Options) (*vm.VM, *object.Store) {
	t.Helper()
	store := objecttest.OpenDir(t, object.Options{Retries: 8})
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
	}
	v, err := vm.Open(context.Background(), store, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close(context.Background()) }) // before the store's own cleanup
	return v, store
}

// HugeSlots returns n numbered slots named prefix_NNNN and, when essay is
// above 0, an "essay" string slot of about that many bytes.
func HugeSlots(prefix string, n, essay int) map[string]object.Value {
	out := make(map[string]object.Value, n+1)
	for i := range n {
		out[fmt.Sprintf("%s_%04d", prefix, i)] = object.String(fmt.Sprintf("value number %d", i))
	}
	if essay > 0 {
		out["essay"] = object.String(strings.Repeat("All work and no play. ", essay/22))
	}
	return out
}
