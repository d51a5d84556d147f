package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Block layouts (as ggml defines them, little-endian):
//
//	Q8_0: 32 elements in 34 bytes: fp16 scale d, then 32 int8 q; x = d*q.
//	Q4_K: 256 elements in 144 bytes: fp16 d, fp16 dmin, 12 bytes holding
//	      eight 6-bit scales and eight 6-bit mins (one pair per 32-element
//	      sub-block), then 128 bytes of 4-bit quants; x = d*sc*q - dmin*m.
//	      Sub-blocks 2c and 2c+1 share bytes qs[32c:32c+32]: the low nibble
//	      holds sub-block 2c, the high nibble sub-block 2c+1.
//	      Scales bytes: for j < 4, bits 0-5 of byte j are sc[j] and bits 0-5
//	      of byte j+4 are m[j]; for j >= 4, byte j+4 holds the low 4 bits of
//	      sc[j] (bits 0-3) and m[j] (bits 4-7), and the top 2 bits of sc[j]
//	      and m[j] sit in bits 6-7 of bytes j-4 and j.
const (
	q8Block  = 32
	q8Bytes  = 34
	qkBlock  = 256
	q4kBytes = 144
)

// Encode appends the encoding of x as tensor type t to dst and returns the
// extended slice. len(x) must be a multiple of t's block size and every
// value finite.
func Encode(dst []byte, t TensorType, x []float32) ([]byte, error) {
	if !t.Codec() {
		return dst, fmt.Errorf("%w: cannot encode %v", ErrUnsupported, t)
	}
	bs := t.BlockSize()
	if int64(len(x))%bs != 0 {
		return dst, fmt.Errorf("%w: %d values is not a multiple of the %v block size %d", ErrInvalid, len(x), t, bs)
	}
	for _, v := range x {
		if !isFinite32(v) {
			return dst, fmt.Errorf("%w: non-finite value %v", ErrRange, v)
		}
	}
	n := len(dst)
	dst = grow(dst, int(t.RowSize(int64(len(x)))))
	out := dst[n:]
	switch t {
	case F32:
		for i, v := range x {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range x {
			h := Float32ToHalf(v)
			if h&0x7c00 == 0x7c00 {
				return dst[:n], fmt.Errorf("%w: %v overflows float16", ErrRange, v)
			}
			binary.LittleEndian.PutUint16(out[2*i:], h)
		}
	case Q8_0:
		for b := 0; b < len(x)/q8Block; b++ {
			if err := quantizeQ8_0(out[b*q8Bytes:(b+1)*q8Bytes], x[b*q8Block:(b+1)*q8Block]); err != nil {
				return dst[:n], err
			}
		}
	case Q4_K:
		var q Q4KQuantizer
		for b := 0; b < len(x)/qkBlock; b++ {
			if err := q.quantizeBlock(out[b*q4kBytes:(b+1)*q4kBytes], x[b*qkBlock:(b+1)*qkBlock]); err != nil {
				return dst[:n], err
			}
		}
	}
	return dst, nil
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n)
	copy(nb, b)
	return nb
}

// Decode decodes src, holding whole blocks of tensor type t, and appends
// the values to dst.
func Decode(dst []float32, t TensorType, src []byte) ([]float32, error) {
	if !t.Codec() {
		return dst, fmt.Errorf("%w: cannot decode %v", ErrUnsupported, t)
	}
	bb := t.BlockBytes()
	if int64(len(src))%bb != 0 {
		return dst, fmt.Errorf("%w: %d bytes is not a whole number of %v blocks", ErrInvalid, len(src), t)
	}
	nb := len(src) / int(bb)
	switch t {
	case F32:
		for i := 0; i < nb; i++ {
			dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:])))
		}
	case F16:
		for i := 0; i < nb; i++ {
			dst = append(dst, HalfToFloat32(binary.LittleEndian.Uint16(src[2*i:])))
		}
	case Q8_0:
		for b := 0; b < nb; b++ {
			blk := src[b*q8Bytes : (b+1)*q8Bytes]
			d := HalfToFloat32(binary.LittleEndian.Uint16(blk))
			for _, q := range blk[2:] {
				dst = append(dst, d*float32(int8(q)))
			}
		}
	case Q4_K:
		for b := 0; b < nb; b++ {
			dst = dequantizeQ4K(dst, src[b*q4kBytes:(b+1)*q4kBytes])
		}
	}
	return dst, nil
}

func quantizeQ8_0(out []byte, x []float32) error {
	var amax float32
	for _, v := range x {
		// Explicit comparisons: the float max builtin's NaN and signed-zero
		// handling costs several times more (inputs are already finite).
		if a := abs32(v); a > amax {
			amax = a
		}
	}
	d := amax / 127
	h := Float32ToHalf(d)
	if h&0x7c00 == 0x7c00 {
		return fmt.Errorf("%w: Q8_0 block with max |x| = %v", ErrRange, amax)
	}
	binary.LittleEndian.PutUint16(out, h)
	// Quantize against the scale as stored so rounding errors do not
	// accumulate; values clamp to ±127.
	dq := HalfToFloat32(h)
	var id float32
	if dq != 0 {
		id = 1 / dq
	}
	for i, v := range x {
		q := roundHalfAway(v * id)
		q = min(max(q, -127), 127)
		out[2+i] = byte(int8(q))
	}
	return nil
}

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

// roundHalfAway rounds to the nearest integer, halves away from zero,
// without a branch on the sign (random signs defeat branch prediction).
func roundHalfAway(f float32) int32 {
	half := math.Float32frombits(math.Float32bits(f)&(1<<31) | 0x3f000000) // ±0.5
	return int32(f + half)
}

// Q4KQuantizer quantizes float32 values to Q4_K blocks. Its zero value is
// ready to use; it holds scratch space, so one quantizer must not be used
// by two goroutines at once.
type Q4KQuantizer struct {
	q      [qkBlock]uint8
	scale  [8]float32
	minVal [8]float32
}

// Quantize appends the Q4_K encoding of x (a multiple of 256 finite
// values) to dst.
func (z *Q4KQuantizer) Quantize(dst []byte, x []float32) ([]byte, error) {
	if len(x)%qkBlock != 0 {
		return dst, fmt.Errorf("%w: %d values is not a multiple of 256", ErrInvalid, len(x))
	}
	n := len(dst)
	dst = grow(dst, len(x)/qkBlock*q4kBytes)
	for b := 0; b < len(x)/qkBlock; b++ {
		if err := z.quantizeBlock(dst[n+b*q4kBytes:n+(b+1)*q4kBytes], x[b*qkBlock:(b+1)*qkBlock]); err != nil {
			return dst[:n], err
		}
	}
	return dst, nil
}

// fitSub chooses scale s >= 0 and offset m >= 0 so that x ≈ s*q - m with
// q in [0, 15]: the min/max fit, refined by one least-squares fit of s
// and m to the q it chose, whichever has the smaller squared error.
func fitSub(x []float32) (s, m float32) {
	mn, mx := x[0], x[0]
	var sum float32 // non-finite if any value is NaN or infinite
	for _, v := range x {
		sum += v
		if v < mn {
			mn = v
		}
		if v > mx {
			mx = v
		}
	}
	if !isFinite32(sum) || !isFinite32(mn) || !isFinite32(mx) {
		return float32(math.NaN()), 0
	}
	if mn > 0 {
		mn = 0
	}
	if mx <= mn {
		return 0, -mn
	}
	s, m = (mx-mn)/15, -mn
	bestS, bestM, best := s, m, float32(math.MaxFloat32)
	n := float32(len(x))
	for pass := 0; pass < 2; pass++ {
		// One pass: the error of (s, m), and the sums for a least-squares
		// fit of x = s*q - m given the q that (s, m) chose.
		var sq, sqq, sqx, e float32
		is := 1 / s
		for _, v := range x {
			q := float32(min(max(roundNonNeg((v+m)*is), 0), 15))
			d := s*q - m - v
			e += d * d
			sq += q
			sqq += q * q
			sqx += q * v
		}
		if e < best {
			bestS, bestM, best = s, m, e
		}
		den := n*sqq - sq*sq
		if pass == 1 || den <= 0 { // a second refit gains under 2% RMS for 25% more time
			break
		}
		ns := (n*sqx - sq*sum) / den
		nm := -(sum - ns*sq) / n
		if nm < 0 { // refit with the offset pinned at zero
			nm = 0
			ns = sqx / sqq
		}
		if !(ns > 0) || !isFinite32(ns) || !isFinite32(nm) {
			break
		}
		s, m = ns, nm
	}
	return bestS, bestM
}

// roundNonNeg rounds f to the nearest integer for f >= -0.5; smaller
// values give a negative result, which callers clamp to 0.
func roundNonNeg(f float32) int32 { return int32(f + 0.5) }

func (z *Q4KQuantizer) quantizeBlock(out []byte, x []float32) error {
	var maxS, maxM float32
	for j := 0; j < 8; j++ {
		s, m := fitSub(x[32*j : 32*j+32])
		if !isFinite32(s) {
			return fmt.Errorf("%w: non-finite value in Q4_K block", ErrRange)
		}
		z.scale[j], z.minVal[j] = s, m
		maxS, maxM = max(maxS, s), max(maxM, m)
	}
	hd, hm := Float32ToHalf(maxS/63), Float32ToHalf(maxM/63)
	if hd&0x7c00 == 0x7c00 || hm&0x7c00 == 0x7c00 {
		return fmt.Errorf("%w: Q4_K block scale overflows float16", ErrRange)
	}
	d, dmin := HalfToFloat32(hd), HalfToFloat32(hm)
	binary.LittleEndian.PutUint16(out[0:], hd)
	binary.LittleEndian.PutUint16(out[2:], hm)

	var sc, mq [8]uint8
	for j := 0; j < 8; j++ {
		if d > 0 {
			sc[j] = uint8(min(max(roundNonNeg(z.scale[j]/d), 0), 63))
		}
		if dmin > 0 {
			mq[j] = uint8(min(max(roundNonNeg(z.minVal[j]/dmin), 0), 63))
		}
	}
	scales := out[4:16]
	for j := 0; j < 4; j++ {
		scales[j] = sc[j] | (sc[j+4]>>4)<<6
		scales[j+4] = mq[j] | (mq[j+4]>>4)<<6
		scales[j+8] = sc[j+4]&0xf | (mq[j+4]&0xf)<<4
	}
	// Quantize against the scales as stored.
	for j := 0; j < 8; j++ {
		step := d * float32(sc[j])
		off := dmin * float32(mq[j])
		qs := z.q[32*j : 32*j+32]
		if step == 0 {
			clear(qs)
			continue
		}
		is := 1 / step
		for i, v := range x[32*j : 32*j+32] {
			qs[i] = uint8(min(max(roundNonNeg((v+off)*is), 0), 15))
		}
	}
	qs := out[16:144]
	for c := 0; c < 4; c++ {
		lo, hi := z.q[64*c:64*c+32], z.q[64*c+32:64*c+64]
		for l := 0; l < 32; l++ {
			qs[32*c+l] = lo[l] | hi[l]<<4
		}
	}
	return nil
}

// q4kScaleMin returns the 6-bit scale and min of sub-block j.
func q4kScaleMin(scales []byte, j int) (sc, m uint8) {
	if j < 4 {
		return scales[j] & 63, scales[j+4] & 63
	}
	return scales[j+4]&0xf | (scales[j-4]>>6)<<4, scales[j+4]>>4 | (scales[j]>>6)<<4
}

func dequantizeQ4K(dst []float32, blk []byte) []float32 {
	d := HalfToFloat32(binary.LittleEndian.Uint16(blk[0:]))
	dmin := HalfToFloat32(binary.LittleEndian.Uint16(blk[2:]))
	scales := blk[4:16]
	qs := blk[16:144]
	for c := 0; c < 4; c++ {
		sc1, m1 := q4kScaleMin(scales, 2*c)
		sc2, m2 := q4kScaleMin(scales, 2*c+1)
		d1, o1 := d*float32(sc1), dmin*float32(m1)
		d2, o2 := d*float32(sc2), dmin*float32(m2)
		q := qs[32*c : 32*c+32]
		for _, b := range q {
			dst = append(dst, d1*float32(b&0xf)-o1)
		}
		for _, b := range q {
			dst = append(dst, d2*float32(b>>4)-o2)
		}
	}
	return dst
}
