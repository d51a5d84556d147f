package bridge

import (
	"context"

	"github.com/batos/batos/bridge/wire"
)

// Handler answers requests. The server calls Handle on one of its worker
// goroutines with a request that has already been decoded and validated
// (wire.Request.Validate); Handle must be safe for concurrent use by
// Options.Workers goroutines and up to Options.MaxWaits more (wait_cycle
// requests run on goroutines of their own), should return promptly once
// ctx is done (Close waits for it), and should return a non-nil reply (a
// nil reply is answered with code internal, a panic is recovered and
// answered the same way).
type Handler interface {
	Handle(ctx context.Context, req *wire.Request) *wire.Reply
}

// HandlerFunc adapts a function to the Handler interface.
type HandlerFunc func(ctx context.Context, req *wire.Request) *wire.Reply

// Handle calls f(ctx, req).
func (f HandlerFunc) Handle(ctx context.Context, req *wire.Request) *wire.Reply {
	return f(ctx, req)
}

var _ Handler = HandlerFunc(nil)
