package wire_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/batos/batos/bridge/bridgetest"
	"github.com/batos/batos/bridge/wire"
	"github.com/tinylib/msgp/msgp"
)

func TestDecodeBlueprintDispatch(t *testing.T) {
	req, err := wire.DecodeRequest(bridgetest.BlueprintDispatch())
	if err != nil {
		t.Fatal(err)
	}
	if req.Command != wire.CmdDispatchMessage || req.Target != wire.Named("genesis_obj") ||
		req.MessageName != "display_yourself" || len(req.Args) != 0 || req.Args == nil ||
		len(req.Kwargs) != 0 || req.Kwargs == nil {
		t.Fatalf("decoded %+v", req)
	}
}

func TestBadPayloads(t *testing.T) {
	for _, tc := range bridgetest.BadPayloads() {
		t.Run(tc.Name, func(t *testing.T) {
			req, err := wire.DecodeRequest(tc.Payload)
			if err == nil {
				t.Fatalf("decoded %+v, want error", req)
			}
			if got := wire.CodeOf(err); got != tc.Code {
				t.Fatalf("CodeOf(%v) = %q, want %q", err, got, tc.Code)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	reqs := []*wire.Request{
		{Command: wire.CmdDispatchMessage, Target: wire.Named("genesis_obj"), MessageName: "display_yourself",
			Args:   wire.List{int64(1), "two", 3.5, nil, true, []byte{0, 1}, []any{int64(-7)}, map[string]any{"k": "v"}},
			Kwargs: wire.Map{"n": uint64(math.MaxUint64), "f": false}},
		{Command: wire.CmdInitiateCognitiveCycle, Target: wire.ByNumber(0)},
		{Command: wire.CmdInitiateCognitiveCycle, Target: wire.ByNumber(42), MissionBrief: wire.Map{"type": "self_audit"}},
		{Command: wire.CmdInspect, Target: wire.ByNumber(math.MaxUint64)},
		{Command: wire.CmdSetSlot, Target: wire.Named("o"), Slot: "x", Value: wire.Value{V: map[string]any{"a": []any{int64(1)}}}},
		{Command: wire.CmdListCycles, Limit: 10},
		{Command: wire.CmdShowCycle, CycleID: "c1"},
		{Command: wire.CmdWaitCycle, CycleID: "c1", TimeoutMS: 1500},
		{Command: wire.CmdIngest, DocID: "d", Text: "hello world", Metadata: wire.Map{"src": "t"}},
		{Command: wire.CmdSearch, Query: "q", Limit: 3, Mode: "hybrid", Filters: wire.Map{"doc_id": "d"}},
		{Command: wire.CmdStatus},
	}
	for _, req := range reqs {
		t.Run(req.Command, func(t *testing.T) {
			b, err := req.Encode(nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := wire.DecodeRequestStrict(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, req) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, req)
			}
		})
	}
}

func TestRequestKeys(t *testing.T) {
	// Every field set: strict decoding must know every key the encoder writes.
	req := &wire.Request{Command: wire.CmdSearch, Target: wire.Named("o"), MessageName: "m",
		Args: wire.List{1}, Kwargs: wire.Map{"a": 1}, MissionBrief: wire.Map{"a": 1}, Slot: "s",
		Value: wire.Value{V: 1}, Limit: 1, CycleID: "c", DocID: "d", Text: "t", Metadata: wire.Map{"a": 1},
		Query: "q", Mode: "text", Filters: wire.Map{"a": 1}, Source: "s", Version: 1, Root: "r",
		Targets: []string{"t"}, Path: "/p", DryRun: true, TimeoutMS: 1}
	b, err := req.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, _, _ := msgp.ReadMapHeaderBytes(b); n != 23 {
		t.Fatalf("encoded %d keys, want 23", n)
	}
	if _, err := wire.DecodeRequestStrict(b); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownFields(t *testing.T) {
	b := msgp.AppendMapHeader(nil, 2)
	b = msgp.AppendString(b, "command")
	b = msgp.AppendString(b, "status")
	b = msgp.AppendString(b, "extra")
	b = msgp.AppendArrayHeader(b, 1)
	b = msgp.AppendInt(b, 1)
	if _, err := wire.DecodeRequest(b); err != nil {
		t.Fatalf("lenient: %v", err)
	}
	_, err := wire.DecodeRequestStrict(b)
	var fe *wire.FieldError
	if !errors.As(err, &fe) || fe.Field != "extra" || !errors.Is(err, wire.ErrUnknownField) {
		t.Fatalf("strict: %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		req   wire.Request
		field string // "" means valid
		err   error
	}{
		{wire.Request{Command: wire.CmdStatus}, "", nil},
		{wire.Request{}, "command", wire.ErrMissingField},
		{wire.Request{Command: "nope"}, "", wire.ErrUnknownCommand},
		{wire.Request{Command: wire.CmdDispatchMessage, MessageName: "m"}, "target_oid", wire.ErrMissingField},
		{wire.Request{Command: wire.CmdDispatchMessage, Target: wire.Named("o")}, "message_name", wire.ErrMissingField},
		{wire.Request{Command: wire.CmdInitiateCognitiveCycle}, "target_oid", wire.ErrMissingField},
		{wire.Request{Command: wire.CmdInspect}, "target_oid", wire.ErrMissingField},
		{wire.Request{Command: wire.CmdSetSlot, Target: wire.Named("o")}, "slot", wire.ErrMissingField},
		{wire.Request{Command: wire.CmdShowCycle}, "cycle_id", wire.ErrMissingField},
		{wire.Request{Command: wire.CmdIngest}, "text", wire.ErrMissingField},
		{wire.Request{Command: wire.CmdSearch}, "query", wire.ErrMissingField},
		{wire.Request{Command: wire.CmdListCycles, Limit: -1}, "limit", wire.ErrInvalidField},
		{wire.Request{Command: wire.CmdWaitCycle}, "cycle_id", wire.ErrMissingField},
		{wire.Request{Command: wire.CmdWaitCycle, CycleID: "1", TimeoutMS: -1}, "timeout_ms", wire.ErrInvalidField},
		{wire.Request{Command: wire.CmdWaitCycle, CycleID: "1"}, "", nil},
		{wire.Request{Command: wire.CmdGrantCapability, Target: wire.Named("o"), Slot: "web"}, "capability", wire.ErrMissingField},
		{wire.Request{Command: wire.CmdGrantCapability, Target: wire.Named("o"), Slot: "web", Capability: "http_get"}, "", nil},
	}
	for _, tc := range tests {
		err := tc.req.Validate()
		if !errors.Is(err, tc.err) {
			t.Errorf("%+v: err %v, want %v", tc.req, err, tc.err)
			continue
		}
		var fe *wire.FieldError
		if tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field) {
			t.Errorf("%+v: err %v, want field %q", tc.req, err, tc.field)
		}
	}
}

func TestValueTypes(t *testing.T) {
	// Encoding accepts convenient Go types; decoding normalises them.
	tests := []struct {
		in, want any
	}{
		{nil, nil},
		{true, true},
		{int(-3), int64(-3)},
		{int8(-3), int64(-3)},
		{uint8(200), int64(200)},
		{uint64(math.MaxInt64), int64(math.MaxInt64)},
		{uint64(math.MaxInt64 + 1), uint64(math.MaxInt64 + 1)},
		{float32(1.5), 1.5},
		{2.25, 2.25},
		{"s", "s"},
		{[]byte("b"), []byte("b")},
		{[]string{"a", "b"}, []any{"a", "b"}},
		{[]int{1}, []any{int64(1)}},
		{[]float32{0.5}, []any{0.5}},
		{map[string]string{"k": "v"}, map[string]any{"k": "v"}},
		{wire.List{wire.Map{"x": nil}}, []any{map[string]any{"x": nil}}},
		{&wire.Request{Command: "status"}, map[string]any{"command": "status"}},
	}
	for _, tc := range tests {
		b, err := wire.Value{V: tc.in}.MarshalMsg(nil)
		if err != nil {
			t.Fatalf("%T: %v", tc.in, err)
		}
		var v wire.Value
		o, err := v.UnmarshalMsg(b)
		if err != nil || len(o) != 0 {
			t.Fatalf("%T: %v (%d left)", tc.in, err, len(o))
		}
		if !reflect.DeepEqual(v.V, tc.want) {
			t.Errorf("%T: got %#v, want %#v", tc.in, v.V, tc.want)
		}
		if n := (wire.Value{V: tc.in}).Msgsize(); n <= 0 {
			t.Errorf("%T: Msgsize %d", tc.in, n)
		}
	}
}

func TestValueLimits(t *testing.T) {
	if _, err := (wire.Value{V: make(chan int)}).MarshalMsg(nil); !errors.Is(err, wire.ErrUnsupportedType) {
		t.Errorf("chan: %v", err)
	}
	deep := any(nil)
	for range wire.MaxDepth + 2 {
		deep = []any{deep}
	}
	if _, err := (wire.Value{V: deep}).MarshalMsg(nil); !errors.Is(err, wire.ErrTooDeep) {
		t.Errorf("encode deep: %v", err)
	}
	var v wire.Value
	ok := append(bytes.Repeat([]byte{0x91}, wire.MaxDepth), 0xc0)
	if _, err := v.UnmarshalMsg(ok); err != nil {
		t.Errorf("depth %d: %v", wire.MaxDepth, err)
	}
	if _, err := v.UnmarshalMsg(append([]byte{0x91}, ok...)); !errors.Is(err, wire.ErrTooDeep) {
		t.Errorf("depth %d: %v", wire.MaxDepth+1, err)
	}
	big := msgp.AppendArrayHeader(nil, wire.MaxElements+1)
	big = append(big, make([]byte, wire.MaxElements+1)...)
	if _, err := v.UnmarshalMsg(big); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("big array: %v", err)
	}
}

func TestReply(t *testing.T) {
	rep := wire.OK("<UvmObject oid=1 slots=['parent*']>")
	b, err := rep.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := wire.DecodeReply(b)
	if err != nil || got.Status != wire.StatusOK || got.Result.V != rep.Result.V || got.Err() != nil {
		t.Fatalf("ok reply: %+v, %v", got, err)
	}
	// The result key is present even when nil, as blueprint clients expect.
	b, _ = wire.OK(nil).Encode(nil)
	if n, _, _ := msgp.ReadMapHeaderBytes(b); n != 2 {
		t.Fatalf("ok(nil) has %d keys, want 2", n)
	}
	b, _ = wire.Errorf(wire.CodeNotFound, "no object %q", "x").Encode(nil)
	got, err = wire.DecodeReply(b)
	if err != nil {
		t.Fatal(err)
	}
	var re *wire.ReplyError
	if !errors.As(got.Err(), &re) || re.Code != wire.CodeNotFound || re.Message != `no object "x"` {
		t.Fatalf("error reply: %+v", got)
	}
	bad, _ := (&wire.Reply{Status: "maybe"}).Encode(nil)
	if _, err := wire.DecodeReply(bad); !errors.Is(err, wire.ErrBadStatus) {
		t.Fatalf("bad status: %v", err)
	}
	if _, err := wire.DecodeReply([]byte{0x90}); !errors.Is(err, wire.ErrNotMap) {
		t.Fatalf("array reply: %v", err)
	}
}

func TestRef(t *testing.T) {
	for _, r := range []wire.Ref{{}, wire.Named("genesis_obj"), wire.ByNumber(0), wire.ByNumber(1 << 40)} {
		b, err := r.MarshalMsg(nil)
		if err != nil {
			t.Fatal(err)
		}
		var got wire.Ref
		if _, err := got.UnmarshalMsg(b); err != nil || got != r {
			t.Errorf("%v: got %v, %v", r, got, err)
		}
	}
	if s := wire.ByNumber(7).String(); s != "7" {
		t.Errorf("String = %q", s)
	}
}

func TestTypedResults(t *testing.T) {
	info := &wire.ObjectInfo{OID: 1, Name: "genesis_obj", Repr: "<UvmObject oid=1>",
		Parents: []wire.Ref{wire.ByNumber(0), wire.Named("traits")},
		Slots:   []wire.SlotInfo{{Name: "x", Kind: "int", Value: wire.Value{V: int64(3)}}},
		Methods: []wire.MethodInfo{{Name: "display_yourself", Source: "def display_yourself(self):\n    return repr(self)\n",
			CycleID: "c1", Findings: []wire.Finding{{Rule: "covenant", Severity: "error", Line: 2, Message: "m"}}}}}
	cycle := &wire.CycleInfo{ID: "c1", Target: wire.ByNumber(1), State: "COMPLETE",
		MissionBrief: wire.MissionBrief{Type: "unhandled_message"},
		Transitions:  []wire.Transition{{State: "IDLE", At: "2026-11-26T08:00:00Z", DurationUS: 1500}},
		Result: &wire.CycleResult{Outcome: "method installed", Lines: []string{"l"},
			Steps:   []wire.CycleStep{{State: "DECOMPOSING", Persona: "BRICK", DurationMS: 12, BudgetUS: 40}},
			Methods: []wire.MethodAttempt{{Attempt: 1, Verdict: "passed", Findings: []string{"f"}}}}}
	results := []interface {
		msgp.Marshaler
		msgp.Unmarshaler
	}{
		info, cycle, &wire.CycleList{Cycles: []wire.CycleInfo{*cycle}},
		&wire.IngestResult{DocID: "d", Chunks: 3},
		&wire.SearchResult{Hits: []wire.SearchHit{{DocID: "d", Score: 0.5, Text: "t", Metadata: wire.Map{"k": "v"}}}},
		&wire.StatusInfo{Version: "v", UptimeSeconds: 1.5, Objects: 2, Extra: wire.Map{"queue": int64(0)},
			Device: "CPU", Layers: 2, QueueCapacity: 64, FreeBytes: -1,
			Adapters: &wire.AdapterInfo{Hot: []string{"BRICK"}, HotHits: 3}},
		&wire.MissionStarted{Mission: true, Message: "m", CycleID: "7", Target: 1},
		&wire.CycleStarted{CycleID: "7"},
	}
	for _, r := range results {
		// Through the wire as a reply, then back to the typed form.
		b, err := wire.OK(r).Encode(nil)
		if err != nil {
			t.Fatalf("%T: %v", r, err)
		}
		rep, err := wire.DecodeReply(b)
		if err != nil {
			t.Fatalf("%T: %v", r, err)
		}
		if _, ok := rep.Result.V.(map[string]any); !ok {
			t.Fatalf("%T travels as %T, want a map", r, rep.Result.V)
		}
		got := reflect.New(reflect.TypeOf(r).Elem()).Interface().(msgp.Unmarshaler)
		if err := rep.Result.Decode(got); err != nil {
			t.Fatalf("%T: %v", r, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("round trip:\n got %#v\nwant %#v", got, r)
		}
	}
	var info2 wire.ObjectInfo
	if err := (wire.Value{V: "not a map"}).Decode(&info2); err == nil {
		t.Error("decoded a string into ObjectInfo")
	}
}

func TestRefValue(t *testing.T) {
	// Out through the wire and back: the one-key map is a reference.
	for _, oid := range []uint64{0, 7, math.MaxInt64, math.MaxUint64} {
		b, err := wire.Value{V: wire.RefValue(oid)}.MarshalMsg(nil)
		if err != nil {
			t.Fatal(err)
		}
		var v wire.Value
		if _, err := v.UnmarshalMsg(b); err != nil {
			t.Fatal(err)
		}
		got, ok, err := wire.AsRefValue(v.V)
		if !ok || err != nil || got != oid {
			t.Errorf("AsRefValue(%#v) = %d, %v, %v; want %d", v.V, got, ok, err, oid)
		}
	}
	for _, v := range []any{nil, int64(7), "7", map[string]any{}, map[string]any{"oid": int64(7), "x": 1},
		map[string]any{"OID": int64(7)}, []any{map[string]any{"oid": int64(7)}}} {
		if _, ok, err := wire.AsRefValue(v); ok || err != nil {
			t.Errorf("AsRefValue(%#v) = %v, %v; want not a reference", v, ok, err)
		}
	}
	for _, v := range []any{map[string]any{"oid": int64(-1)}, map[string]any{"oid": "7"},
		wire.Map{"oid": 1.5}, map[string]any{"oid": nil}} {
		if _, ok, err := wire.AsRefValue(v); !ok || !errors.Is(err, wire.ErrInvalidField) {
			t.Errorf("AsRefValue(%#v) = %v, %v; want a bad reference", v, ok, err)
		}
	}
}

func TestMission(t *testing.T) {
	ms := &wire.MissionStarted{Mission: true, Message: "dispatched", CycleID: "42", Target: 1}
	b, err := wire.OK(ms).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := wire.DecodeReply(b)
	if err != nil {
		t.Fatal(err)
	}
	// Blueprint clients read the same keys as before the type existed.
	m, _ := rep.Result.V.(map[string]any)
	if m["mission"] != true || m["cycle_id"] != "42" || m["target"] != int64(1) || m["message"] != "dispatched" || len(m) != 4 {
		t.Fatalf("mission travels as %#v", rep.Result.V)
	}
	got, ok := rep.Result.Mission()
	if !ok || !reflect.DeepEqual(got, ms) {
		t.Fatalf("Mission() = %+v, %v", got, ok)
	}
	for _, v := range []any{"<UvmObject oid=1>", nil, map[string]any{"mission": false}, map[string]any{"cycle_id": "1"}} {
		if _, ok := (wire.Value{V: v}).Mission(); ok {
			t.Errorf("Mission() of %#v is a mission", v)
		}
	}
}
