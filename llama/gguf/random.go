package gguf

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// fillBell fills x with deterministic pseudo-random values of mean 0 and
// standard deviation sigma. Each value is the sum of four uniform 16-bit
// draws (an Irwin-Hall distribution: bell-shaped and bounded at
// ±2·sqrt(3)·sigma, so always finite), cheap enough to generate billions.
func fillBell(x []float32, rng *rand.PCG, sigma float32) {
	// Sum of 4 U(0,1) has mean 2 and variance 1/3.
	k := sigma * float32(math.Sqrt(3)) / 65536
	off := float32(2 * 65536)
	for i := range x {
		u := rng.Uint64()
		s := float32(u&0xffff) + float32(u>>16&0xffff) + float32(u>>32&0xffff) + float32(u>>48)
		x[i] = (s + 2 - off) * k
	}
}

// mix derives a PCG stream from a seed and two indices.
func mix(seed int64, a, b uint64) *rand.PCG {
	h := uint64(seed)*0x9e3779b97f4a7c15 ^ a*0xbf58476d1ce4e5b9 ^ b*0x94d049bb133111eb
	h ^= h >> 31
	return rand.NewPCG(h, a<<32|b)
}

// Random quantized blocks are drawn directly (without generating and
// quantizing float values) when a generated model's weights only need to
// be random, finite and of the right scale: it is many times faster.
//
// Q4_K: every sub-block gets a random 6-bit scale sc in [32, 63] and
// min m = sc, with dmin = 7.5·d, so x = d·sc·(q − 7.5) for uniform q in
// [0, 15]: symmetric around 0 with standard deviation d·rms(sc)·4.61.
// Q8_0: x = d·q for uniform q in [−127, 127], standard deviation d·73.6.

// randomQ4K appends n/256 random Q4_K blocks with standard deviation
// sigma to dst.
func randomQ4K(dst []byte, n int64, rng *rand.PCG, sigma float32) []byte {
	// rms of sc uniform in [32,63] is sqrt(47.5² + (32²−1)/12) ≈ 48.38;
	// std of q − 7.5 for uniform q in [0,15] is sqrt(255/12) ≈ 4.610.
	d := Float32ToHalf(sigma / (48.38 * 4.610))
	dmin := Float32ToHalf(7.5 * HalfToFloat32(d))
	for b := int64(0); b < n/qkBlock; b++ {
		var blk [q4kBytes]byte
		binary.LittleEndian.PutUint16(blk[0:], d)
		binary.LittleEndian.PutUint16(blk[2:], dmin)
		u := rng.Uint64()
		var sc [8]uint8
		for j := range sc {
			sc[j] = 32 + uint8(u>>(5*j))&31
		}
		for j := 0; j < 4; j++ { // m[j] = sc[j]
			blk[4+j] = sc[j] | (sc[j+4]>>4)<<6
			blk[8+j] = sc[j] | (sc[j+4]>>4)<<6
			blk[12+j] = sc[j+4]&0xf | (sc[j+4]&0xf)<<4
		}
		for i := 16; i < q4kBytes; i += 8 {
			binary.LittleEndian.PutUint64(blk[i:], rng.Uint64())
		}
		dst = append(dst, blk[:]...)
	}
	return dst
}

// randomQ8_0 appends n/32 random Q8_0 blocks with standard deviation
// sigma to dst.
func randomQ8_0(dst []byte, n int64, rng *rand.PCG, sigma float32) []byte {
	d := Float32ToHalf(sigma / 73.6)
	for b := int64(0); b < n/q8Block; b++ {
		var blk [q8Bytes]byte
		binary.LittleEndian.PutUint16(blk[0:], d)
		for i := 2; i < q8Bytes; i += 8 {
			u := rng.Uint64()
			for k := 0; k < 8 && i+k < q8Bytes; k++ {
				// map a random byte onto [-127, 127]
				r := int32(u>>(8*k)) & 0xff
				blk[i+k] = byte(int8(r*255>>8 - 127))
			}
		}
		dst = append(dst, blk[:]...)
	}
	return dst
}
