package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"
)

// allTypes has one entry of every metadata type.
var allTypes = Metadata{
	{"t.u8", uint8(200)},
	{"t.i8", int8(-100)},
	{"t.u16", uint16(60000)},
	{"t.i16", int16(-30000)},
	{"t.u32", uint32(4000000000)},
	{"t.i32", int32(-2000000000)},
	{"t.f32", float32(3.25)},
	{"t.bool", true},
	{"t.bool0", false},
	{"t.str", "héllo\x00world"},
	{"t.empty", ""},
	{"t.u64", uint64(math.MaxUint64)},
	{"t.i64", int64(math.MinInt64)},
	{"t.f64", -1.5e300},
	{"a.u8", []uint8{1, 2, 255}},
	{"a.i8", []int8{-1, 0, 127}},
	{"a.u16", []uint16{1, 65535}},
	{"a.i16", []int16{-32768, 7}},
	{"a.u32", []uint32{0, 1 << 31}},
	{"a.i32", []int32{-5, 5}},
	{"a.f32", []float32{0.5, float32(math.Inf(1))}},
	{"a.bool", []bool{true, false, true}},
	{"a.str", []string{"<s>", "", "\u2581the", "<0x0A>"}},
	{"a.u64", []uint64{math.MaxUint64}},
	{"a.i64", []int64{-1, 1}},
	{"a.f64", []float64{math.Pi}},
	{"a.empty", []string{}},
}

type testTensor struct {
	info TensorInfo
	data []byte
}

func makeTensors(t testing.TB) []testTensor {
	t.Helper()
	var out []testTensor
	for i, typ := range []TensorType{F32, F16, Q8_0, Q4_K} {
		shape := []int64{256, int64(3 + i)}
		if typ == F32 {
			shape = []int64{5} // a length that needs padding
		}
		info := TensorInfo{Name: "w." + typ.String(), Type: typ, Shape: shape}
		x := make([]float32, info.Elements())
		fillBell(x, mix(int64(i), 0, 0), 1)
		data, err := Encode(nil, typ, x)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testTensor{info, data})
	}
	// A type this package carries as raw bytes only.
	raw := make([]byte, Q6_K.RowSize(512))
	for i := range raw {
		raw[i] = byte(i)
	}
	out = append(out, testTensor{TensorInfo{Name: "w.q6k", Type: Q6_K, Shape: []int64{256, 2, 1}}, raw})
	return out
}

func writeFile(t testing.TB, md Metadata, ts []testTensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	infos := make([]TensorInfo, len(ts))
	for i := range ts {
		infos[i] = ts[i].info
	}
	w, err := NewWriter(&buf, md, infos)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range ts {
		if _, err := w.Write(tt.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, align := range []uint32{0, 1, 64, 4096} {
		md := append(Metadata(nil), allTypes...)
		if align != 0 {
			md.Set(KeyAlignment, align)
		}
		ts := makeTensors(t)
		b := writeFile(t, md, ts)
		f, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("align %d: %v", align, err)
		}
		if !reflect.DeepEqual(f.Metadata, md) {
			t.Errorf("align %d: metadata\n got %#v\nwant %#v", align, f.Metadata, md)
		}
		wantAlign := uint64(align)
		if align == 0 {
			wantAlign = DefaultAlignment
		}
		if f.Alignment != wantAlign || f.DataOffset%int64(wantAlign) != 0 {
			t.Errorf("alignment %d, data offset %d", f.Alignment, f.DataOffset)
		}
		laid, dataOff, size, err := Layout(md, []TensorInfo{ts[0].info, ts[1].info, ts[2].info, ts[3].info, ts[4].info})
		if err != nil || dataOff != f.DataOffset || size != int64(len(b)) {
			t.Errorf("Layout = %d, %d, %v; file has %d, %d", dataOff, size, err, f.DataOffset, len(b))
		}
		for i, tt := range ts {
			got, ok := f.Tensor(tt.info.Name)
			if !ok {
				t.Fatalf("tensor %q missing", tt.info.Name)
			}
			if got.Offset%wantAlign != 0 || got.Offset != laid[i].Offset || got.Type != tt.info.Type ||
				!reflect.DeepEqual(got.Shape, tt.info.Shape) {
				t.Errorf("tensor %q: %+v", tt.info.Name, got)
			}
			data, err := f.TensorData(tt.info.Name)
			if err != nil || !bytes.Equal(data, tt.data) {
				t.Errorf("tensor %q data differs (%v)", tt.info.Name, err)
			}
			if tt.info.Type.Codec() {
				vals, err := f.Float32s(tt.info.Name)
				want, _ := Decode(nil, tt.info.Type, tt.data)
				if err != nil || !reflect.DeepEqual(vals, want) {
					t.Errorf("tensor %q values differ (%v)", tt.info.Name, err)
				}
			} else if _, err := f.Float32s(tt.info.Name); !errors.Is(err, ErrUnsupported) {
				t.Errorf("Float32s of %v: %v", tt.info.Type, err)
			}
		}
		// Writing what was read gives the same bytes.
		if b2 := writeFile(t, f.Metadata, ts); !bytes.Equal(b, b2) {
			t.Errorf("align %d: rewrite differs", align)
		}
	}
}

func TestMetadataAccessors(t *testing.T) {
	md := allTypes
	if s, err := md.String("t.str"); err != nil || s != "héllo\x00world" {
		t.Errorf("String = %q, %v", s, err)
	}
	if _, err := md.String("t.u8"); !errors.Is(err, ErrType) {
		t.Errorf("String of u8: %v", err)
	}
	if _, err := md.String("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("String of missing: %v", err)
	}
	for key, want := range map[string]uint64{"t.u8": 200, "t.u16": 60000, "t.u32": 4000000000, "t.u64": math.MaxUint64} {
		if v, err := md.Uint(key); err != nil || v != want {
			t.Errorf("Uint(%s) = %d, %v", key, v, err)
		}
	}
	if _, err := md.Uint("t.i8"); !errors.Is(err, ErrType) {
		t.Errorf("Uint of negative: %v", err)
	}
	if _, err := md.Uint("t.f32"); !errors.Is(err, ErrType) {
		t.Errorf("Uint of float: %v", err)
	}
	if n, err := md.ArrayLen("a.str"); err != nil || n != 4 {
		t.Errorf("ArrayLen = %d, %v", n, err)
	}
	if f, err := md.Float32("t.f32"); err != nil || f != 3.25 {
		t.Errorf("Float32 = %v, %v", f, err)
	}
	if b, err := md.Bool("t.bool"); err != nil || !b {
		t.Errorf("Bool = %v, %v", b, err)
	}
	if s, err := md.Strings("a.str"); err != nil || len(s) != 4 {
		t.Errorf("Strings = %v, %v", s, err)
	}
}

func TestWriterErrors(t *testing.T) {
	info := TensorInfo{Name: "x", Type: F32, Shape: []int64{4}}
	for _, c := range []struct {
		name    string
		md      Metadata
		tensors []TensorInfo
	}{
		{"duplicate key", Metadata{{"a", uint8(1)}, {"a", uint8(2)}}, nil},
		{"empty key", Metadata{{"", uint8(1)}}, nil},
		{"bad value", Metadata{{"a", 3}}, nil},
		{"nested array", Metadata{{"a", [][]int32{{1}}}}, nil},
		{"alignment type", Metadata{{KeyAlignment, uint64(32)}}, nil},
		{"alignment value", Metadata{{KeyAlignment, uint32(48)}}, nil},
		{"duplicate tensor", nil, []TensorInfo{info, info}},
		{"empty name", nil, []TensorInfo{{Type: F32, Shape: []int64{1}}}},
		{"long name", nil, []TensorInfo{{Name: string(make([]byte, 64)), Type: F32, Shape: []int64{1}}}},
		{"no dims", nil, []TensorInfo{{Name: "x", Type: F32}}},
		{"5 dims", nil, []TensorInfo{{Name: "x", Type: F32, Shape: []int64{1, 1, 1, 1, 1}}}},
		{"zero dim", nil, []TensorInfo{{Name: "x", Type: F32, Shape: []int64{4, 0}}}},
		{"huge", nil, []TensorInfo{{Name: "x", Type: F32, Shape: []int64{1 << 40, 1 << 40}}}},
		{"unknown type", nil, []TensorInfo{{Name: "x", Type: 4, Shape: []int64{32}}}},
		{"row not whole blocks", nil, []TensorInfo{{Name: "x", Type: Q4_K, Shape: []int64{128, 2}}}},
	} {
		if _, err := NewWriter(&bytes.Buffer{}, c.md, c.tensors); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}

	w, err := NewWriter(&bytes.Buffer{}, nil, []TensorInfo{info})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, ErrWriter) {
		t.Errorf("Close with short tensor: %v", err)
	}
	w, _ = NewWriter(&bytes.Buffer{}, nil, []TensorInfo{info})
	if _, err := w.Write(make([]byte, 17)); !errors.Is(err, ErrWriter) {
		t.Errorf("Write past the end: %v", err)
	}
	w, _ = NewWriter(&bytes.Buffer{}, nil, []TensorInfo{info})
	w.Write(make([]byte, 16))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte{1}); !errors.Is(err, ErrWriter) {
		t.Errorf("Write after Close: %v", err)
	}
}

// A writer fed one byte at a time produces the same file.
func TestWriterSplitWrites(t *testing.T) {
	ts := makeTensors(t)
	want := writeFile(t, allTypes, ts)
	var all []byte
	infos := make([]TensorInfo, len(ts))
	for i := range ts {
		infos[i] = ts[i].info
		all = append(all, ts[i].data...)
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, allTypes, infos)
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		if _, err := w.Write(all[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Error("split writes differ")
	}
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestReadErrors(t *testing.T) {
	ts := makeTensors(t)[:2]
	good := writeFile(t, Metadata{{"general.name", "x"}, {"a.str", []string{"a", "b"}}}, ts)
	f, err := Read(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	// Offsets of the tensor infos' fields, found by re-encoding.
	_, hdr, _ := encodeHeader(f.Metadata, f.Tensors[:0])
	info0 := len(hdr)                            // first tensor info
	off0 := info0 + 8 + len("w.F32") + 4 + 8 + 4 // its data offset field

	mod := func(off int, p []byte) []byte {
		b := bytes.Clone(good)
		copy(b[off:], p)
		return b
	}
	hdrOnly := func(nt, nkv uint64, rest ...[]byte) []byte {
		return cat(append([][]byte{[]byte("GGUF"), le32(3), le64(nt), le64(nkv)}, rest...)...)
	}
	kv := func(key string, typ uint32, val ...[]byte) []byte {
		return cat(append([][]byte{le64(uint64(len(key))), []byte(key), le32(typ)}, val...)...)
	}
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"magic", mod(0, []byte("GGUG")), ErrMagic},
		{"version 1", mod(4, le32(1)), ErrVersion},
		{"version 4", mod(4, le32(4)), ErrVersion},
		{"big endian", mod(4, []byte{0, 0, 0, 3}), ErrVersion},
		{"tensor count", mod(8, le64(1<<60)), ErrTruncated},
		{"kv count", mod(16, le64(1<<40)), ErrTruncated},
		{"truncated header", good[:30], ErrTruncated},
		{"truncated data", good[:len(good)-40], ErrTruncated},
		{"bad offset", mod(off0, le64(32)), ErrInvalid},
		{"unaligned offset", mod(off0, le64(1)), ErrInvalid},
		{"dims 0", mod(info0+8+len("w.F32"), le32(0)), ErrInvalid},
		{"dims 5", mod(info0+8+len("w.F32"), le32(5)), ErrInvalid},
		{"dim 0", mod(info0+8+len("w.F32")+4, le64(0)), ErrInvalid},
		{"dim huge", mod(info0+8+len("w.F32")+4, le64(1<<63)), ErrInvalid},
		{"tensor type", mod(info0+8+len("w.F32")+4+8, le32(99)), ErrInvalid},
		{"string length", hdrOnly(0, 1, le64(1<<62)), ErrTruncated},
		{"string past end", hdrOnly(0, 1, le64(10), []byte("abc")), ErrTruncated},
		{"value type", hdrOnly(0, 1, kv("k", 13, []byte{0})), ErrInvalid},
		{"array type", hdrOnly(0, 1, kv("k", 9, le32(77), le64(0))), ErrInvalid},
		{"nested array", hdrOnly(0, 1, kv("k", 9, le32(9), le64(0))), ErrInvalid},
		{"array count", hdrOnly(0, 1, kv("k", 9, le32(10), le64(1<<40))), ErrTruncated},
		{"string array count", hdrOnly(0, 1, kv("k", 9, le32(8), le64(1<<58))), ErrTruncated},
		{"truncated value", hdrOnly(0, 1, kv("k", 10, []byte{1, 2})), ErrTruncated},
		{"duplicate key", hdrOnly(0, 2, kv("k", 0, []byte{1}), kv("k", 0, []byte{1})), ErrInvalid},
		{"empty key", hdrOnly(0, 1, kv("", 0, []byte{1}), []byte{0}), ErrInvalid},
		{"alignment type", hdrOnly(0, 1, kv(KeyAlignment, 10, le64(32))), ErrInvalid},
		{"alignment zero", hdrOnly(0, 1, kv(KeyAlignment, 4, le32(0))), ErrInvalid},
		{"alignment odd", hdrOnly(0, 1, kv(KeyAlignment, 4, le32(24))), ErrInvalid},
		{"duplicate tensor", hdrOnly(2, 0,
			le64(1), []byte("t"), le32(1), le64(8), le32(0), le64(0),
			le64(1), []byte("t"), le32(1), le64(8), le32(0), le64(32),
			make([]byte, 64)), ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(c.b), int64(len(c.b)))
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err %v is not a *FormatError", err)
			}
		})
	}
}

// Every truncation of a valid file is an error, never a panic.
func TestReadEveryTruncation(t *testing.T) {
	good := writeFile(t, allTypes, makeTensors(t))
	f, err := Read(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	last := f.Tensors[len(f.Tensors)-1]
	end := f.DataOffset + int64(last.Offset) + last.Size() // the last tensor's padding is optional
	for n := 0; n < int(end); n++ {
		if _, err := Read(bytes.NewReader(good[:n]), int64(n)); err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(good))
		}
	}
}
