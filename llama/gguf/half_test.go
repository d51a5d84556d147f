package gguf

import (
	"math"
	"testing"
)

func TestHalfRoundTripAll(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := HalfToFloat32(h)
		if math.IsNaN(float64(f)) {
			if h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
				t.Fatalf("%#04x decoded to NaN", h)
			}
			continue
		}
		if got := Float32ToHalf(f); got != h {
			t.Fatalf("half %#04x -> %v -> %#04x", h, f, got)
		}
	}
}

func TestFloat32ToHalf(t *testing.T) {
	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{0, 0},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},
		{65520, 0x7c00},                     // rounds up to Inf
		{65519, 0x7bff},                     // rounds down to max
		{1 + 1.0/2048, 0x3c00},              // tie, round to even (down)
		{1 + 3.0/2048, 0x3c02},              // tie, round to even (up)
		{float32(math.Pow(2, -24)), 0x0001}, // smallest subnormal
		{float32(math.Pow(2, -25)), 0x0000}, // tie to even: zero
		{float32(math.Pow(2, -25)) * 1.5, 0x0001},
		{float32(math.Pow(2, -14)), 0x0400}, // smallest normal
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{1e-10, 0},
	} {
		if got := Float32ToHalf(c.f); got != c.want {
			t.Errorf("Float32ToHalf(%v) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	if h := Float32ToHalf(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN -> %#04x", h)
	}
}

// Every float32 converts to the nearest half (checked against float64
// arithmetic on a sample).
func TestFloat32ToHalfNearest(t *testing.T) {
	rng := mix(3, 4, 5)
	for i := 0; i < 200000; i++ {
		f := math.Float32frombits(uint32(rng.Uint64()))
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) || math.Abs(float64(f)) > 65504 {
			continue
		}
		h := Float32ToHalf(f)
		got := float64(HalfToFloat32(h))
		err := math.Abs(got - float64(f))
		for _, n := range []uint16{h - 1, h + 1} {
			if n&0x7c00 == 0x7c00 || (n^h)&0x8000 != 0 {
				continue
			}
			if e := math.Abs(float64(HalfToFloat32(n)) - float64(f)); e < err {
				t.Fatalf("%v -> %v (%#04x), but %#04x = %v is nearer", f, got, h, n, HalfToFloat32(n))
			}
		}
	}
}
