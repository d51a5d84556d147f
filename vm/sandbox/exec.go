package sandbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	starlarkjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
)

// host is what a session needs from the side that holds the transaction:
// the calling process itself, or, for a worker process, the parent at the
// other end of its pipes.
type host interface {
	lookup(oid object.OID, name string) (object.Value, object.OID, error)
	primitive(self object.OID, name string, via grant, args []object.Value, kwargs map[string]object.Value) (object.Value, error)
	print(msg string)
}

// limits are the per-call bounds a session enforces itself.
type limits struct {
	maxSteps uint64
	// timeout, when > 0, is checked every clockSteps steps (in process:
	// a deadline without a timer per call).
	timeout  time.Duration
	maxPrint int
	maxDepth int
}

// clockSteps is how often, in steps, a session with a timeout reads the
// clock.
const clockSteps = 4096

// change is one slot write to apply when a call succeeds.
type change struct {
	oid   object.OID
	name  string
	value object.Value
}

// slot is the call's view of one slot of a writable receiver.
type slot struct {
	name      string
	orig      object.Value // value when first read
	origKnown bool         // orig was read (else the slot was only written)
	cur       starlark.Value
	assigned  bool         // the method assigned it
	flagged   bool         // self._p_changed = True ran after it changed
	atFlag    object.Value // its value at the last flag
}

// objState is the call's view of one object.
type objState struct {
	oid       object.OID
	slots     []*slot                   // few: searched linearly
	ro        map[string]starlark.Value // reads through references (frozen)
	behaviour map[string]starlark.Value // bound methods and primitives
}

// session is one call: one Starlark thread, its change set and limits. A
// session is used by one goroutine.
type session struct {
	h      host
	lim    limits
	cache  *compileCache
	thread *starlark.Thread
	self   objState    // the receiver of the outermost method
	others []*objState // other receivers, in first-touch order
	depth  int
	print  int
	stop   atomic.Pointer[error] // why the session cancelled its thread
	th     starlark.Thread
}

func newSession(h host, lim limits, cache *compileCache) *session {
	s := &session{h: h, lim: lim, cache: cache}
	th := &s.th
	var start time.Time
	if lim.timeout > 0 {
		start = time.Now()
		th.SetMaxExecutionSteps(min(clockSteps, lim.maxSteps))
	} else {
		th.SetMaxExecutionSteps(lim.maxSteps)
	}
	th.OnMaxSteps = func(th *starlark.Thread) {
		if th.Steps >= lim.maxSteps {
			s.stopWith(limitErr(ErrSteps, fmt.Sprintf("more than %d steps", lim.maxSteps)))
			return
		}
		if time.Since(start) > lim.timeout {
			s.stopWith(limitErr(ErrCanceled, "timeout "+lim.timeout.String(), context.DeadlineExceeded))
			return
		}
		th.SetMaxExecutionSteps(min(th.Steps+clockSteps, lim.maxSteps))
	}
	th.Print = func(_ *starlark.Thread, msg string) {
		s.print += len(msg) + 1
		if s.print > lim.maxPrint {
			s.stopWith(limitErr(ErrOutput, fmt.Sprintf("print output over %d bytes", lim.maxPrint)))
			return
		}
		s.h.print(msg)
	}
	s.thread = th
	return s
}

// stopWith records why the session stops and cancels its thread. The
// first reason wins. Safe to call from any goroutine.
func (s *session) stopWith(err error) {
	s.stop.CompareAndSwap(nil, &err)
	s.thread.Cancel(err.Error())
}

func (s *session) state(oid object.OID) *objState {
	if s.self.oid == oid {
		return &s.self
	}
	if s.self.oid == 0 {
		s.self.oid = oid
		return &s.self
	}
	for _, st := range s.others {
		if st.oid == oid {
			return st
		}
	}
	st := &objState{oid: oid}
	s.others = append(s.others, st)
	return st
}

// get returns the slot name, or nil.
func (st *objState) get(name string) *slot {
	for _, sl := range st.slots {
		if sl.name == name {
			return sl
		}
	}
	return nil
}

func changed(sl *slot, now object.Value) bool {
	return sl.assigned || !sl.origKnown || !object.Equal(now, sl.orig)
}

// flag implements self._p_changed = True on oid: every slot of oid that
// differs from what was read (or was assigned) is flagged at its current
// value.
func (s *session) flag(oid object.OID) error {
	st := s.state(oid)
	for _, sl := range st.slots {
		now, err := toValue(sl.cur)
		if err != nil {
			return err
		}
		if sl.flagged || changed(sl, now) {
			sl.flagged = true
			sl.atFlag = now
		}
	}
	return nil
}

// finish checks the covenant and returns the changes to apply: every slot
// whose value now is its value at the last flag. A slot that changed and
// was never flagged, or changed after its last flag, fails the call.
func (s *session) finish() ([]change, error) {
	var out []change
	var bad []string
	for i := -1; i < len(s.others); i++ {
		st := &s.self
		if i >= 0 {
			st = s.others[i]
		}
		oid := st.oid
		if len(st.slots) > 1 {
			slices.SortFunc(st.slots, func(a, b *slot) int { return strings.Compare(a.name, b.name) })
		}
		for _, sl := range st.slots {
			name := sl.name
			now, err := toValue(sl.cur)
			if err != nil {
				return nil, fmt.Errorf("%w: slot %s: %v", ErrFailed, name, err)
			}
			switch {
			case sl.flagged && object.Equal(now, sl.atFlag):
				if changed(sl, now) {
					out = append(out, change{oid: oid, name: name, value: now})
				}
			case sl.flagged || changed(sl, now):
				bad = append(bad, fmt.Sprintf("%d.%s", uint64(oid), name))
			}
		}
	}
	if len(bad) > 0 {
		return nil, limitErr(ErrCovenant, "unflagged change to "+strings.Join(bad, ", "))
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// run calls method m with receiver self and returns its result and the
// changes to apply.
func (s *session) run(self object.OID, m *object.Method, args []object.Value, kwargs map[string]object.Value) (object.Value, []change, error) {
	fn, err := s.cache.function(m)
	if err != nil {
		return nil, nil, err
	}
	sargs := make(starlark.Tuple, 0, len(args)+1)
	sargs = append(sargs, &objValue{oid: self, s: s, writable: true})
	for _, a := range args {
		sargs = append(sargs, s.argToStarlark(a))
	}
	var skw []starlark.Tuple
	for _, k := range sortedKeys(kwargs) {
		skw = append(skw, starlark.Tuple{starlark.String(k), s.argToStarlark(kwargs[k])})
	}
	s.depth = 1
	res, err := starlark.Call(s.thread, fn, sargs, skw)
	if p := s.stop.Load(); p != nil {
		return nil, nil, *p
	}
	if err != nil {
		me := &MethodError{Selector: m.Selector, Msg: err.Error()}
		var ee *starlark.EvalError
		if errors.As(err, &ee) {
			me.Msg = ee.Msg
			me.Backtrace = ee.Backtrace()
		}
		return nil, nil, me
	}
	v, err := toValue(res)
	if err != nil {
		return nil, nil, &MethodError{Selector: m.Selector, Msg: "result: " + err.Error()}
	}
	changes, err := s.finish()
	if err != nil {
		return nil, nil, err
	}
	return v, changes, nil
}

// argToStarlark converts an argument of the call: a reference passed
// directly grants the use of the capability it refers to.
func (s *session) argToStarlark(v object.Value) starlark.Value {
	sv := s.toStarlark(v)
	if ov, ok := sv.(*objValue); ok {
		ov.via = grant{arg: true}
	}
	return sv
}

// compileCache holds compiled, frozen method functions by source. It is
// safe for concurrent use; frozen functions are shared by all threads.
type compileCache struct {
	noAudit bool
	mu      sync.Mutex
	fns     map[cacheKey]*starlark.Function
}

type cacheKey struct{ selector, source string }

const maxCached = 4096

func newCompileCache(noAudit bool) *compileCache {
	return &compileCache{noAudit: noAudit, fns: make(map[cacheKey]*starlark.Function)}
}

// function compiles m (auditing it first unless disabled) or returns the
// cached function.
func (c *compileCache) function(m *object.Method) (*starlark.Function, error) {
	k := cacheKey{m.Selector, m.Source}
	c.mu.Lock()
	fn, ok := c.fns[k]
	c.mu.Unlock()
	if ok {
		return fn, nil
	}
	fn, err := compile(m, c.noAudit)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.fns) >= maxCached {
		clear(c.fns)
	}
	c.fns[k] = fn
	c.mu.Unlock()
	return fn, nil
}

// predeclared are the modules a method may use besides the universal
// builtins: json (encode, decode, indent), pure functions of their
// arguments.
var predeclared = starlark.StringDict{"json": starlarkjson.Module}

func compile(m *object.Method, noAudit bool) (*starlark.Function, error) {
	if !noAudit {
		if err := guardian.Check(m.Source, guardian.DefaultPolicy(m.Selector)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRejected, err)
		}
	}
	_, prog, err := starlark.SourceProgramOptions(guardian.FileOptions(), m.Selector+".star", m.Source, func(name string) bool { return predeclared[name] != nil })
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	th := &starlark.Thread{Name: "compile"}
	th.SetMaxExecutionSteps(10_000)
	globals, err := prog.Init(th, predeclared)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	globals.Freeze()
	fn, ok := globals[m.Selector].(*starlark.Function)
	if !ok {
		return nil, fmt.Errorf("%w: source does not define %s", ErrRejected, m.Selector)
	}
	return fn, nil
}
