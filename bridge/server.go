package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/batos/batos/bridge/wire"
	zmq "github.com/pebbe/zmq4"
)

// maxSpins bounds the non-blocking polls the owner makes while requests
// are in flight before it blocks again.
const maxSpins = 64

// DefaultEndpoint is the blueprint's endpoint: loopback only.
const DefaultEndpoint = "tcp://127.0.0.1:5555"

// Options configure a Server. The zero value serves DefaultEndpoint with
// the defaults below and no authentication.
type Options struct {
	// Endpoint to bind; default DefaultEndpoint. "tcp://127.0.0.1:*"
	// binds an ephemeral port (see Server.Endpoint). Binding a
	// non-loopback address without Curve exposes the system unauthenticated.
	Endpoint string
	// Workers is the number of goroutines running the handler; default 4.
	Workers int
	// MaxWaits bounds the wait_cycle requests (wire.CmdWaitCycle) held at
	// once. A wait can last minutes, so it is not run on one of the
	// Workers: each runs on a goroutine of its own, and a held wait never
	// keeps another request waiting. A wait beyond the bound is answered
	// with code busy. Default 64.
	MaxWaits int
	// QueueSize bounds the requests waiting for a worker; a request that
	// finds the queue full is answered with code busy. Default 64.
	QueueSize int
	// MaxMessageSize bounds a request payload: larger ones are answered
	// with code too_large. Frames over twice this size make libzmq drop the
	// connection (ZMQ_MAXMSGSIZE) before they are buffered. Default 1 MiB.
	// libzmq buffers at most 1000 messages per peer (the high-water mark)
	// before the owner goroutine reads them.
	MaxMessageSize int
	// HandlerTimeout, when positive, is the deadline of each handler's
	// context; a handler that returns nil after it passed is answered with
	// code timeout. Default none.
	HandlerTimeout time.Duration
	// Strict rejects requests with keys no command defines
	// (wire.DecodeRequestStrict) instead of skipping them.
	Strict bool
	// Curve, when non-nil, turns on CurveZMQ encryption and admits only
	// the listed client keys.
	Curve *CurveOptions
	// Logger receives warnings (refused clients, unroutable replies);
	// default discards.
	Logger *slog.Logger
}

// CurveOptions configure CurveZMQ on the server.
type CurveOptions struct {
	// SecretKey is the server's Z85 secret key; clients need its public key.
	SecretKey string
	// ClientKeys are the Z85 public keys of admitted clients. A client
	// whose key is not listed gets nothing: its handshake fails.
	ClientKeys []string
}

func (o *Options) withDefaults() Options {
	d := *o
	if d.Endpoint == "" {
		d.Endpoint = DefaultEndpoint
	}
	if d.Workers <= 0 {
		d.Workers = 4
	}
	if d.QueueSize <= 0 {
		d.QueueSize = 64
	}
	if d.MaxWaits <= 0 {
		d.MaxWaits = 64
	}
	if d.MaxMessageSize <= 0 {
		d.MaxMessageSize = 1 << 20
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return d
}

// job is one request waiting for a worker.
type job struct {
	env     [][]byte
	payload []byte
}

// Server is a ZeroMQ ROUTER server speaking wire messages.
//
// Concurrency: one goroutine (the one running Serve) owns the ROUTER
// socket, the wake-up socket and the ZAP socket; workers receive jobs over
// a channel and hand replies back over another, waking the owner through
// their own inproc PUSH sockets when it is blocked in poll, and the owner
// routes the replies by identity. A worker hands a wait_cycle request to
// a goroutine of its own (at most Options.MaxWaits at once), which hands
// its reply back the same way and wakes the owner through the waker
// goroutine's PUSH socket. Endpoint and Close are safe to call from any
// goroutine.
type Server struct {
	opts     Options
	h        Handler
	zctx     *zmq.Context
	router   *zmq.Socket
	wake     *zmq.Socket // PULL, bound to wakeEP: workers wake a sleeping owner
	zap      *zmq.Socket // REP for ZAP, nil without Curve
	zapH     *zapHandler
	wakeEP   string
	endpoint string

	jobs     chan job
	inflight atomic.Int64   // jobs queued or running on a worker
	waitSem  chan struct{}  // one token per wait_cycle held
	waits    sync.WaitGroup // the goroutines of held waits
	kick     chan struct{}  // wakes the waker: a wait's reply is ready
	replies  chan [][]byte  // finished replies: envelope frames + payload
	pending  atomic.Int64   // replies sent on replies and not yet routed
	sleeping atomic.Bool    // the owner is (about to be) blocked in poll
	served   atomic.Bool
	done     chan struct{} // closed by Close
	stopped  chan struct{} // closed when Serve returns
	closeMu  sync.Mutex
	closed   bool
	closeErr error
}

var serverSeq atomic.Uint64

// NewServer binds a ROUTER socket to opts.Endpoint and returns a server
// that answers with h once Serve runs.
func NewServer(h Handler, opts Options) (*Server, error) {
	o := opts.withDefaults()
	s := &Server{opts: o, h: h, jobs: make(chan job, o.QueueSize),
		replies: make(chan [][]byte, o.QueueSize+o.Workers+o.MaxWaits),
		waitSem: make(chan struct{}, o.MaxWaits), kick: make(chan struct{}, 1),
		done: make(chan struct{}), stopped: make(chan struct{})}
	var err error
	if s.zctx, err = zmq.NewContext(); err != nil {
		return nil, fmt.Errorf("bridge: new context: %w", err)
	}
	if err := s.open(); err != nil {
		s.closeSockets()
		return nil, err
	}
	return s, nil
}

// open creates and binds the sockets.
func (s *Server) open() (err error) {
	o := s.opts
	if o.Curve != nil {
		if !zmq.HasCurve() {
			return ErrNoCurve
		}
		if err := checkKey(o.Curve.SecretKey); err != nil {
			return err
		}
		s.zapH = &zapHandler{allowed: make(map[string]bool), log: o.Logger}
		for _, k := range o.Curve.ClientKeys {
			if err := checkKey(k); err != nil {
				return err
			}
			s.zapH.allowed[zmq.Z85decode(k)] = true
		}
		if s.zap, err = s.zctx.NewSocket(zmq.REP); err != nil {
			return err
		}
		s.zap.SetLinger(0)
		if err = s.zap.Bind(zapEndpoint); err != nil {
			return fmt.Errorf("bridge: bind ZAP handler: %w", err)
		}
	}
	if s.router, err = s.zctx.NewSocket(zmq.ROUTER); err != nil {
		return err
	}
	for _, set := range []error{
		s.router.SetLinger(0),
		s.router.SetRouterMandatory(1),
		s.router.SetMaxmsgsize(int64(2 * o.MaxMessageSize)),
		s.router.SetRcvhwm(1000),
		s.router.SetSndhwm(1000),
	} {
		if set != nil {
			return fmt.Errorf("bridge: socket option: %w", set)
		}
	}
	if o.Curve != nil {
		if err = s.router.SetZapDomain("bridge"); err != nil {
			return err
		}
		if err = s.router.ServerAuthCurve("bridge", o.Curve.SecretKey); err != nil {
			return fmt.Errorf("bridge: curve server: %w", err)
		}
	}
	if err = s.router.Bind(o.Endpoint); err != nil {
		return fmt.Errorf("bridge: bind %s: %w", o.Endpoint, err)
	}
	if s.endpoint, err = s.router.GetLastEndpoint(); err != nil {
		return err
	}
	if s.wake, err = s.zctx.NewSocket(zmq.PULL); err != nil {
		return err
	}
	s.wake.SetLinger(0)
	s.wakeEP = "inproc://bridge-wake-" + strconv.FormatUint(serverSeq.Add(1), 10)
	if err = s.wake.Bind(s.wakeEP); err != nil {
		return err
	}
	return nil
}

// Endpoint returns the bound endpoint, with the port resolved, e.g.
// "tcp://127.0.0.1:5555".
func (s *Server) Endpoint() string { return s.endpoint }

// Serve answers requests until ctx is done or Close is called; then it
// stops reading, lets the workers finish (their contexts are cancelled),
// routes their last replies and returns nil. It returns ErrServing if
// called twice and ErrClosed after Close.
func (s *Server) Serve(ctx context.Context) error {
	if !s.served.CompareAndSwap(false, true) {
		return ErrServing
	}
	defer close(s.stopped)
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	workersDone := make(chan struct{})
	for range s.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(hctx)
		}()
	}
	wakerDone := make(chan struct{})
	go func() {
		defer close(wakerDone)
		s.waker()
	}()
	go func() {
		wg.Wait()
		s.waits.Wait() // workers start waits: none starts after wg.Wait
		close(s.kick)
		<-wakerDone
		close(workersDone)
	}()

	poller := zmq.NewPoller()
	poller.Add(s.router, zmq.POLLIN)
	poller.Add(s.wake, zmq.POLLIN)
	if s.zap != nil {
		poller.Add(s.zap, zmq.POLLIN)
	}
	var err error
	stopping := false
	spins := 0
	for {
		if !stopping {
			select {
			case <-ctx.Done():
				stopping = true
			case <-s.done:
				stopping = true
			default:
			}
			if stopping {
				cancel()
				close(s.jobs)
			}
		}
		if stopping {
			select {
			case <-workersDone:
				s.forwardReplies()
				return err
			default:
			}
		}
		// While requests are in flight, poll without blocking and yield so
		// that a worker can run on this P: a goroutine blocked in a cgo
		// call keeps its P until sysmon retakes it, which on a small
		// machine can add milliseconds to every round trip.
		timeout := 50 * time.Millisecond
		if s.inflight.Load() > 0 && spins < maxSpins {
			timeout = 0
		}
		if timeout > 0 {
			// Workers send a wake-up only while this is set; a reply
			// queued before it was set is seen through pending.
			s.sleeping.Store(true)
			if s.pending.Load() > 0 {
				timeout = 0
			}
		}
		polled, perr := poller.PollAll(timeout)
		s.sleeping.Store(false)
		if perr != nil {
			if zmq.AsErrno(perr) == zmq.Errno(syscall.EINTR) {
				continue
			}
			// Keep draining workers so that Close can finish.
			err = fmt.Errorf("bridge: poll: %w", perr)
			if !stopping {
				stopping = true
				cancel()
				close(s.jobs)
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if polled[1].Events&zmq.POLLIN != 0 {
			for { // drain wake-ups
				if _, err := s.wake.RecvBytes(zmq.DONTWAIT); err != nil {
					break
				}
			}
		}
		active := s.forwardReplies()
		if !stopping && polled[0].Events&zmq.POLLIN != 0 {
			s.readRequests()
			active = true
		}
		if s.zap != nil && polled[2].Events&zmq.POLLIN != 0 {
			s.zapH.handle(s.zap)
			active = true
		}
		if active {
			spins = 0
		} else if timeout == 0 {
			spins++
			runtime.Gosched()
		}
	}
}

// forwardReplies routes every finished reply and reports whether there
// was any.
func (s *Server) forwardReplies() bool {
	for n := 0; ; n++ {
		select {
		case frames := <-s.replies:
			s.pending.Add(-1)
			s.send(frames)
		default:
			return n > 0
		}
	}
}

// send routes one reply; a peer that has gone or cannot keep up loses it.
func (s *Server) send(frames [][]byte) {
	if _, err := s.router.SendMessageDontwait(frames); err != nil {
		s.opts.Logger.Warn("bridge: reply dropped", "err", err)
	}
}

// readRequests reads up to a batch of requests from the ROUTER.
func (s *Server) readRequests() {
	for range 256 {
		frames, err := s.recvFrames()
		if err != nil {
			return
		}
		s.dispatch(frames)
	}
}

// recvFrames reads one multipart message, keeping at most maxFrames
// frames (a message with more is reported as truncated by keeping
// maxFrames+1 entries, the last one empty).
func (s *Server) recvFrames() ([][]byte, error) {
	var frames [][]byte
	flags := zmq.DONTWAIT
	for {
		b, err := s.router.RecvBytes(flags)
		if err != nil {
			if len(frames) > 0 { // cannot happen: parts arrive atomically
				return frames, nil
			}
			return nil, err
		}
		flags = 0
		if len(frames) <= maxFrames {
			frames = append(frames, b)
		}
		more, err := s.router.GetRcvmore()
		if err != nil || !more {
			return frames, nil
		}
	}
}

// dispatch validates the envelope and size and queues a job, or answers
// right away.
func (s *Server) dispatch(frames [][]byte) {
	env, payload, ok := splitEnvelope(frames)
	switch {
	case env == nil:
		return
	case !ok:
		s.replyError(env, wire.CodeBadRequest, "bridge: expected one payload frame after the envelope, got %d frames", len(frames))
	case len(payload) > s.opts.MaxMessageSize:
		s.replyError(env, wire.CodeTooLarge, "bridge: payload of %d bytes exceeds the limit of %d", len(payload), s.opts.MaxMessageSize)
	default:
		select {
		case s.jobs <- job{env: env, payload: payload}:
			s.inflight.Add(1)
		default:
			s.replyError(env, wire.CodeBusy, "bridge: server busy, %d requests queued", cap(s.jobs))
		}
	}
}

func (s *Server) replyError(env [][]byte, code, format string, args ...any) {
	b, _ := wire.Errorf(code, format, args...).Encode(nil)
	s.send(append(env[:len(env):len(env)], b))
}

// work runs the handler for jobs until the queue is closed and empty.
func (s *Server) work(ctx context.Context) {
	push, err := s.zctx.NewSocket(zmq.PUSH)
	if err == nil {
		push.SetLinger(0)
		err = push.Connect(s.wakeEP)
	}
	if err != nil {
		s.opts.Logger.Error("bridge: worker socket", "err", err)
		if push != nil {
			push.Close()
		}
		for range s.jobs { // keep the queue moving; requests time out
		}
		return
	}
	defer push.Close()
	for j := range s.jobs {
		req, rep := s.decode(ctx, j.payload)
		if rep == nil && req.Command == wire.CmdWaitCycle {
			if s.startWait(ctx, j, req) {
				s.inflight.Add(-1)
				continue
			}
			rep = wire.Errorf(wire.CodeBusy, "bridge: server busy, %d waits held (the most it holds at once)", s.opts.MaxWaits)
		}
		if rep == nil {
			rep = s.run(ctx, req)
		}
		s.deliver(j.env, rep)
		s.inflight.Add(-1)
		if s.sleeping.Load() {
			// Best effort: a full pipe means a wake-up is already queued.
			push.SendBytes(nil, zmq.DONTWAIT)
		}
	}
}

// deliver encodes rep and hands it to the owner, with env in front.
func (s *Server) deliver(env [][]byte, rep *wire.Reply) {
	b, err := rep.Encode(make([]byte, 0, 64+rep.Msgsize()))
	if err != nil {
		b, _ = wire.Errorf(wire.CodeInternal, "bridge: encoding reply: %v", err).Encode(nil)
	}
	// The channel has room for every reply that can be outstanding (one
	// per queued job, worker and held wait), and the owner drains it on
	// every turn of its loop.
	s.replies <- append(env[:len(env):len(env)], b)
	s.pending.Add(1)
}

// startWait runs a wait_cycle request on a goroutine of its own if fewer
// than Options.MaxWaits are held, and reports whether it did.
func (s *Server) startWait(ctx context.Context, j job, req *wire.Request) bool {
	select {
	case s.waitSem <- struct{}{}:
	default:
		return false
	}
	s.waits.Add(1)
	go func() {
		defer s.waits.Done()
		defer func() { <-s.waitSem }()
		s.deliver(j.env, s.run(ctx, req))
		if s.sleeping.Load() {
			select {
			case s.kick <- struct{}{}:
			default: // a wake-up is already on its way
			}
		}
	}()
	return true
}

// waker wakes a sleeping owner for the waits' replies, through a PUSH
// socket of its own (a socket belongs to one goroutine), until kick is
// closed.
func (s *Server) waker() {
	push, err := s.zctx.NewSocket(zmq.PUSH)
	if err == nil {
		push.SetLinger(0)
		err = push.Connect(s.wakeEP)
	}
	if err != nil {
		// The owner still sees the replies within its poll timeout.
		s.opts.Logger.Error("bridge: waker socket", "err", err)
		if push != nil {
			push.Close()
		}
		for range s.kick {
		}
		return
	}
	defer push.Close()
	for range s.kick {
		push.SendBytes(nil, zmq.DONTWAIT)
	}
}

// decode decodes and validates one request; when it cannot be run it
// returns the error reply instead.
func (s *Server) decode(ctx context.Context, payload []byte) (*wire.Request, *wire.Reply) {
	if ctx.Err() != nil {
		return nil, wire.Errorf(wire.CodeUnavailable, "bridge: server shutting down")
	}
	decode := wire.DecodeRequest
	if s.opts.Strict {
		decode = wire.DecodeRequestStrict
	}
	req, err := decode(payload)
	if err != nil {
		return nil, wire.Errorf(wire.CodeOf(err), "%v", err)
	}
	return req, nil
}

// run runs the handler on a decoded request, turning a panic or a nil
// reply into an error reply.
func (s *Server) run(ctx context.Context, req *wire.Request) (rep *wire.Reply) {
	if s.opts.HandlerTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.HandlerTimeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.Error("bridge: handler panic", "command", req.Command, "panic", p)
			rep = wire.Errorf(wire.CodeInternal, "bridge: handler panicked: %v", p)
		}
	}()
	rep = s.h.Handle(ctx, req)
	if rep == nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return wire.Errorf(wire.CodeTimeout, "bridge: %s timed out", req.Command)
		}
		return wire.Errorf(wire.CodeInternal, "bridge: handler returned no reply")
	}
	return rep
}

// Close stops Serve (if running), waits for it and the workers to finish,
// and releases the sockets and the ZeroMQ context. It is safe to call more
// than once; later calls return the first call's result.
func (s *Server) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return s.closeErr
	}
	s.closed = true
	close(s.done)
	if s.served.Load() {
		<-s.stopped
	} else if s.served.CompareAndSwap(false, true) {
		close(s.stopped) // Serve will now return ErrServing; it never ran
	} else {
		<-s.stopped
	}
	s.closeErr = s.closeSockets()
	return s.closeErr
}

func (s *Server) closeSockets() error {
	var errs []error
	for _, sock := range []*zmq.Socket{s.router, s.wake, s.zap} {
		if sock != nil {
			errs = append(errs, sock.Close())
		}
	}
	if s.zctx != nil {
		errs = append(errs, s.zctx.Term())
	}
	return errors.Join(errs...)
}
