package sandbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"go.starlark.net/syntax"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
)

// pool keeps warm worker processes: at most opts.Workers exist, idle ones
// wait in idle.
type pool struct {
	opts  *Options
	idle  chan *proc
	slots chan struct{} // one token per live worker
	done  chan struct{} // closed by close

	mu     sync.Mutex
	closed bool
	audits map[cacheKey]*methodInfo // by source
}

func newPool(opts *Options) *pool {
	return &pool{
		opts:   opts,
		idle:   make(chan *proc, opts.Workers),
		slots:  make(chan struct{}, opts.Workers),
		done:   make(chan struct{}),
		audits: make(map[cacheKey]*methodInfo),
	}
}

// methodInfo is what the parent keeps per distinct method source.
type methodInfo struct {
	err   error    // the guardian's verdict (wrapped in ErrRejected)
	attrs []string // names read as self.NAME, prefetched with each call
}

// maxPrefetch bounds the slots sent with a call.
const maxPrefetch = 16

// info audits m (once per distinct source) and lists the self attributes
// its source names.
func (p *pool) info(m *object.Method) *methodInfo {
	k := cacheKey{m.Selector, m.Source}
	p.mu.Lock()
	mi, ok := p.audits[k]
	p.mu.Unlock()
	if ok {
		return mi
	}
	mi = &methodInfo{}
	if !p.opts.NoAudit {
		if err := guardian.Check(m.Source, guardian.DefaultPolicy(m.Selector)); err != nil {
			mi.err = fmt.Errorf("%w: %w", ErrRejected, err)
		}
	}
	if mi.err == nil {
		mi.attrs = selfAttrs(m.Source)
	}
	p.mu.Lock()
	if len(p.audits) >= maxCached {
		clear(p.audits)
	}
	p.audits[k] = mi
	p.mu.Unlock()
	return mi
}

// audit returns the guardian's verdict on m.
func (p *pool) audit(m *object.Method) error { return p.info(m).err }

// selfAttrs returns the distinct names NAME of self.NAME in source, in
// order of appearance, at most maxPrefetch; nil if it does not parse.
func selfAttrs(source string) []string {
	f, err := guardian.FileOptions().Parse("m.star", source, 0)
	if err != nil {
		return nil
	}
	var out []string
	syntax.Walk(f, func(n syntax.Node) bool {
		d, ok := n.(*syntax.DotExpr)
		if !ok || len(out) >= maxPrefetch {
			return len(out) < maxPrefetch
		}
		if id, ok := d.X.(*syntax.Ident); ok && id.Name == "self" && !forbiddenName(d.Name.Name) && !slices.Contains(out, d.Name.Name) {
			out = append(out, d.Name.Name)
		}
		return true
	})
	return out
}

func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	for {
		select {
		case w := <-p.idle:
			w.stop()
		default:
			return
		}
	}
}

func (p *pool) acquire(ctx context.Context) (*proc, error) {
	for {
		select {
		case <-p.done:
			return nil, ErrClosed
		default:
		}
		select {
		case w := <-p.idle:
			if w.alive() {
				return w, nil
			}
			p.release(w, false)
			continue
		default:
		}
		select {
		case w := <-p.idle:
			if w.alive() {
				return w, nil
			}
			p.release(w, false)
			continue
		case p.slots <- struct{}{}:
			w, err := startProc(p.opts)
			if err != nil {
				<-p.slots
				return nil, err
			}
			return w, nil
		case <-p.done:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, limitErr(ErrCanceled, "waiting for a worker", context.Cause(ctx))
		}
	}
}

func (p *pool) release(w *proc, healthy bool) {
	p.mu.Lock()
	if healthy && !p.closed {
		// Under p.mu, so close (which sets closed under it, then drains)
		// cannot miss this worker. It cannot block: one idle place per slot.
		p.idle <- w
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	w.stop()
	<-p.slots
}

func (p *pool) call(ctx context.Context, h *txHost, self object.OID, m *object.Method, args []object.Value, kwargs map[string]object.Value) (object.Value, []change, error) {
	mi := p.info(m)
	if mi.err != nil {
		return nil, nil, mi.err
	}
	for attempt := 0; ; attempt++ {
		w, err := p.acquire(ctx)
		if err != nil {
			return nil, nil, err
		}
		res, changes, err := p.callOn(ctx, w, h, self, m, mi.attrs, args, kwargs)
		// A worker that died before answering anything (it was already
		// dead when taken from the pool) had no effects: every read and
		// primitive goes through a frame. Try once more on a fresh one.
		if attempt == 0 && errors.Is(err, errDeadBeforeAnswer) {
			continue
		}
		return res, changes, err
	}
}

// callOn runs the call on w and releases w, also when a primitive panics.
func (p *pool) callOn(ctx context.Context, w *proc, h *txHost, self object.OID, m *object.Method, prefetch []string, args []object.Value, kwargs map[string]object.Value) (res object.Value, changes []change, err error) {
	healthy := false
	defer func() { p.release(w, healthy) }()
	res, changes, healthy, err = w.call(ctx, p, h, self, m, prefetch, args, kwargs)
	return res, changes, err
}

// errDeadBeforeAnswer marks a worker failure before any frame came back.
var errDeadBeforeAnswer = errors.New("worker died before answering")
