package wire_test

import (
	"fmt"

	"github.com/batos/batos/bridge/wire"
)

func Example() {
	// A client encodes the blueprint's validation message...
	req := &wire.Request{
		Command:     wire.CmdDispatchMessage,
		Target:      wire.Named("genesis_obj"),
		MessageName: "display_yourself",
	}
	payload, _ := req.Encode(nil)

	// ...and the server decodes and validates it.
	got, err := wire.DecodeRequest(payload)
	fmt.Println(got.Command, got.Target, got.MessageName, err)

	// A bad payload maps to a stable code.
	_, err = wire.DecodeRequest([]byte("GET / HTTP/1.1\r\n\r\n"))
	fmt.Println(wire.CodeOf(err))

	rep, _ := wire.OK("<UvmObject oid=1>").Encode(nil)
	back, _ := wire.DecodeReply(rep)
	fmt.Println(back.Status, back.Result.V)
	// Output:
	// dispatch_message genesis_obj display_yourself <nil>
	// bad_request
	// ok <UvmObject oid=1>
}
