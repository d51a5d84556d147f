package sandbox

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/batos/batos/object"
)

func encodedCall() []byte {
	e := &enc{}
	e.str("m")
	e.str("def m(self, a):\n    return a\n")
	e.u64(7)
	e.u64(100)
	e.u64(10)
	e.u64(4)
	e.u64(1 << 20)
	e.values([]object.Value{object.Int(1), object.List{object.String("x"), nil}})
	e.kwargs(map[string]object.Value{"k": object.Map{"a": object.Float(2)}})
	e.u64(1)
	e.str("x")
	e.raw([]byte{stNotUnderstood, 0})
	return e.b
}

func encodedResult() []byte {
	e := &enc{}
	e.byte(stOK)
	e.str("")
	e.str("")
	e.value(object.List{object.Int(3), object.Ref(9)})
	e.u64(1)
	e.u64(7)
	e.str("x")
	e.value(object.Bytes("b"))
	return e.b
}

func TestProtoRoundTrip(t *testing.T) {
	c, err := decodeCall(encodedCall())
	if err != nil {
		t.Fatal(err)
	}
	if c.m.Selector != "m" || c.self != 7 || c.lim.maxSteps != 100 || c.maxResult != 1<<20 ||
		!object.Equal(object.List(c.args), object.List{object.Int(1), object.List{object.String("x"), nil}}) ||
		!object.Equal(object.Map(c.kwargs), object.Map{"k": object.Map{"a": object.Float(2)}}) || len(c.pre["x"]) != 2 {
		t.Fatalf("decoded call %+v", c)
	}
	res, changes, st, callErr, perr := decodeResult(encodedResult(), "m")
	if perr != nil || callErr != nil || st != stOK || !object.Equal(res, object.List{object.Int(3), object.Ref(9)}) ||
		len(changes) != 1 || changes[0].oid != 7 || changes[0].name != "x" || !object.Equal(changes[0].value, object.Bytes("b")) {
		t.Fatalf("decoded result %v %v %v %v %v", res, changes, st, callErr, perr)
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := writeFrame(w, msgResult, encodedResult()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readFrame(bufio.NewReader(bytes.NewReader(buf.Bytes())), 10); err != errFrameTooLarge {
		t.Fatalf("oversized frame: %v", err)
	}
	typ, payload, err := readFrame(bufio.NewReader(&buf), 1<<10)
	if err != nil || typ != msgResult || !bytes.Equal(payload, encodedResult()) {
		t.Fatalf("frame: %d %v", typ, err)
	}
}

// FuzzDecode feeds arbitrary payloads to the protocol decoders: they must
// return an error or a value, never panic or allocate without bound.
func FuzzDecode(f *testing.F) {
	f.Add(encodedCall())
	f.Add(encodedResult())
	f.Add(encodedPrim())
	f.Add([]byte{stFailed, 3, 'b', 'a', 'd', 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeCall(data)
		_, _ = decodePrim(data)
		_, _, _, _, _ = decodeResult(data, "m")
		var buf bytes.Buffer
		buf.Write(data)
		_, _, _ = readFrame(bufio.NewReader(&buf), 1<<16)
	})
}

// encodedPrim is a capability call request as a worker sends it.
func encodedPrim() []byte {
	e := &enc{}
	e.u64(7)
	e.str(CapabilityPrimitive)
	e.values([]object.Value{object.String("x")})
	e.kwargs(map[string]object.Value{"k": object.Int(1)})
	e.grant(grant{holder: 3, slot: "tool"})
	return e.b
}

func TestPrimRoundTrip(t *testing.T) {
	p, err := decodePrim(encodedPrim())
	if err != nil || p.recv != 7 || p.name != CapabilityPrimitive || len(p.args) != 1 || p.kwargs["k"] != object.Int(1) ||
		p.via != (grant{holder: 3, slot: "tool"}) {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := decodePrim(encodedPrim()[:5]); err == nil {
		t.Fatal("a truncated request decoded")
	}
}
