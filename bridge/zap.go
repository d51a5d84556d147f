package bridge

import (
	"log/slog"

	zmq "github.com/pebbe/zmq4"
)

// zapEndpoint is where libzmq looks for the ZAP handler of a context.
const zapEndpoint = "inproc://zeromq.zap.01"

// zapHandler answers ZeroMQ authentication (ZAP, RFC 27) requests for one
// server's context: a CURVE client is admitted only if its public key is in
// allowed. Unlike zmq4.AuthStart it is per context, holds no globals and
// never panics on a malformed request. Its socket is owned by the server's
// owner goroutine.
type zapHandler struct {
	allowed map[string]bool // raw 32-byte public keys
	log     *slog.Logger
}

// handle reads one ZAP request from sock and answers it.
func (z *zapHandler) handle(sock *zmq.Socket) {
	msg, err := sock.RecvMessageBytes(zmq.DONTWAIT)
	if err != nil {
		return
	}
	if len(msg) < 6 {
		// A REP socket must answer every request; answer a malformed one.
		sock.SendMessage("1.0", "", "500", "malformed ZAP request", "", "")
		return
	}
	version, reqID, address, mechanism := msg[0], msg[1], string(msg[3]), string(msg[5])
	status, text := "400", "NO ACCESS"
	if string(version) == "1.0" && mechanism == "CURVE" && len(msg) >= 7 && len(msg[6]) == 32 && z.allowed[string(msg[6])] {
		status, text = "200", "OK"
	} else {
		z.log.Warn("bridge: refused client", "address", address, "mechanism", mechanism)
	}
	if _, err := sock.SendMessage(version, reqID, status, text, "", ""); err != nil {
		z.log.Error("bridge: ZAP reply", "err", err)
	}
}
