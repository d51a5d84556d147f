package wire_test

import (
	"testing"

	"github.com/batos/batos/bridge/bridgetest"
	"github.com/batos/batos/bridge/wire"
	"github.com/tinylib/msgp/msgp"
)

// FuzzDecode checks that no payload panics the decoders, that every error
// maps to a code, and that whatever decodes re-encodes and decodes again.
func FuzzDecode(f *testing.F) {
	f.Add(bridgetest.BlueprintDispatch())
	for _, tc := range bridgetest.BadPayloads() {
		f.Add(tc.Payload)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			return
		}
		wire.DecodeReply(b)
		for _, r := range []msgp.Unmarshaler{&wire.ObjectInfo{}, &wire.CycleInfo{}, &wire.CycleList{},
			&wire.SearchResult{}, &wire.StatusInfo{}, &wire.MissionStarted{}} {
			r.UnmarshalMsg(b)
		}
		req, err := wire.DecodeRequest(b)
		if err != nil {
			if wire.CodeOf(err) == "" {
				t.Fatalf("no code for %v", err)
			}
			return
		}
		enc, err := req.Encode(nil)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := wire.DecodeRequest(enc); err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
	})
}
