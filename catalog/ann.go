package catalog

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/batos/batos/object"
)

// ANNOptions configures the approximate vector index (an inverted file:
// k-means centroids, each with the list of its vectors) that the in-memory
// index builds when the corpus is large. Below MinChunks, and for searches
// with a metadata filter, vector search is an exact scan.
type ANNOptions struct {
	// MinChunks is the live chunk count from which the approximate index
	// is used; negative means never. 0 means when the vectors hold 12.8M
	// floats: 50000 chunks of dimension 256, 3125 of dimension 4096 (the
	// exact scan costs about 5 ms there on the benchmark's 2 cores).
	MinChunks int
	// Lists is the number of centroids; 0 means sqrt(chunks).
	Lists int
	// Fraction is the share of the vectors a search scores: it scans the
	// lists nearest to the query until it has seen this many; 0 means
	// 1/16. Clusters are uneven, so a budget in vectors bounds the cost
	// better than a number of lists.
	Fraction float64
}

func (o ANNOptions) withDefaults() ANNOptions {
	if o.Fraction <= 0 {
		o.Fraction = 1.0 / 16
	}
	return o
}

// exactFloats is the vector count × dimension from which the default
// ANNOptions switch to the approximate index.
const exactFloats = 12_800_000

// minChunks is the live chunk count from which to use the approximate
// index for vectors of dimension dim; < 0 means never.
func (o ANNOptions) minChunks(dim int) int {
	if o.MinChunks != 0 || dim == 0 {
		return o.MinChunks
	}
	return max(1000, exactFloats/dim)
}

// ivf is an inverted-file index over the vectors of a memIndex.
type ivf struct {
	dim   int
	cents []float32 // len(lists) × dim, unit length
	lists [][]int32 // entry ids per centroid; may hold dead ids
	frac  float64
	built int // live chunks when built; rebuilt when the corpus doubles
}

// parallel runs fn over [0, n) split among the CPUs.
func parallel(n int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < 1024 || workers == 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() { defer wg.Done(); fn(lo, hi) }()
	}
	wg.Wait()
}

// nearest returns the centroid closest (largest dot) to v.
func (x *ivf) nearest(v []float32) int {
	best, bi := float32(math.Inf(-1)), 0
	for c := range x.lists {
		if d := dot(v, x.cents[c*x.dim:(c+1)*x.dim]); d > best {
			best, bi = d, c
		}
	}
	return bi
}

// buildIVF clusters the live vectors of m with spherical k-means on a
// sample (deterministic seed) and assigns every live vector.
func buildIVF(m *memIndex, o ANNOptions) *ivf {
	var live []int32
	for id, e := range m.entries {
		if !e.dead {
			live = append(live, int32(id))
		}
	}
	nl := o.Lists
	if nl <= 0 {
		nl = int(math.Sqrt(float64(len(live))))
	}
	nl = max(1, min(nl, len(live)))
	x := &ivf{dim: m.dim, cents: make([]float32, nl*m.dim), lists: make([][]int32, nl), frac: o.Fraction, built: len(live)}
	vec := func(id int32) []float32 { return m.vecs[int(id)*m.dim : (int(id)+1)*m.dim] }
	rng := rand.New(rand.NewPCG(1, uint64(len(live))))
	sample := live
	if len(sample) > 32*nl {
		sample = make([]int32, 32*nl)
		for i := range sample {
			sample[i] = live[rng.IntN(len(live))]
		}
	}
	for c := range nl {
		copy(x.cents[c*m.dim:], vec(sample[rng.IntN(len(sample))]))
	}
	assign := make([]int, len(sample))
	for range 6 {
		parallel(len(sample), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				assign[i] = x.nearest(vec(sample[i]))
			}
		})
		sums := make([]float32, len(x.cents))
		counts := make([]int, nl)
		for i, c := range assign {
			counts[c]++
			s := sums[c*m.dim : (c+1)*m.dim]
			for j, f := range vec(sample[i]) {
				s[j] += f
			}
		}
		for c := range nl {
			if counts[c] == 0 { // empty cluster: reseed
				copy(sums[c*m.dim:(c+1)*m.dim], vec(sample[rng.IntN(len(sample))]))
			}
			normalize(sums[c*m.dim : (c+1)*m.dim])
		}
		x.cents = sums
	}
	all := make([]int, len(live))
	parallel(len(live), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			all[i] = x.nearest(vec(live[i]))
		}
	})
	for i, c := range all {
		x.lists[c] = append(x.lists[c], live[i])
	}
	return x
}

// add puts a new entry into its nearest list.
func (x *ivf) add(id int32, v []float32) {
	c := x.nearest(v)
	x.lists[c] = append(x.lists[c], id)
}

// remap renumbers list entries after compaction (remap[id] < 0: dropped).
func (x *ivf) remap(remap []int32) {
	for c, l := range x.lists {
		out := l[:0]
		for _, id := range l {
			if r := remap[id]; r >= 0 {
				out = append(out, r)
			}
		}
		x.lists[c] = out
	}
}

// candidates returns the lists to scan for q: those nearest to q, until
// they hold frac of the vectors.
func (x *ivf) candidates(q []float32) [][]int32 {
	order := make([]scored, len(x.lists))
	total := 0
	for c := range x.lists {
		order[c] = scored{oid: object.OID(c), score: float64(dot(q, x.cents[c*x.dim:(c+1)*x.dim]))}
		total += len(x.lists[c])
	}
	slices.SortFunc(order, func(a, b scored) int {
		if better(a, b) {
			return -1
		}
		return 1
	})
	budget := int(x.frac * float64(total))
	var out [][]int32
	seen := 0
	for _, s := range order {
		if seen >= budget && len(out) > 0 {
			break
		}
		out = append(out, x.lists[s.oid])
		seen += len(x.lists[s.oid])
	}
	return out
}
