// Package catalogtest provides test helpers for code that uses the catalog:
// a deterministic Embedder that needs no model.
package catalogtest

import (
	"context"
	"hash/fnv"
	"math"

	"github.com/batos/batos/catalog"
)

// DefaultDim is the dimension HashEmbedder uses when Dim is 0.
const DefaultDim = 256

// HashEmbedder is a deterministic catalog.Embedder for tests: it hashes each
// stemmed term of a text (catalog.Terms) into one of Dim buckets with a
// pseudo-random sign, and L2-normalizes the sum. Texts sharing vocabulary
// get high cosine similarity, texts with none get about zero, so it behaves
// like a (very) crude sentence encoder. A text without terms maps to the
// first basis vector.
//
// The zero value is ready to use. It is safe for concurrent use.
type HashEmbedder struct {
	// Dim is the vector dimension; 0 means DefaultDim.
	Dim int
}

var _ catalog.Embedder = HashEmbedder{}

// Embed implements catalog.Embedder.
func (h HashEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dim := h.Dim
	if dim <= 0 {
		dim = DefaultDim
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = h.vector(t, dim)
	}
	return out, nil
}

func (h HashEmbedder) vector(text string, dim int) []float32 {
	v := make([]float32, dim)
	for _, term := range catalog.Terms(text) {
		f := fnv.New64a()
		f.Write([]byte(term))
		x := f.Sum64()
		sign := float32(1)
		if x>>63 == 1 {
			sign = -1
		}
		v[x%uint64(dim)] += sign
	}
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		v[0] = 1
		return v
	}
	inv := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= inv
	}
	return v
}
