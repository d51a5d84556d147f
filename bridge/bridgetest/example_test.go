package bridgetest_test

import (
	"fmt"

	"github.com/batos/batos/bridge/bridgetest"
	"github.com/batos/batos/bridge/wire"
)

func ExampleBadPayloads() {
	for _, tc := range bridgetest.BadPayloads()[:3] {
		_, err := wire.DecodeRequest(tc.Payload)
		fmt.Println(tc.Name, tc.Code, wire.CodeOf(err) == tc.Code)
	}
	// Output:
	// empty bad_request true
	// garbage bad_request true
	// http bad_request true
}
