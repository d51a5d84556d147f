package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"sync/atomic"

	"github.com/batos/batos/object"
)

// Environment variables that turn a process into a sandbox worker.
const (
	envWorker = "BATOS_SANDBOX_WORKER" // "1": serve the worker protocol
	envMem    = "BATOS_SANDBOX_MEM"    // the memory budget in bytes
)

// entry records that the running binary calls Worker at start, which is
// what makes it safe to start again as a worker (see startProc).
var entry atomic.Bool

// Worker is the worker entry point, as moby's reexec does it: call it
// first in main (and in TestMain of a test binary whose methods run in
// worker processes). When a Runner started the process as its worker it
// serves the worker protocol and exits, never returning; otherwise it
// returns at once, and records that the binary can be its own worker. A
// Runner whose Options.WorkerCommand is nil refuses to start the running
// executable again unless Worker was called, rather than run its main a
// second time.
func Worker() {
	if os.Getenv(envWorker) == "1" {
		os.Exit(ServeWorker())
	}
	entry.Store(true)
}

// ServeWorker runs the worker protocol on stdin and stdout until stdin
// closes and returns the process exit code. Worker calls it; a program
// named in Options.WorkerCommand may call it from its own main. It first
// limits the process' memory (see the package documentation).
func ServeWorker() int {
	budget, _ := strconv.ParseInt(os.Getenv(envMem), 10, 64)
	if budget <= 0 {
		budget = DefaultMaxAllocBytes
	}
	if err := limitMemory(budget); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox worker:", err)
		return 3
	}
	debug.SetMaxStack(64 << 20)
	w := &workerHost{
		in:    bufio.NewReaderSize(os.Stdin, 64<<10),
		out:   bufio.NewWriterSize(os.Stdout, 64<<10),
		cache: newCompileCache(true), // the parent audits
		max:   int(min(budget, 1<<30)),
	}
	for {
		typ, payload, err := readFrame(w.in, w.max)
		if errors.Is(err, io.EOF) {
			return 0
		}
		if err != nil || typ != msgCall {
			fmt.Fprintln(os.Stderr, "sandbox worker: bad frame:", err, typ)
			return 4
		}
		if err := w.serveCall(payload); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox worker:", err)
			return 5
		}
	}
}

// workerHost is the host of sessions that run in a worker: it asks the
// parent over the pipes.
type workerHost struct {
	in    *bufio.Reader
	out   *bufio.Writer
	cache *compileCache
	max   int
	err   error // first protocol error

	self object.OID        // receiver of the current call
	pre  map[string][]byte // prefetched lookup replies for self
}

// callMsg is a decoded msgCall.
type callMsg struct {
	m         *object.Method
	self      object.OID
	lim       limits
	maxResult int
	args      []object.Value
	kwargs    map[string]object.Value
	pre       map[string][]byte // prefetched lookup replies
}

func decodeCall(payload []byte) (*callMsg, error) {
	d := &dec{b: payload}
	c := &callMsg{m: &object.Method{Selector: d.str(), Source: d.str()}}
	c.self = object.OID(d.u64())
	c.lim = limits{maxSteps: d.u64(), maxPrint: int(d.u64()), maxDepth: int(d.u64())}
	c.maxResult = int(d.u64())
	c.args = d.values()
	c.kwargs = d.kwargs()
	n := d.u64()
	c.pre = make(map[string][]byte)
	for i := uint64(0); i < n && d.err == nil; i++ {
		name := d.str()
		c.pre[name] = d.bytes()
	}
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}

func (w *workerHost) serveCall(payload []byte) error {
	c, err := decodeCall(payload)
	if err != nil {
		return err
	}
	w.self, w.pre = c.self, c.pre
	m, self, lim, maxResult, args, kwargs := c.m, c.self, c.lim, c.maxResult, c.args, c.kwargs
	s := newSession(w, lim, w.cache)
	res, changes, err := s.run(self, m, args, kwargs)
	if w.err != nil {
		return w.err
	}
	e := &enc{}
	e.byte(statusOf(err))
	if err != nil {
		var me *MethodError
		if errors.As(err, &me) {
			e.str(me.Msg)
			e.str(me.Backtrace)
		} else {
			e.str(err.Error())
			e.str("")
		}
	} else {
		e.str("")
		e.str("")
		e.value(res)
		e.u64(uint64(len(changes)))
		for _, c := range changes {
			e.u64(uint64(c.oid))
			e.str(c.name)
			e.value(c.value)
		}
	}
	if e.err != nil || len(e.b) > maxResult {
		msg := limitErr(ErrOutput, fmt.Sprintf("result and changes over %d bytes", maxResult)).Error()
		st := stOutput
		if e.err != nil {
			msg, st = e.err.Error(), stFailed
		}
		e = &enc{}
		e.byte(st)
		e.str(msg)
		e.str("")
	}
	return writeFrame(w.out, msgResult, e.b)
}

// request sends a request frame and reads the parent's reply.
func (w *workerHost) request(typ, want byte, e *enc) (*dec, error) {
	if w.err != nil {
		return nil, w.err
	}
	if e.err != nil {
		return nil, e.err
	}
	if err := writeFrame(w.out, typ, e.b); err != nil {
		w.err = err
		return nil, err
	}
	rt, payload, err := readFrame(w.in, w.max)
	if err == nil && rt != want {
		err = fmt.Errorf("sandbox worker: reply type %d, want %d", rt, want)
	}
	if err != nil {
		w.err = err
		return nil, err
	}
	return &dec{b: payload}, nil
}

func (w *workerHost) lookup(oid object.OID, name string) (object.Value, object.OID, error) {
	var d *dec
	if b, ok := w.pre[name]; ok && oid == w.self {
		delete(w.pre, name) // the session caches what it reads
		d = &dec{b: b}
	} else {
		e := &enc{}
		e.u64(uint64(oid))
		e.str(name)
		var err error
		if d, err = w.request(msgLookup, msgLookupReply, e); err != nil {
			return nil, 0, err
		}
	}
	st := d.byte()
	msg := d.str()
	switch st {
	case stOK:
		holder := object.OID(d.u64())
		v := d.value()
		return v, holder, d.err
	case stNotUnderstood:
		return nil, 0, &object.NotUnderstoodError{OID: oid, Slot: name}
	}
	return nil, 0, errors.New(msg)
}

func (w *workerHost) primitive(self object.OID, name string, via grant, args []object.Value, kwargs map[string]object.Value) (object.Value, error) {
	e := &enc{}
	e.u64(uint64(self))
	e.str(name)
	e.values(args)
	e.kwargs(kwargs)
	e.grant(via)
	d, err := w.request(msgPrim, msgPrimReply, e)
	if err != nil {
		return nil, err
	}
	if st, msg := d.byte(), d.str(); st != stOK {
		return nil, errors.New(msg)
	}
	v := d.value()
	return v, d.err
}

func (w *workerHost) print(msg string) {
	if w.err != nil {
		return
	}
	e := &enc{}
	e.str(msg)
	if err := writeFrame(w.out, msgPrint, e.b); err != nil {
		w.err = err
	}
}
