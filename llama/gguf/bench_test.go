package gguf

import (
	"io"
	"testing"
	"time"
)

// reportCPU adds CPU-time metrics to a benchmark, which stay meaningful
// on a machine shared with other work, where wall-clock MB/s does not:
// cpu-ms/op is the process CPU time per operation, and cpu-MB/s the
// bytes per CPU second (for multi-goroutine benchmarks, per core).
func reportCPU(b *testing.B, start time.Duration, bytes int64) {
	cpu := processCPU() - start
	if cpu <= 0 || b.N == 0 {
		return
	}
	per := cpu.Seconds() / float64(b.N)
	b.ReportMetric(per*1e3, "cpu-ms/op")
	b.ReportMetric(float64(bytes)/per/1e6, "cpu-MB/s")
}

func benchValues(n int) []float32 {
	x := make([]float32, n)
	fillBell(x, mix(1, 2, 3), 0.02)
	return x
}

// BenchmarkQuantizeQ4K measures Q4_K quantization of bell-shaped values
// (one goroutine); SetBytes counts input float32 bytes.
func BenchmarkQuantizeQ4K(b *testing.B) {
	x := benchValues(1 << 20)
	var q Q4KQuantizer
	out := make([]byte, 0, Q4_K.RowSize(int64(len(x))))
	b.SetBytes(int64(4 * len(x)))
	start := processCPU()
	for b.Loop() {
		if _, err := q.Quantize(out[:0], x); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start, int64(4*len(x)))
}

// BenchmarkQuantizeQ8_0 measures Q8_0 quantization (one goroutine).
func BenchmarkQuantizeQ8_0(b *testing.B) {
	x := benchValues(1 << 20)
	out := make([]byte, 0, Q8_0.RowSize(int64(len(x))))
	b.SetBytes(int64(4 * len(x)))
	start := processCPU()
	for b.Loop() {
		if _, err := Encode(out[:0], Q8_0, x); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start, int64(4*len(x)))
}

// BenchmarkDecodeQ4K measures Q4_K dequantization; SetBytes counts
// output float32 bytes.
func BenchmarkDecodeQ4K(b *testing.B) {
	x := benchValues(1 << 20)
	enc, _ := Encode(nil, Q4_K, x)
	dst := make([]float32, 0, len(x))
	b.SetBytes(int64(4 * len(x)))
	start := processCPU()
	for b.Loop() {
		if _, err := Decode(dst[:0], Q4_K, enc); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start, int64(4*len(x)))
}

// BenchmarkFillBell measures the random value generator.
func BenchmarkFillBell(b *testing.B) {
	x := make([]float32, 1<<20)
	rng := mix(1, 2, 3)
	b.SetBytes(int64(4 * len(x)))
	start := processCPU()
	for b.Loop() {
		fillBell(x, rng, 0.02)
	}
	reportCPU(b, start, int64(4*len(x)))
}

// BenchmarkGenerate8BLayer measures the generator's data throughput on one
// transformer block of Llama8BShape (Q4_K, about 122 MB), written to
// io.Discard with all CPUs; SetBytes counts bytes of GGUF output.
func BenchmarkGenerate8BLayer(b *testing.B) {
	o := Llama8BShape().withDefaults()
	specs := llamaTensors(o, 256)[3:12] // blk.0.*
	var size int64
	for _, s := range specs {
		size += s.Size()
	}
	b.SetBytes(size)
	start := processCPU()
	for b.Loop() {
		if err := generateData(io.Discard, specs, 1, 0); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start, size)
}
