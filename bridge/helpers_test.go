package bridge_test

import (
	"context"
	"testing"
	"time"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
	zmq "github.com/pebbe/zmq4"
)

// echo answers every command from its fields, so tests can check that the
// right reply reached the right sender.
var echo = bridge.HandlerFunc(func(ctx context.Context, req *wire.Request) *wire.Reply {
	switch req.Command {
	case wire.CmdDispatchMessage:
		switch req.MessageName {
		case "panic":
			panic("boom")
		case "nil":
			return nil
		case "unencodable":
			return wire.OK([]any{make(chan int)})
		case "wait":
			<-ctx.Done()
			return nil
		}
		if len(req.Args) > 0 || len(req.Kwargs) > 0 {
			var target any = req.Target.Name
			if req.Target.ByOID {
				target = req.Target.OID
			}
			return wire.OK(map[string]any{"target": target, "args": req.Args, "kwargs": req.Kwargs})
		}
		return wire.OK(req.MessageName + " on " + req.Target.String())
	case wire.CmdStatus:
		return wire.OK("up")
	}
	return wire.OK(req.Command)
})

// serve starts a server on an ephemeral loopback port and stops it when
// the test ends, checking that Serve returned nil.
func serve(t testing.TB, h bridge.Handler, opts bridge.Options) *bridge.Server {
	t.Helper()
	if opts.Endpoint == "" {
		opts.Endpoint = "tcp://127.0.0.1:*"
	}
	s, err := bridge.NewServer(h, opts)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(context.Background()) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

func dial(t testing.TB, endpoint string, opts bridge.ClientOptions) *bridge.Client {
	t.Helper()
	c, err := bridge.Dial(context.Background(), endpoint, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("client Close: %v", err)
		}
	})
	return c
}

func call(t testing.TB, c *bridge.Client, req *wire.Request) *wire.Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := c.Call(ctx, req)
	if err != nil {
		t.Fatalf("Call(%s): %v", req.Command, err)
	}
	return rep
}

// rawSocket is a bare ZeroMQ socket for sending frames no Client would.
type rawSocket struct {
	ctx  *zmq.Context
	sock *zmq.Socket
}

func newRaw(t testing.TB, typ zmq.Type, endpoint string) *rawSocket {
	t.Helper()
	zctx, err := zmq.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	sock, err := zctx.NewSocket(typ)
	if err != nil {
		t.Fatal(err)
	}
	sock.SetLinger(0)
	sock.SetRcvtimeo(10 * time.Second)
	if err := sock.Connect(endpoint); err != nil {
		t.Fatal(err)
	}
	r := &rawSocket{ctx: zctx, sock: sock}
	t.Cleanup(func() {
		sock.Close()
		zctx.Term()
	})
	return r
}

func (r *rawSocket) send(t testing.TB, frames ...[]byte) {
	t.Helper()
	if _, err := r.sock.SendMessage(frames); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// recvReply receives one reply and checks its frame count.
func (r *rawSocket) recvReply(t testing.TB, nframes int) *wire.Reply {
	t.Helper()
	frames, err := r.sock.RecvMessageBytes(0)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	if len(frames) != nframes {
		t.Fatalf("reply has %d frames %q, want %d", len(frames), frames, nframes)
	}
	if nframes == 2 && len(frames[0]) != 0 {
		t.Fatalf("reply delimiter %q", frames[0])
	}
	rep, err := wire.DecodeReply(frames[len(frames)-1])
	if err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	return rep
}

func wantCode(t testing.TB, rep *wire.Reply, code string) {
	t.Helper()
	if code == "" {
		if rep.Status != wire.StatusOK {
			t.Fatalf("reply %+v, want ok", rep)
		}
		return
	}
	if rep.Status != wire.StatusError || rep.Code != code {
		t.Fatalf("reply %+v, want code %q", rep, code)
	}
}

func msg(name string) *wire.Request {
	return &wire.Request{Command: wire.CmdDispatchMessage, Target: wire.Named("genesis_obj"), MessageName: name}
}
