// Package bridge is the Synaptic Bridge: the ZeroMQ ROUTER server through
// which external clients reach BAT OS, and a Go client for it (blueprint
// Part I 1.2 and Part IV 4.1). Messages are msgpack maps defined by
// package wire.
//
// Main types: Server (NewServer, Serve, Close) answers requests with a
// Handler; Client (Dial, Call, Close) sends them; KeyPair and the key file
// functions manage CurveZMQ keys (see cmd/batoskey).
//
// Framing: REQ clients send [identity, "", payload] and DEALER clients
// [identity, payload] or [identity, "", payload] as seen by the ROUTER;
// the server echoes the envelope it received in front of the reply, so
// both kinds (and pyzmq clients written against the blueprint) work.
//
// Concurrency: a ZeroMQ socket is not goroutine-safe, so one goroutine
// (Serve) owns the ROUTER; handlers run on Options.Workers goroutines fed
// by a bounded queue (a full queue is answered "busy"); a wait_cycle
// request, which may be held for minutes, moves from its worker to a
// goroutine of its own, at most Options.MaxWaits at once (beyond that it
// is answered "busy"), so waiting clients never starve the others;
// replies go back to the owner over a channel (with an inproc wake-up
// when it is blocked in poll) and are routed by identity. Client is safe
// for concurrent use. Every type has a Close that releases its sockets and
// its ZeroMQ context.
//
// Security: the default endpoint is tcp://127.0.0.1:5555 (loopback). With
// Options.Curve the server encrypts with CurveZMQ and admits only the
// client public keys listed; its own ZAP handler runs per server, so other
// contexts are unaffected. Unauthenticated clients get nothing: their
// handshake fails and their calls time out. Malformed frames and payloads
// are answered with an error code (or dropped when no reply can be routed)
// and the server keeps serving; payloads over MaxMessageSize are answered
// too_large, and frames over twice that size make libzmq drop the peer.
//
// Caveats: the package uses cgo through github.com/pebbe/zmq4 and needs
// libzmq (Debian libzmq3-dev); Close waits for running handlers, so
// handlers must honour their context.
package bridge
