package catalog

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestDot(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 7, 256} {
		a, b := make([]float32, n), make([]float32, n)
		var want float64
		for i := range a {
			a[i], b[i] = float32(i+1), float32(2*i-3)
			want += float64(a[i]) * float64(b[i])
		}
		if got := dot(a, b); float64(got) != want {
			t.Errorf("dot(n=%d) = %v, want %v", n, got, want)
		}
	}
}

// BenchmarkDotScan scans 100k contiguous vectors, as the exact vector
// search does.
func BenchmarkDotScan(b *testing.B) {
	for _, dim := range []int{256, 1024} {
		b.Run(fmt.Sprint("dim=", dim), func(b *testing.B) {
			const n = 100000
			vecs := make([]float32, n*dim)
			for i := range vecs {
				vecs[i] = rand.Float32()
			}
			q := vecs[:dim]
			b.SetBytes(int64(4 * n * dim))
			var sink float32
			for b.Loop() {
				for i := 0; i < n; i++ {
					sink += dot(q, vecs[i*dim:(i+1)*dim])
				}
			}
			_ = sink
		})
	}
}
