package object

import (
	"errors"
	"math"
	"testing"
	"time"
)

func sampleValues() map[string]Value {
	return map[string]Value{
		"nil":       nil,
		"true":      Bool(true),
		"false":     Bool(false),
		"int":       Int(-1 << 40),
		"maxint":    Int(math.MaxInt64),
		"float":     Float(3.25),
		"nan":       Float(math.NaN()),
		"string":    String("héllo\x00"),
		"empty":     String(""),
		"bytes":     Bytes{0, 1, 2, 255},
		"ref":       Ref(42),
		"list":      List{Int(1), String("a"), List{Ref(3)}, nil},
		"map":       Map{"a": Int(1), "b": Map{"c": List{}}},
		"primitive": Primitive("display"),
		"method": &Method{Selector: "display_yourself", Source: "def display_yourself(self):\n    return 1\n",
			Author: "ALFRED", Cycle: 9, Verdict: "passed", Findings: []string{"x"}, Created: time.Unix(1700000000, 5).UTC(), Version: 2},
		"blob": BlobRef{ID: 7, Size: 1 << 33, SHA256: [32]byte{1, 2, 3}},
	}
}

func TestEncodingRoundTrip(t *testing.T) {
	for name, v := range sampleValues() {
		t.Run(name, func(t *testing.T) {
			data, err := AppendValue(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeValue(data)
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(got, v) {
				t.Fatalf("round trip: got %s, want %s", Format(got), Format(v))
			}
		})
	}
	o := &Object{OID: 5, Slots: sampleValues()}
	data, err := AppendObject(nil, o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeObject(5, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Slots) != len(o.Slots) {
		t.Fatalf("slots: got %d, want %d", len(got.Slots), len(o.Slots))
	}
	for k, v := range o.Slots {
		if !Equal(got.Slots[k], v) {
			t.Errorf("slot %s: got %s, want %s", k, Format(got.Slots[k]), Format(v))
		}
	}
	again, _ := AppendObject(nil, got)
	if string(again) != string(data) {
		t.Error("encoding is not deterministic")
	}
}

func TestDecodeCorrupt(t *testing.T) {
	good, _ := AppendObject(nil, &Object{OID: 1, Slots: sampleValues()})
	cases := map[string][]byte{
		"empty":          {},
		"version":        {9, 0},
		"truncated":      good[:len(good)/2],
		"trailing":       append(append([]byte(nil), good...), 0),
		"huge count":     {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge string":    {1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad tag":        {1, 1, 1, 'a', 99},
		"huge list":      {1, 1, 1, 'a', tagList, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"empty name":     {1, 1, 0, tagNil},
		"short float":    {1, 1, 1, 'a', tagFloat, 1, 2},
		"short blobhash": {1, 1, 1, 'a', tagBlob, 1, 2, 3},
	}
	deep := []byte{1, 1, 1, 'a'}
	for range maxDepth + 2 {
		deep = append(deep, tagList, 1)
	}
	cases["too deep"] = append(deep, tagNil)
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeObject(1, data)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	deep := Value(nil)
	for range maxDepth + 2 {
		deep = List{deep}
	}
	for name, o := range map[string]*Object{
		"empty name": {OID: 1, Slots: map[string]Value{"": nil}},
		"nil method": {OID: 1, Slots: map[string]Value{"m": (*Method)(nil)}},
		"too deep":   {OID: 1, Slots: map[string]Value{"d": deep}},
	} {
		if _, err := AppendObject(nil, o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzDecodeObject(f *testing.F) {
	good, _ := AppendObject(nil, &Object{OID: 1, Slots: sampleValues()})
	f.Add(good)
	f.Add([]byte{1, 0})
	f.Add([]byte{1, 1, 1, 'a', tagList, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := DecodeObject(1, data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not match ErrCorrupt", err)
			}
			return
		}
		// Whatever decodes must encode and decode to the same object.
		again, err := AppendObject(nil, o)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		o2, err := DecodeObject(1, again)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		for k, v := range o.Slots {
			if !Equal(o2.Slots[k], v) {
				t.Fatalf("slot %q changed", k)
			}
		}
	})
}
