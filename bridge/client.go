package bridge

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/batos/batos/bridge/wire"
	zmq "github.com/pebbe/zmq4"
)

// ClientOptions configure a Client. The zero value works for a server
// without Curve.
type ClientOptions struct {
	// Timeout bounds a Call whose ctx has no deadline; default 30 s.
	Timeout time.Duration
	// MaxMessageSize bounds a reply; larger replies drop the connection.
	// Default 64 MiB.
	MaxMessageSize int64
	// MaxConns bounds the sockets (and TCP connections) the client opens;
	// calls beyond it wait for a free one. Default 16.
	MaxConns int
	// Curve, when non-nil, connects with CurveZMQ.
	Curve *ClientCurve
}

// ClientCurve holds the keys a Curve client needs, all Z85.
type ClientCurve struct {
	ServerKey string // the server's public key
	Public    string // this client's public key (in the server's allowlist)
	Secret    string // this client's secret key
}

// Client calls a Server over DEALER sockets.
//
// Concurrency: a Client is safe for concurrent use. Each Call borrows a
// socket from a pool of at most MaxConns (one goroutine uses a socket at a
// time; further calls wait for one) and tags its
// request with a correlation frame, so a late reply to an abandoned call
// is recognised and discarded. A call that fails or times out closes its
// socket and the next call connects afresh, so a restarted server is
// reached again without stale replies.
type Client struct {
	endpoint string
	opts     ClientOptions
	zctx     *zmq.Context
	prefix   [8]byte
	seq      atomic.Uint64

	sem    chan struct{} // one token per socket in use
	mu     sync.Mutex
	idle   []*conn
	closed bool
	wg     sync.WaitGroup // calls in flight
	done   chan struct{}
}

type conn struct {
	sock   *zmq.Socket
	poller *zmq.Poller
}

// Dial returns a client for the server at endpoint. ZeroMQ connects in the
// background and reconnects by itself, so Dial succeeds while the server
// is down (a Call then waits for its deadline); ctx is only checked.
func Dial(ctx context.Context, endpoint string, opts ClientOptions) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = 64 << 20
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 16
	}
	if opts.Curve != nil {
		if !zmq.HasCurve() {
			return nil, ErrNoCurve
		}
		for _, k := range []string{opts.Curve.ServerKey, opts.Curve.Public, opts.Curve.Secret} {
			if err := checkKey(k); err != nil {
				return nil, err
			}
		}
	}
	zctx, err := zmq.NewContext()
	if err != nil {
		return nil, fmt.Errorf("bridge: new context: %w", err)
	}
	c := &Client{endpoint: endpoint, opts: opts, zctx: zctx, done: make(chan struct{}),
		sem: make(chan struct{}, opts.MaxConns)}
	rand.Read(c.prefix[:])
	cn, err := c.connect()
	if err != nil {
		zctx.Term()
		return nil, err
	}
	c.idle = append(c.idle, cn)
	return c, nil
}

func (c *Client) connect() (*conn, error) {
	sock, err := c.zctx.NewSocket(zmq.DEALER)
	if err != nil {
		return nil, fmt.Errorf("bridge: new socket: %w", err)
	}
	sock.SetLinger(0)
	sock.SetMaxmsgsize(c.opts.MaxMessageSize)
	sock.SetReconnectIvl(100 * time.Millisecond)
	sock.SetReconnectIvlMax(2 * time.Second)
	if cv := c.opts.Curve; cv != nil {
		if err := sock.ClientAuthCurve(cv.ServerKey, cv.Public, cv.Secret); err != nil {
			sock.Close()
			return nil, fmt.Errorf("bridge: curve client: %w", err)
		}
	}
	if err := sock.Connect(c.endpoint); err != nil {
		sock.Close()
		return nil, fmt.Errorf("bridge: connect %s: %w", c.endpoint, err)
	}
	p := zmq.NewPoller()
	p.Add(sock, zmq.POLLIN)
	return &conn{sock: sock, poller: p}, nil
}

// get borrows a connection, making one if none is idle, waiting while
// MaxConns are in use.
func (c *Client) get(ctx context.Context) (*conn, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("bridge: call: %w", ctx.Err())
	case <-c.done:
		return nil, ErrClosed
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.sem
		return nil, ErrClosed
	}
	c.wg.Add(1)
	if n := len(c.idle); n > 0 {
		cn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cn, nil
	}
	c.mu.Unlock()
	cn, err := c.connect()
	if err != nil {
		c.wg.Done()
		<-c.sem
		return nil, err
	}
	return cn, nil
}

// put returns a healthy connection to the pool, or closes a broken one.
func (c *Client) put(cn *conn, healthy bool) {
	defer func() { <-c.sem }()
	defer c.wg.Done()
	c.mu.Lock()
	if healthy && !c.closed {
		c.idle = append(c.idle, cn)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	cn.sock.Close()
}

// Call sends req and waits for its reply until ctx is done (or, without a
// deadline, for ClientOptions.Timeout). The error reports transport
// failures only (context.DeadlineExceeded when no reply came, ErrClosed,
// ErrBadReply); a reply with status "error" is returned as a reply, see
// wire.Reply.Err.
func (c *Client) Call(ctx context.Context, req *wire.Request) (*wire.Reply, error) {
	payload, err := req.Encode(nil)
	if err != nil {
		return nil, fmt.Errorf("bridge: encoding request: %w", err)
	}
	b, err := c.CallRaw(ctx, payload)
	if err != nil {
		return nil, err
	}
	rep, err := wire.DecodeReply(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadReply, err)
	}
	return rep, nil
}

// CallRaw sends an encoded request payload and returns the encoded reply
// payload, with Call's deadline and error rules. It exists for tests and
// benchmarks that need to send bytes no Request would encode to.
func (c *Client) CallRaw(ctx context.Context, payload []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
	}
	cn, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	var corr [16]byte
	copy(corr[:8], c.prefix[:])
	binary.BigEndian.PutUint64(corr[8:], c.seq.Add(1))
	rep, err := c.roundTrip(ctx, cn, corr[:], payload)
	c.put(cn, err == nil)
	return rep, err
}

// roundTrip sends [corr, "", payload] and waits for [corr, "", reply],
// discarding replies to earlier, abandoned calls.
func (c *Client) roundTrip(ctx context.Context, cn *conn, corr, payload []byte) ([]byte, error) {
	if _, err := cn.sock.SendMessageDontwait(corr, []byte{}, payload); err != nil {
		return nil, fmt.Errorf("bridge: send: %w", err)
	}
	for {
		wait := 100 * time.Millisecond
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bridge: call: %w", ctx.Err())
		case <-c.done:
			return nil, ErrClosed
		default:
		}
		if wait <= 0 {
			return nil, fmt.Errorf("bridge: call: %w", context.DeadlineExceeded)
		}
		polled, err := cn.poller.Poll(max(wait, time.Millisecond)) // zmq_poll counts whole ms
		if err != nil {
			if zmq.AsErrno(err) == zmq.Errno(syscall.EINTR) {
				continue
			}
			return nil, fmt.Errorf("bridge: poll: %w", err)
		}
		if len(polled) == 0 {
			continue
		}
		for {
			frames, err := cn.sock.RecvMessageBytes(zmq.DONTWAIT)
			if err != nil {
				break
			}
			if len(frames) == 3 && bytes.Equal(frames[0], corr) && len(frames[1]) == 0 {
				return frames[2], nil
			}
			// A stale or malformed reply: drop it and keep waiting.
		}
	}
}

// Close closes the client: calls in flight return ErrClosed within a
// poll interval, and the sockets and ZeroMQ context are released.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	var errs []error
	for _, cn := range idle {
		errs = append(errs, cn.sock.Close())
	}
	c.wg.Wait()
	errs = append(errs, c.zctx.Term())
	return errors.Join(errs...)
}
