package wire_test

import (
	"encoding/json"
	"testing"

	"github.com/batos/batos/bridge/bridgetest"
	"github.com/batos/batos/bridge/wire"
)

// jsonRequest is the same message for encoding/json, the comparison the
// benchmarks are measured against.
type jsonRequest struct {
	Command     string         `json:"command"`
	Target      any            `json:"target_oid,omitempty"`
	MessageName string         `json:"message_name,omitempty"`
	Args        []any          `json:"args,omitempty"`
	Kwargs      map[string]any `json:"kwargs,omitempty"`
}

type jsonReply struct {
	Status  string `json:"status"`
	Result  any    `json:"result"`
	Message string `json:"message,omitempty"`
	Code    string `json:"code,omitempty"`
}

func benchRequest() *wire.Request {
	return &wire.Request{Command: wire.CmdDispatchMessage, Target: wire.Named("genesis_obj"),
		MessageName: "display_yourself", Args: wire.List{int64(1), "two", 3.0}, Kwargs: wire.Map{"verbose": true}}
}

func benchJSONRequest() *jsonRequest {
	return &jsonRequest{Command: "dispatch_message", Target: "genesis_obj", MessageName: "display_yourself",
		Args: []any{1, "two", 3.0}, Kwargs: map[string]any{"verbose": true}}
}

func BenchmarkDecodeRequest(b *testing.B) {
	b.Run("msgp/blueprint", func(b *testing.B) {
		p := bridgetest.BlueprintDispatch()
		b.ReportAllocs()
		for range b.N {
			if _, err := wire.DecodeRequest(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("msgp/args", func(b *testing.B) {
		p, _ := benchRequest().Encode(nil)
		b.ReportAllocs()
		for range b.N {
			if _, err := wire.DecodeRequest(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json/args", func(b *testing.B) {
		p, _ := json.Marshal(benchJSONRequest())
		b.ReportAllocs()
		for range b.N {
			var r jsonRequest
			if err := json.Unmarshal(p, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncodeRequest(b *testing.B) {
	b.Run("msgp/args", func(b *testing.B) {
		r := benchRequest()
		var buf []byte
		b.ReportAllocs()
		for range b.N {
			buf, _ = r.Encode(buf[:0])
		}
	})
	b.Run("json/args", func(b *testing.B) {
		r := benchJSONRequest()
		b.ReportAllocs()
		for range b.N {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncodeReply(b *testing.B) {
	result := "<UvmObject oid=1 slots=['parent*']>"
	b.Run("msgp", func(b *testing.B) {
		r := wire.OK(result)
		var buf []byte
		b.ReportAllocs()
		for range b.N {
			buf, _ = r.Encode(buf[:0])
		}
	})
	b.Run("json", func(b *testing.B) {
		r := &jsonReply{Status: "ok", Result: result}
		b.ReportAllocs()
		for range b.N {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeReply(b *testing.B) {
	result := "<UvmObject oid=1 slots=['parent*']>"
	b.Run("msgp", func(b *testing.B) {
		p, _ := wire.OK(result).Encode(nil)
		b.ReportAllocs()
		for range b.N {
			if _, err := wire.DecodeReply(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		p, _ := json.Marshal(&jsonReply{Status: "ok", Result: result})
		b.ReportAllocs()
		for range b.N {
			var r jsonReply
			if err := json.Unmarshal(p, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
