package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/batos/batos/object"
)

// Runner runs methods. It is safe for concurrent use; each Call gets its
// own Starlark thread (and, when memory is bounded, its own worker
// process for the duration of the call).
type Runner struct {
	opts  Options
	cache *compileCache // in-process calls
	pool  *pool         // nil when calls run in process

	closed atomic.Bool
}

// New returns a Runner with the given options. Worker processes start on
// demand, at the first calls; Close stops them.
func New(opts Options) *Runner {
	opts.ensureDefaults()
	r := &Runner{opts: opts, cache: newCompileCache(opts.NoAudit)}
	if opts.MaxAllocBytes > 0 {
		r.pool = newPool(&r.opts)
	}
	return r
}

// Close stops the idle worker processes and makes later calls fail with
// ErrClosed. Calls in progress finish first.
func (r *Runner) Close() error {
	r.closed.Store(true)
	if r.pool != nil {
		r.pool.close()
	}
	return nil
}

// Call runs method m with receiver self inside tx: args and kwargs are its
// arguments after self. When the method succeeds, the changes it flagged
// with self._p_changed = True are written to tx with tx.Put and its result
// is returned. When it fails, for any reason, nothing is written: a
// method that changed state without flagging it fails with ErrCovenant.
// See the package documentation for the limits and errors.
func (r *Runner) Call(ctx context.Context, tx *object.Tx, self object.OID, m *object.Method, args []object.Value, kwargs map[string]object.Value) (object.Value, error) {
	if m == nil || self == 0 {
		return nil, fmt.Errorf("%w: nil method or OID 0", ErrFailed)
	}
	if err := ctx.Err(); err != nil {
		return nil, limitErr(ErrCanceled, "", err)
	}
	if r.closed.Load() {
		return nil, ErrClosed
	}
	h := &txHost{ctx: ctx, tx: tx, opts: &r.opts, startBytes: tx.PendingBytes(), self: self, args: args, kwargs: kwargs}
	var (
		res     object.Value
		changes []change
		err     error
	)
	if r.pool != nil {
		ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
		res, changes, err = r.pool.call(ctx, h, self, m, args, kwargs)
		cancel()
	} else {
		res, changes, err = r.callInProcess(ctx, h, self, m, args, kwargs)
	}
	if err != nil {
		return nil, h.wrapPrimErr(err)
	}
	if err := checkGrants(tx, changes); err != nil {
		return nil, err
	}
	if err := apply(tx, changes); err != nil {
		return nil, err
	}
	return res, nil
}

func (r *Runner) callInProcess(ctx context.Context, h *txHost, self object.OID, m *object.Method, args []object.Value, kwargs map[string]object.Value) (object.Value, []change, error) {
	lim := r.limits()
	lim.timeout = r.opts.Timeout // checked between steps
	s := newSession(h, lim, r.cache)
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			s.stopWith(limitErr(ErrCanceled, "", context.Cause(ctx)))
		})
		defer stop()
	}
	return s.run(self, m, args, kwargs)
}

func (r *Runner) limits() limits {
	return limits{maxSteps: r.opts.MaxSteps, maxPrint: r.opts.MaxPrintBytes, maxDepth: r.opts.MaxCallDepth}
}

// apply writes the changes, one Get/Put per object.
func apply(tx *object.Tx, changes []change) error {
	var o *object.Object
	flush := func() error {
		if o == nil {
			return nil
		}
		err := tx.Put(o)
		o = nil
		return err
	}
	for _, c := range changes {
		if o == nil || o.OID != c.oid {
			if err := flush(); err != nil {
				return err
			}
			var err error
			if o, err = tx.Get(c.oid); err != nil {
				return err
			}
		}
		o.Set(c.name, c.value)
	}
	return flush()
}

// txHost answers a session's questions from the transaction, in the
// calling goroutine.
type txHost struct {
	ctx  context.Context
	tx   *object.Tx
	opts *Options

	startBytes int // the transaction's pending writes when the call began

	self   object.OID // the receiver of the call
	args   []object.Value
	kwargs map[string]object.Value

	mu      sync.Mutex
	prims   int                // primitive calls so far
	caps    map[object.OID]int // capability calls so far, by capability
	primErr error              // the last error a primitive returned
}

func (h *txHost) lookup(oid object.OID, name string) (object.Value, object.OID, error) {
	return h.tx.Lookup(oid, name)
}

func (h *txHost) primitive(self object.OID, name string, via grant, args []object.Value, kwargs map[string]object.Value) (object.Value, error) {
	if name == CapabilityPrimitive {
		return h.capability(self, via, args, kwargs)
	}
	if h.opts.Primitive == nil {
		return nil, fmt.Errorf("primitive %s: no primitives in this sandbox", name)
	}
	h.mu.Lock()
	h.prims++
	n := h.prims
	h.mu.Unlock()
	var v object.Value
	var err error
	if n > h.opts.MaxPrimitives {
		err = limitErr(ErrSteps, fmt.Sprintf("more than %d primitive calls", h.opts.MaxPrimitives))
	} else {
		v, err = h.opts.Primitive(h.ctx, h.tx, self, name, args, kwargs)
		// What primitives write stays in this process until commit: it
		// counts against the call's memory bound.
		if grown := int64(h.tx.PendingBytes() - h.startBytes); err == nil && h.opts.MaxAllocBytes > 0 && grown > h.opts.MaxAllocBytes {
			v, err = nil, limitErr(ErrMemory, fmt.Sprintf("primitives wrote %d bytes", grown))
		}
	}
	if err != nil {
		h.mu.Lock()
		h.primErr = err
		h.mu.Unlock()
	}
	return v, err
}

func (h *txHost) print(msg string) {
	if h.opts.Print != nil {
		h.opts.Print(msg)
	}
}

// wrapPrimErr attaches the primitive's error to a method failure it caused.
func (h *txHost) wrapPrimErr(err error) error {
	var me *MethodError
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.primErr != nil && errors.As(err, &me) && me.Err == nil {
		me.Err = h.primErr
	}
	return err
}
