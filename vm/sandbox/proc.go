package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/batos/batos/object"
)

// proc is one worker process.
type proc struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	w      *bufio.Writer
	r      *bufio.Reader
	stderr *headBuffer
	once   sync.Once
	waited chan struct{}
	werr   error
}

func startProc(opts *Options) (*proc, error) {
	argv := opts.WorkerCommand
	if len(argv) == 0 {
		if !entry.Load() {
			return nil, fmt.Errorf("%w: the running binary cannot be its own worker: call sandbox.Worker() first in main (or TestMain), or set Options.WorkerCommand", ErrWorker)
		}
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrWorker, err)
		}
		argv = []string{exe}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), envWorker+"=1", envMem+"="+strconv.FormatInt(opts.MaxAllocBytes, 10), "GOMAXPROCS=1", "GOTRACEBACK=single",
		"MALLOC_ARENA_MAX=1") // glibc arenas reserve 64 MiB of address space each (cgo binaries)
	setProcAttr(cmd)
	w := &proc{cmd: cmd, stderr: &headBuffer{max: 4096}, waited: make(chan struct{})}
	cmd.Stderr = w.stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWorker, err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWorker, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start: %v", ErrWorker, err)
	}
	w.in, w.w, w.r = in, bufio.NewWriterSize(in, 64<<10), bufio.NewReaderSize(out, 64<<10)
	go func() {
		w.werr = cmd.Wait()
		close(w.waited)
	}()
	return w, nil
}

// alive reports whether the process has not exited (a worker can die
// while idle, for instance at the hands of the kernel's OOM killer).
func (w *proc) alive() bool {
	select {
	case <-w.waited:
		return false
	default:
		return true
	}
}

// kill stops the process at once; it is safe to call more than once and
// from any goroutine.
func (w *proc) kill() {
	w.once.Do(func() { _ = w.cmd.Process.Kill() })
}

// stop kills the process and waits for it to be reaped.
func (w *proc) stop() {
	w.kill()
	<-w.waited
}

// call runs one method call on the worker. healthy reports whether the
// worker can serve another call.
func (w *proc) call(ctx context.Context, p *pool, h *txHost, self object.OID, m *object.Method, prefetch []string, args []object.Value, kwargs map[string]object.Value) (res object.Value, changes []change, healthy bool, err error) {
	o := p.opts
	e := &enc{}
	e.str(m.Selector)
	e.str(m.Source)
	e.u64(uint64(self))
	e.u64(o.MaxSteps)
	e.u64(uint64(o.MaxPrintBytes))
	e.u64(uint64(o.MaxCallDepth))
	e.u64(uint64(o.MaxResultBytes))
	e.values(args)
	e.kwargs(kwargs)
	// The receiver's slots that the source names travel with the call,
	// saving a round trip each; they are read from tx as of the call's
	// start, as the worker would read them.
	e.u64(uint64(len(prefetch)))
	for _, name := range prefetch {
		e.str(name)
		e.raw(lookupReply(p, h, self, name).b)
	}
	if e.err != nil {
		return nil, nil, true, fmt.Errorf("%w: arguments: %v", ErrFailed, e.err)
	}
	stop := context.AfterFunc(ctx, w.kill)
	defer func() {
		if !stop() {
			healthy = false // ctx fired: the worker is being killed
		}
	}()
	answered := false
	fail := func(err error) (object.Value, []change, bool, error) {
		w.kill()
		<-w.waited
		if ctx.Err() != nil {
			return nil, nil, false, limitErr(ErrCanceled, "", context.Cause(ctx))
		}
		err = w.crashError(err)
		if !answered && errors.Is(err, ErrWorker) {
			err = fmt.Errorf("%w (%w)", err, errDeadBeforeAnswer)
		}
		return nil, nil, false, err
	}
	if err := writeFrame(w.w, msgCall, e.b); err != nil {
		return fail(err)
	}
	maxFrame := o.MaxResultBytes + 1<<20
	for {
		typ, payload, err := readFrame(w.r, maxFrame)
		if err != nil {
			return fail(err)
		}
		answered = true
		d := &dec{b: payload}
		switch typ {
		case msgPrint:
			msg := d.str()
			if d.err != nil {
				return fail(d.err)
			}
			h.print(msg)
		case msgLookup:
			oid, name := object.OID(d.u64()), d.str()
			if d.err != nil {
				return fail(d.err)
			}
			if err := w.reply(msgLookupReply, lookupReply(p, h, oid, name)); err != nil {
				return fail(err)
			}
		case msgPrim:
			pr, err := decodePrim(payload)
			if err != nil {
				return fail(err)
			}
			r := &enc{}
			v, perr := h.primitive(pr.recv, pr.name, pr.via, pr.args, pr.kwargs)
			if perr == nil {
				r.byte(stOK)
				r.str("")
				r.value(v)
			}
			if perr != nil || r.err != nil {
				if perr == nil {
					perr = r.err
				}
				r = &enc{}
				r.byte(stFailed)
				r.str(perr.Error())
			}
			if err := w.reply(msgPrimReply, r); err != nil {
				return fail(err)
			}
		case msgResult:
			res, changes, st, callErr, perr := decodeResult(payload, m.Selector)
			if perr != nil {
				return fail(perr)
			}
			return res, changes, st != stInternal, callErr
		default:
			return fail(fmt.Errorf("unexpected frame type %d", typ))
		}
	}
}

// decodeResult decodes a msgResult payload: the call's result and changes,
// or its error (callErr) and status; perr reports a malformed payload.
func decodeResult(payload []byte, selector string) (res object.Value, changes []change, st byte, callErr, perr error) {
	d := &dec{b: payload}
	st, msg, bt := d.byte(), d.str(), d.str()
	if d.err != nil {
		return nil, nil, 0, nil, d.err
	}
	if st != stOK {
		callErr = errorOf(st, msg, selector)
		var me *MethodError
		if errors.As(callErr, &me) {
			me.Backtrace = bt
		}
		return nil, nil, st, callErr, nil
	}
	res = d.value()
	n := d.u64()
	for i := uint64(0); i < n && d.err == nil; i++ {
		changes = append(changes, change{oid: object.OID(d.u64()), name: d.str(), value: d.value()})
	}
	if d.err != nil {
		return nil, nil, 0, nil, d.err
	}
	return res, changes, stOK, nil, nil
}

func (w *proc) reply(typ byte, e *enc) error { return writeFrame(w.w, typ, e.b) }

func lookupReply(p *pool, h *txHost, oid object.OID, name string) *enc {
	r := &enc{}
	v, holder, err := h.lookup(oid, name)
	if m, ok := v.(*object.Method); ok && err == nil {
		err = p.audit(m)
	}
	switch {
	case errors.Is(err, object.ErrNotUnderstood):
		r.byte(stNotUnderstood)
		r.str("")
	case err != nil:
		r.byte(stFailed)
		r.str(err.Error())
	default:
		r.byte(stOK)
		r.str("")
		r.u64(uint64(holder))
		r.value(v)
		if err := r.err; err != nil {
			r = &enc{}
			r.byte(stFailed)
			r.str(err.Error())
		}
	}
	return r
}

// crashError classifies a worker that died during a call by its stderr.
func (w *proc) crashError(cause error) error {
	tail := w.stderr.String()
	switch {
	case strings.Contains(tail, "out of memory") || strings.Contains(tail, "cannot allocate") ||
		strings.Contains(tail, "failed to allocate") || strings.Contains(tail, "address space"):
		return limitErr(ErrMemory, firstLine(tail))
	case strings.Contains(tail, "stack exceeds") || strings.Contains(tail, "stack overflow"):
		return limitErr(ErrDepth, firstLine(tail))
	}
	return fmt.Errorf("%w: %v (%v): %s", ErrWorker, cause, w.werr, firstLine(tail))
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// headBuffer keeps the first max bytes written to it (the start of a Go
// fatal error says why).
type headBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *headBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := t.max - len(t.buf); room > 0 {
		t.buf = append(t.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (t *headBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
