package bridge_test

import (
	"context"
	"fmt"
	"time"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
)

func Example() {
	h := bridge.HandlerFunc(func(ctx context.Context, req *wire.Request) *wire.Reply {
		if req.Command == wire.CmdDispatchMessage && req.MessageName == "display_yourself" {
			return wire.OK("<UvmObject oid=" + req.Target.String() + " slots=['parent*']>")
		}
		return wire.Errorf(wire.CodeNotFound, "%s does not understand %s", req.Target, req.MessageName)
	})
	srv, err := bridge.NewServer(h, bridge.Options{Endpoint: "tcp://127.0.0.1:*"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	go srv.Serve(context.Background())

	c, err := bridge.Dial(context.Background(), srv.Endpoint(), bridge.ClientOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range []string{"display_yourself", "fly"} {
		rep, err := c.Call(ctx, &wire.Request{
			Command:     wire.CmdDispatchMessage,
			Target:      wire.Named("genesis_obj"),
			MessageName: name,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s %v %q\n", rep.Status, rep.Result.V, rep.Code)
	}
	// Output:
	// ok <UvmObject oid=genesis_obj slots=['parent*']> ""
	// error <nil> "not_found"
}
