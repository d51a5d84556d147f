package gguf

import (
	"errors"
	"math"
	"testing"
)

func rmsErr(a, b []float32) (rms, maxAbs float64) {
	for i := range a {
		d := math.Abs(float64(a[i] - b[i]))
		rms += d * d
		maxAbs = max(maxAbs, d)
	}
	return math.Sqrt(rms / float64(len(a))), maxAbs
}

func TestCodecRoundTrip(t *testing.T) {
	const sigma = 0.02
	const bell = 4096 // x[:bell] is bell-shaped, the rest awkward cases
	x := make([]float32, bell+1024)
	fillBell(x, mix(9, 1, 1), sigma)
	clear(x[bell : bell+32]) // all zero sub-block
	for i := bell + 256; i < bell+512; i++ {
		x[i] = 0.5 + float32(i%7)*0.01 // all-positive super-block
	}
	for i := bell + 512; i < bell+768; i++ {
		x[i] = -0.3 - float32(i%5)*0.02 // all-negative super-block
	}
	x[bell+800] = 3 // outlier

	for _, c := range []struct {
		typ    TensorType
		relRMS float64 // RMS error bound, relative to sigma
	}{
		{F32, 0}, {F16, 0.001}, {Q8_0, 0.01}, {Q4_K, 0.1},
	} {
		t.Run(c.typ.String(), func(t *testing.T) {
			enc, err := Encode(nil, c.typ, x)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(enc)) != c.typ.RowSize(int64(len(x))) {
				t.Fatalf("encoded %d bytes, want %d", len(enc), c.typ.RowSize(int64(len(x))))
			}
			dec, err := Decode(nil, c.typ, enc)
			if err != nil {
				t.Fatal(err)
			}
			if len(dec) != len(x) {
				t.Fatalf("decoded %d values, want %d", len(dec), len(x))
			}
			// Per block: error within half a quantization step of the block's range.
			bs := int(max(c.typ.BlockSize(), 32))
			for b := 0; b < len(x); b += bs {
				lo, hi := float32(0), float32(0)
				for _, v := range x[b : b+bs] {
					lo, hi = min(lo, v), max(hi, v)
				}
				_, m := rmsErr(x[b:b+bs], dec[b:b+bs])
				var bound float64
				switch c.typ {
				case F16:
					bound = float64(max(-lo, hi)) / 1024
				case Q8_0:
					bound = float64(max(-lo, hi)) / 127 * 0.51
				case Q4_K:
					bound = float64(hi-lo) / 15 * 0.75
				}
				if m > bound {
					t.Errorf("block at %d: max error %g > %g", b, m, bound)
				}
			}
			r, _ := rmsErr(x[:bell], dec[:bell])
			if r > c.relRMS*sigma {
				t.Errorf("RMS error %g > %g", r, c.relRMS*sigma)
			}
			if c.typ == F32 && r != 0 {
				t.Errorf("F32 not exact")
			}
			t.Logf("%v: RMS error %.3g (%.3g sigma)", c.typ, r, r/sigma)
		})
	}
}

func TestQ4KExactValues(t *testing.T) {
	// Values on a grid x = s*q - m whose s and m are exact in float16
	// (s = 63/64 = 63*d for d = 1/64, m = 63/16 = 63*dmin for dmin = 1/16)
	// survive quantization exactly.
	x := make([]float32, 256)
	for j := 0; j < 8; j++ {
		for i := 0; i < 32; i++ {
			x[32*j+i] = 63.0/64*float32((i+j)%16) - 63.0/16
		}
	}
	enc, err := Encode(nil, Q4_K, x)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := Decode(nil, Q4_K, enc)
	if r, m := rmsErr(x, dec); m > 1e-6 {
		t.Errorf("grid values: RMS %g, max %g", r, m)
	}
}

func TestQ4KScalePacking(t *testing.T) {
	// Every 6-bit scale/min pair survives the 12-byte packing.
	rng := mix(1, 1, 1)
	for iter := 0; iter < 2000; iter++ {
		var sc, m [8]uint8
		u := rng.Uint64()
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			sc[j] = uint8(u>>(6*j)) & 63
			m[j] = uint8(v>>(6*j)) & 63
		}
		var scales [12]byte
		for j := 0; j < 4; j++ {
			scales[j] = sc[j] | (sc[j+4]>>4)<<6
			scales[j+4] = m[j] | (m[j+4]>>4)<<6
			scales[j+8] = sc[j+4]&0xf | (m[j+4]&0xf)<<4
		}
		for j := 0; j < 8; j++ {
			gs, gm := q4kScaleMin(scales[:], j)
			if gs != sc[j] || gm != m[j] {
				t.Fatalf("sub-block %d: got (%d,%d), want (%d,%d)", j, gs, gm, sc[j], m[j])
			}
		}
	}
}

func TestQ4KLayout(t *testing.T) {
	// A hand-built block decodes as the published layout says.
	blk := make([]byte, 144)
	blk[0], blk[1] = 0x00, 0x3c // d = 1
	blk[2], blk[3] = 0x00, 0x38 // dmin = 0.5
	// sc = {1,2,3,4,17,18,19,20}, m = {0,1,2,3,16,17,18,19}
	sc := []uint8{1, 2, 3, 4, 17, 18, 19, 20}
	m := []uint8{0, 1, 2, 3, 16, 17, 18, 19}
	for j := 0; j < 4; j++ {
		blk[4+j] = sc[j] | (sc[j+4]>>4)<<6
		blk[8+j] = m[j] | (m[j+4]>>4)<<6
		blk[12+j] = sc[j+4]&0xf | (m[j+4]&0xf)<<4
	}
	for i := 0; i < 128; i++ {
		blk[16+i] = byte(i%16) | byte(15-i%16)<<4
	}
	dec, err := Decode(nil, Q4_K, blk)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 8; j++ {
		for l := 0; l < 32; l++ {
			var q int
			if j%2 == 0 {
				q = l % 16
			} else {
				q = 15 - l%16
			}
			want := float32(sc[j])*float32(q) - 0.5*float32(m[j])
			if got := dec[32*j+l]; got != want {
				t.Fatalf("element %d of sub-block %d = %v, want %v", l, j, got, want)
			}
		}
	}
}

func TestQ8_0Layout(t *testing.T) {
	blk := make([]byte, 34)
	blk[0], blk[1] = 0x00, 0x38 // d = 0.5
	for i := 0; i < 32; i++ {
		blk[2+i] = byte(int8(8*i - 127))
	}
	dec, _ := Decode(nil, Q8_0, blk)
	for i, v := range dec {
		if want := 0.5 * float32(8*i-127); v != want {
			t.Fatalf("element %d = %v, want %v", i, v, want)
		}
	}
	enc, err := Encode(nil, Q8_0, dec)
	if err != nil {
		t.Fatal(err)
	}
	dec2, _ := Decode(nil, Q8_0, enc)
	if r, _ := rmsErr(dec, dec2); r != 0 {
		t.Errorf("re-encode error %g", r)
	}
}

func TestEncodeErrors(t *testing.T) {
	nan := make([]float32, 256)
	nan[7] = float32(math.NaN())
	var q Q4KQuantizer
	if _, err := q.Quantize(nil, nan); !errors.Is(err, ErrRange) {
		t.Errorf("Q4KQuantizer with NaN: %v", err)
	}
	inf := make([]float32, 256)
	inf[3] = float32(math.Inf(-1))
	big := make([]float32, 256)
	big[0] = 1e30
	for _, c := range []struct {
		name string
		typ  TensorType
		x    []float32
		want error
	}{
		{"nan q4k", Q4_K, nan, ErrRange},
		{"inf q8", Q8_0, inf, ErrRange},
		{"nan f32", F32, nan, ErrRange},
		{"f16 overflow", F16, big, ErrRange},
		{"q8 overflow", Q8_0, big, ErrRange},
		{"q4k overflow", Q4_K, big, ErrRange},
		{"partial block", Q4_K, make([]float32, 100), ErrInvalid},
		{"unsupported", Q6_K, make([]float32, 256), ErrUnsupported},
	} {
		if _, err := Encode(nil, c.typ, c.x); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := Decode(nil, Q4_K, make([]byte, 100)); !errors.Is(err, ErrInvalid) {
		t.Errorf("partial block decode: %v", err)
	}
	if _, err := Decode(nil, Q5_K, make([]byte, 176)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unsupported decode: %v", err)
	}
}

func TestRandomBlocks(t *testing.T) {
	const sigma = 0.02
	for _, typ := range []TensorType{Q4_K, Q8_0} {
		var enc []byte
		if typ == Q4_K {
			enc = randomQ4K(nil, 1<<16, mix(1, 2, 3), sigma)
		} else {
			enc = randomQ8_0(nil, 1<<16, mix(1, 2, 3), sigma)
		}
		dec, err := Decode(nil, typ, enc)
		if err != nil {
			t.Fatal(err)
		}
		var sum, sq float64
		for _, v := range dec {
			if !isFinite32(v) {
				t.Fatalf("%v: non-finite %v", typ, v)
			}
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		n := float64(len(dec))
		mean, std := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
		if math.Abs(mean) > sigma/20 || math.Abs(std-sigma) > sigma/20 {
			t.Errorf("%v: mean %g, std %g, want 0 and %g", typ, mean, std, sigma)
		}
	}
}
