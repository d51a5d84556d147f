package bridgetest

import (
	"bytes"

	"github.com/batos/batos/bridge/wire"
	"github.com/tinylib/msgp/msgp"
)

// BadInput is one hostile or malformed payload and the reply code a server
// must answer it with.
type BadInput struct {
	Name    string
	Payload []byte
	Code    string // wire.CodeBadRequest, wire.CodeTooLarge, ...
}

// BlueprintDispatch returns the payload of the blueprint's validation
// protocol (Part IV 4.1), encoded the way Python's msgpack.packb encodes
// the dict: {"command": "dispatch_message", "target_oid": "genesis_obj",
// "message_name": "display_yourself", "args": [], "kwargs": {}}.
func BlueprintDispatch() []byte {
	b := msgp.AppendMapHeader(nil, 5)
	b = msgp.AppendString(b, "command")
	b = msgp.AppendString(b, "dispatch_message")
	b = msgp.AppendString(b, "target_oid")
	b = msgp.AppendString(b, "genesis_obj")
	b = msgp.AppendString(b, "message_name")
	b = msgp.AppendString(b, "display_yourself")
	b = msgp.AppendString(b, "args")
	b = msgp.AppendArrayHeader(b, 0)
	b = msgp.AppendString(b, "kwargs")
	b = msgp.AppendMapHeader(b, 0)
	return b
}

// mapOf encodes a map from alternating keys and pre-encoded values.
func mapOf(kv ...any) []byte {
	b := msgp.AppendMapHeader(nil, uint32(len(kv)/2))
	for i := 0; i < len(kv); i += 2 {
		b = msgp.AppendString(b, kv[i].(string))
		switch v := kv[i+1].(type) {
		case string:
			b = msgp.AppendString(b, v)
		case []byte: // already encoded
			b = append(b, v...)
		case int:
			b = msgp.AppendInt(b, v)
		}
	}
	return b
}

func nested(depth int) []byte {
	b := bytes.Repeat([]byte{0x91}, depth) // fixarray of one element
	return append(b, 0xc0)
}

// BadPayloads returns the bad-input corpus: garbage, truncated msgpack,
// huge length prefixes, non-map top levels, wrong types, unknown commands,
// trailing bytes and raw HTTP. Frame-level cases (wrong frame counts,
// oversized payloads) live in the bridge tests because they need a socket.
func BadPayloads() []BadInput {
	bp := BlueprintDispatch()
	dispatch := func(kv ...any) []byte {
		return mapOf(append([]any{"command", "dispatch_message", "target_oid", "genesis_obj", "message_name", "m"}, kv...)...)
	}
	return []BadInput{
		{"empty", []byte{}, wire.CodeBadRequest},
		{"garbage", []byte{0xc1, 0xc1, 0xff, 0x00, 0x13, 0x37}, wire.CodeBadRequest},
		{"http", []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1:5555\r\nUser-Agent: curl/8.0\r\n\r\n"), wire.CodeBadRequest},
		{"truncated", bp[:len(bp)/2], wire.CodeBadRequest},
		{"truncated-last-byte", bp[:len(bp)-1], wire.CodeBadRequest},
		{"top-array-4G", []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0}, wire.CodeBadRequest},
		{"top-map-4G", []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0}, wire.CodeTooLarge},
		{"args-array-4G", dispatch("args", []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0}), wire.CodeTooLarge},
		{"kwargs-map-4G", dispatch("kwargs", []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0}), wire.CodeTooLarge},
		{"args-array-short", dispatch("args", []byte{0xdc, 0x10, 0x00, 0xc0}), wire.CodeBadRequest},
		{"string-4G", mapOf("command", []byte{0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b'}), wire.CodeBadRequest},
		{"bin-4G", dispatch("args", []byte{0x91, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00}), wire.CodeBadRequest},
		{"top-array", []byte{0x91, 0xb0, 'd', 'i', 's', 'p', 'a', 't', 'c', 'h', '_', 'm', 'e', 's', 's', 'a', 'g', 'e'}, wire.CodeBadRequest},
		{"top-int", []byte{0x2a}, wire.CodeBadRequest},
		{"top-string", []byte{0xa5, 'h', 'e', 'l', 'l', 'o'}, wire.CodeBadRequest},
		{"top-nil", []byte{0xc0}, wire.CodeBadRequest},
		{"int-key", []byte{0x81, 0x01, 0xa1, 'x'}, wire.CodeBadRequest},
		{"kwargs-int-key", dispatch("kwargs", []byte{0x81, 0x01, 0x02}), wire.CodeBadRequest},
		{"deep-nesting", dispatch("args", nested(200)), wire.CodeBadRequest},
		{"command-int", mapOf("command", 5), wire.CodeBadRequest},
		{"no-command", mapOf("target_oid", "genesis_obj"), wire.CodeBadRequest},
		{"empty-map", []byte{0x80}, wire.CodeBadRequest},
		{"unknown-command", mapOf("command", "rm -rf /"), wire.CodeUnknownCommand},
		{"no-target", mapOf("command", "dispatch_message", "message_name", "m"), wire.CodeBadRequest},
		{"no-message-name", mapOf("command", "dispatch_message", "target_oid", "genesis_obj"), wire.CodeBadRequest},
		{"negative-oid", mapOf("command", "inspect", "target_oid", -1), wire.CodeBadRequest},
		{"target-list", mapOf("command", "inspect", "target_oid", []byte{0x90}), wire.CodeBadRequest},
		{"args-not-list", dispatch("args", "x"), wire.CodeBadRequest},
		{"negative-limit", mapOf("command", "list_cycles", "limit", -5), wire.CodeBadRequest},
		{"trailing-bytes", append(BlueprintDispatch(), 0xc0), wire.CodeBadRequest},
		{"two-messages", append(BlueprintDispatch(), BlueprintDispatch()...), wire.CodeBadRequest},
		{"ext-in-args", dispatch("args", []byte{0x91, 0xd4, 0x01, 0x00}), wire.CodeBadRequest},
		{"timestamp-in-kwargs", dispatch("kwargs", []byte{0x81, 0xa1, 't', 0xd6, 0xff, 0, 0, 0, 1}), wire.CodeBadRequest},
	}
}
