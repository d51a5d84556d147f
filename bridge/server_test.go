package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/bridgetest"
	"github.com/batos/batos/bridge/wire"
	zmq "github.com/pebbe/zmq4"
)

func TestGoClient(t *testing.T) {
	s := serve(t, echo, bridge.Options{})
	c := dial(t, s.Endpoint(), bridge.ClientOptions{})
	rep := call(t, c, msg("display_yourself"))
	if rep.Status != wire.StatusOK || rep.Result.V != "display_yourself on genesis_obj" {
		t.Fatalf("reply %+v", rep)
	}
	args := wire.List{int64(1), "x", []byte{1}, []any{2.5}, map[string]any{"k": nil}}
	rep = call(t, c, &wire.Request{Command: wire.CmdDispatchMessage, Target: wire.ByNumber(9), MessageName: "m",
		Args: args, Kwargs: wire.Map{"a": true}})
	want := map[string]any{"target": int64(9), "args": []any(args), "kwargs": map[string]any{"a": true}}
	if !reflect.DeepEqual(rep.Result.V, want) {
		t.Fatalf("result %#v, want %#v", rep.Result.V, want)
	}
	for _, cmd := range []*wire.Request{
		{Command: wire.CmdInitiateCognitiveCycle, Target: wire.Named("o"), MissionBrief: wire.Map{"type": "x"}},
		{Command: wire.CmdInspect, Target: wire.Named("o")},
		{Command: wire.CmdSetSlot, Target: wire.Named("o"), Slot: "s", Value: wire.Value{V: int64(1)}},
		{Command: wire.CmdListCycles},
		{Command: wire.CmdShowCycle, CycleID: "c"},
		{Command: wire.CmdIngest, Text: "t"},
		{Command: wire.CmdSearch, Query: "q"},
	} {
		if rep := call(t, c, cmd); rep.Result.V != cmd.Command {
			t.Errorf("%s: %+v", cmd.Command, rep)
		}
	}
	// Invalid requests never reach the handler.
	wantCode(t, call(t, c, &wire.Request{Command: "bogus"}), wire.CodeUnknownCommand)
	wantCode(t, call(t, c, &wire.Request{Command: wire.CmdInspect}), wire.CodeBadRequest)
	if err := call(t, c, &wire.Request{Command: wire.CmdInspect}).Err(); !errors.As(err, new(*wire.ReplyError)) {
		t.Fatalf("Err() = %v", err)
	}
}

func TestHandlerFailures(t *testing.T) {
	s := serve(t, echo, bridge.Options{HandlerTimeout: 50 * time.Millisecond})
	c := dial(t, s.Endpoint(), bridge.ClientOptions{})
	wantCode(t, call(t, c, msg("panic")), wire.CodeInternal)
	wantCode(t, call(t, c, msg("nil")), wire.CodeInternal)
	wantCode(t, call(t, c, msg("unencodable")), wire.CodeInternal)
	wantCode(t, call(t, c, msg("wait")), wire.CodeTimeout)
	wantCode(t, call(t, c, msg("fine")), "")
}

func TestPython(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import zmq, msgpack").Run(); err != nil {
		t.Fatalf("python3-zmq and python3-msgpack are required (make deps installs them): %v", err)
	}
	s := serve(t, echo, bridge.Options{})
	for _, mode := range []string{"req", "dealer"} {
		t.Run(mode, func(t *testing.T) {
			out, err := exec.Command(py, filepath.Join("testdata", "pyclient.py"), s.Endpoint(), mode).CombinedOutput()
			if err != nil {
				t.Fatalf("pyclient %s: %v\n%s", mode, err, out)
			}
			if !strings.Contains(string(out), "ok dispatch") || strings.Contains(string(out), "FAIL") {
				t.Fatalf("pyclient %s:\n%s", mode, out)
			}
		})
	}
}

func TestBadInputs(t *testing.T) {
	s := serve(t, echo, bridge.Options{MaxMessageSize: 64 << 10})
	good := dial(t, s.Endpoint(), bridge.ClientOptions{})
	dealer := newRaw(t, zmq.DEALER, s.Endpoint())
	req := newRaw(t, zmq.REQ, s.Endpoint())
	for _, tc := range bridgetest.BadPayloads() {
		t.Run(tc.Name, func(t *testing.T) {
			dealer.send(t, []byte{}, tc.Payload)
			wantCode(t, dealer.recvReply(t, 2), tc.Code)
			dealer.send(t, tc.Payload)
			wantCode(t, dealer.recvReply(t, 1), tc.Code)
			req.send(t, tc.Payload)
			wantCode(t, req.recvReply(t, 1), tc.Code)
		})
	}
	blueprint := bridgetest.BlueprintDispatch()
	t.Run("two-payload-frames", func(t *testing.T) {
		dealer.send(t, blueprint, blueprint)
		wantCode(t, dealer.recvReply(t, 1), wire.CodeBadRequest)
		dealer.send(t, []byte{}, blueprint, blueprint)
		wantCode(t, dealer.recvReply(t, 2), wire.CodeBadRequest)
		req.send(t, blueprint, blueprint)
		wantCode(t, req.recvReply(t, 1), wire.CodeBadRequest)
	})
	t.Run("many-frames", func(t *testing.T) {
		frames := make([][]byte, 100)
		for i := range frames {
			frames[i] = []byte{byte(i)}
		}
		dealer.send(t, frames...)
		wantCode(t, dealer.recvReply(t, 1), wire.CodeBadRequest)
	})
	t.Run("only-delimiter", func(t *testing.T) {
		dealer.send(t, []byte{})
		wantCode(t, dealer.recvReply(t, 1), wire.CodeBadRequest)
	})
	t.Run("too-large", func(t *testing.T) {
		dealer.send(t, []byte{}, make([]byte, 100<<10))
		wantCode(t, dealer.recvReply(t, 2), wire.CodeTooLarge)
	})
	t.Run("over-maxmsgsize", func(t *testing.T) {
		// libzmq drops the peer: nothing comes back, the server carries on.
		big := newRaw(t, zmq.DEALER, s.Endpoint())
		big.sock.SetRcvtimeo(300 * time.Millisecond)
		big.send(t, []byte{}, make([]byte, 200<<10))
		if frames, err := big.sock.RecvMessageBytes(0); err == nil {
			t.Fatalf("got reply %q to an oversized frame", frames)
		}
	})
	t.Run("raw-http", func(t *testing.T) {
		addr := strings.TrimPrefix(s.Endpoint(), "tcp://")
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Write([]byte("GET / HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"))
		// libzmq answers with its ZMTP greeting and then waits for a
		// valid one until the handshake interval expires; read briefly.
		conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 4096)
		var got []byte
		for {
			n, err := conn.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if bytes.Contains(got, []byte("HTTP")) || len(got) > 0 && got[0] != 0xff {
			t.Fatalf("server answered %q, want at most a ZMTP greeting", got)
		}
	})
	// Still serving, on every socket.
	wantCode(t, call(t, good, msg("still")), "")
	dealer.send(t, []byte{}, blueprint)
	wantCode(t, dealer.recvReply(t, 2), "")
	req.send(t, blueprint)
	wantCode(t, req.recvReply(t, 1), "")
}

func TestConcurrentClients(t *testing.T) {
	s := serve(t, echo, bridge.Options{Workers: 4, QueueSize: 1024})
	shared := dial(t, s.Endpoint(), bridge.ClientOptions{})
	const clients, calls = 50, 20
	var wg sync.WaitGroup
	errc := make(chan error, 2*clients)
	for i := range clients {
		own := dial(t, s.Endpoint(), bridge.ClientOptions{})
		for _, c := range []*bridge.Client{own, shared} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range calls {
					name := fmt.Sprintf("c%d-%p-%d", i, c, j)
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					rep, err := c.Call(ctx, msg(name))
					cancel()
					if err != nil {
						errc <- err
						return
					}
					if rep.Result.V != name+" on genesis_obj" {
						errc <- fmt.Errorf("sent %s, got %+v", name, rep)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestBusy(t *testing.T) {
	release := make(chan struct{})
	block := bridge.HandlerFunc(func(ctx context.Context, req *wire.Request) *wire.Reply {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return wire.OK(nil)
	})
	s := serve(t, block, bridge.Options{Workers: 1, QueueSize: 1})
	d := newRaw(t, zmq.DEALER, s.Endpoint())
	const n = 4
	for range n {
		d.send(t, []byte{}, bridgetest.BlueprintDispatch())
	}
	// At most one request runs and one waits: the rest are answered busy
	// before anything is released.
	for range n - 2 {
		wantCode(t, d.recvReply(t, 2), wire.CodeBusy)
	}
	close(release)
	ok, busy := 0, n-2
	for range 2 {
		switch rep := d.recvReply(t, 2); {
		case rep.Status == wire.StatusOK:
			ok++
		case rep.Code == wire.CodeBusy:
			busy++
		default:
			t.Fatalf("reply %+v", rep)
		}
	}
	if ok < 1 || ok+busy != n {
		t.Fatalf("ok %d busy %d", ok, busy)
	}
}

func TestServeLifecycle(t *testing.T) {
	s, err := bridge.NewServer(echo, bridge.Options{Endpoint: "tcp://127.0.0.1:*"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Endpoint(), "tcp://127.0.0.1:") || strings.HasSuffix(s.Endpoint(), "*") {
		t.Fatalf("Endpoint %q", s.Endpoint())
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx) }()
	c := dial(t, s.Endpoint(), bridge.ClientOptions{})
	wantCode(t, call(t, c, msg("x")), "")
	if err := s.Serve(ctx); !errors.Is(err, bridge.ErrServing) {
		t.Fatalf("second Serve: %v", err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Close before Serve.
	s2, err := bridge.NewServer(echo, bridge.Options{Endpoint: "tcp://127.0.0.1:*"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Serve(context.Background()); err == nil {
		t.Fatal("Serve after Close succeeded")
	}
	if _, err := bridge.NewServer(echo, bridge.Options{Endpoint: "bogus://x"}); err == nil {
		t.Fatal("bad endpoint accepted")
	}
}

func TestClientReconnect(t *testing.T) {
	s1, err := bridge.NewServer(echo, bridge.Options{Endpoint: "tcp://127.0.0.1:*"})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := s1.Endpoint()
	go s1.Serve(context.Background())
	c := dial(t, endpoint, bridge.ClientOptions{})
	wantCode(t, call(t, c, msg("before")), "")
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err = c.Call(ctx, msg("down"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call to a stopped server: %v", err)
	}
	serve(t, echo, bridge.Options{Endpoint: endpoint})
	wantCode(t, call(t, c, msg("after")), "")
	c.Close()
	if _, err := c.Call(context.Background(), msg("closed")); !errors.Is(err, bridge.ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
}

func TestClientMaxConns(t *testing.T) {
	s := serve(t, echo, bridge.Options{})
	c := dial(t, s.Endpoint(), bridge.ClientOptions{MaxConns: 1})
	first := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := c.Call(ctx, msg("wait")) // holds the only socket
		first <- err
	}()
	// Wait until the first call holds the socket: then a second call
	// cannot get one and runs out of time without sending.
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := c.Call(ctx, msg("second"))
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("second call: %v", err)
			}
			break
		}
	}
	if err := <-first; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first call: %v", err)
	}
	wantCode(t, call(t, c, msg("third")), "")
}

func TestStrict(t *testing.T) {
	// {"command": "status", "extra": true}
	b := []byte{0x82, 0xa7, 'c', 'o', 'm', 'm', 'a', 'n', 'd', 0xa6, 's', 't', 'a', 't', 'u', 's', 0xa5, 'e', 'x', 't', 'r', 'a', 0xc3}
	for _, strict := range []bool{false, true} {
		s := serve(t, echo, bridge.Options{Strict: strict})
		d := newRaw(t, zmq.DEALER, s.Endpoint())
		d.send(t, []byte{}, b)
		rep := d.recvReply(t, 2)
		if strict {
			wantCode(t, rep, wire.CodeBadRequest)
		} else {
			wantCode(t, rep, "")
		}
	}
}

func TestWaits(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	h := bridge.HandlerFunc(func(ctx context.Context, req *wire.Request) *wire.Reply {
		if req.Command != wire.CmdWaitCycle {
			return echo(ctx, req)
		}
		entered <- struct{}{}
		select {
		case <-release:
			return wire.OK(req.CycleID)
		case <-ctx.Done():
			return wire.Errorf(wire.CodeUnavailable, "shutting down")
		}
	})
	// One worker: a wait held on it would starve every other request.
	s := serve(t, h, bridge.Options{Workers: 1, MaxWaits: 2})
	c := dial(t, s.Endpoint(), bridge.ClientOptions{})
	waits := make(chan *wire.Reply, 2)
	for _, id := range []string{"1", "2"} {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rep, err := c.Call(ctx, &wire.Request{Command: wire.CmdWaitCycle, CycleID: id})
			if err != nil {
				rep = wire.Errorf("transport", "%v", err)
			}
			waits <- rep
		}()
	}
	for range 2 {
		select {
		case <-entered:
		case <-time.After(20 * time.Second):
			t.Fatal("the waits did not reach the handler")
		}
	}
	// Both held: a third is refused, everything else is answered.
	wantCode(t, call(t, c, &wire.Request{Command: wire.CmdWaitCycle, CycleID: "3"}), wire.CodeBusy)
	for i := range 10 {
		wantCode(t, call(t, c, msg(fmt.Sprint("m", i))), "")
	}
	close(release)
	got := map[any]bool{}
	for range 2 {
		rep := <-waits
		wantCode(t, rep, "")
		got[rep.Result.V] = true
	}
	if !got["1"] || !got["2"] {
		t.Fatalf("waits answered %v", got)
	}
	// The slots are free again.
	wantCode(t, call(t, c, &wire.Request{Command: wire.CmdWaitCycle, CycleID: "4"}), "")
}

func TestWaitAtShutdown(t *testing.T) {
	entered := make(chan struct{})
	h := bridge.HandlerFunc(func(ctx context.Context, req *wire.Request) *wire.Reply {
		close(entered)
		<-ctx.Done()
		return wire.Errorf(wire.CodeUnavailable, "shutting down")
	})
	s, err := bridge.NewServer(h, bridge.Options{Endpoint: "tcp://127.0.0.1:*"})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(context.Background()) }()
	d := newRaw(t, zmq.DEALER, s.Endpoint())
	b, _ := (&wire.Request{Command: wire.CmdWaitCycle, CycleID: "1"}).Encode(nil)
	d.send(t, []byte{}, b)
	<-entered
	// Close cancels the held wait, routes its answer and returns.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	wantCode(t, d.recvReply(t, 2), wire.CodeUnavailable)
}
