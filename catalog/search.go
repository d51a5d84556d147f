package catalog

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/batos/batos/object"
)

// Mode selects the ranking of a search.
type Mode int

const (
	// Auto (the zero Mode) means Hybrid when the Catalog has an Embedder
	// whose vectors are stored (see Reembed) and BM25 otherwise.
	Auto Mode = iota
	// BM25 ranks chunks by Okapi BM25 over stemmed terms.
	BM25
	// Vector ranks chunks by cosine similarity of embeddings (exact).
	Vector
	// Hybrid fuses the BM25 and vector rankings by reciprocal rank fusion.
	Hybrid
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case Auto:
		return "auto"
	case BM25:
		return "bm25"
	case Vector:
		return "vector"
	case Hybrid:
		return "hybrid"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Query is a search request.
type Query struct {
	// Text is the query text.
	Text string
	// Mode is the ranking; the zero value is Auto.
	Mode Mode
	// Limit is the number of results; 0 means Options.Limit.
	Limit int
	// Filter keeps only chunks whose document metadata has every key with
	// exactly the given value.
	Filter map[string]string
}

// Result is one ranked chunk.
type Result struct {
	DocID    string
	Chunk    int        // index of the chunk in its document
	ChunkOID object.OID // the chunk object
	Text     string
	// Score is the BM25 score, the cosine similarity, or the reciprocal
	// rank fusion score, by mode; higher is better.
	Score float64
	Meta  map[string]string
}

// scored is a candidate chunk with its score.
type scored struct {
	oid   object.OID
	score float64
}

// better orders candidates: higher score first, then lower OID, so rankings
// are deterministic.
func better(a, b scored) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.oid < b.oid
}

// topK keeps the k best candidates in a min-heap (worst at the root).
type topK struct {
	k int
	h []scored
}

func (t *topK) Len() int           { return len(t.h) }
func (t *topK) Less(i, j int) bool { return better(t.h[j], t.h[i]) }
func (t *topK) Swap(i, j int)      { t.h[i], t.h[j] = t.h[j], t.h[i] }
func (t *topK) Push(x any)         { t.h = append(t.h, x.(scored)) }
func (t *topK) Pop() any           { x := t.h[len(t.h)-1]; t.h = t.h[:len(t.h)-1]; return x }

func (t *topK) offer(s scored) {
	if len(t.h) < t.k {
		heap.Push(t, s)
	} else if t.k > 0 && better(s, t.h[0]) {
		t.h[0] = s
		heap.Fix(t, 0)
	}
}

// sorted returns the kept candidates, best first.
func (t *topK) sorted() []scored {
	out := slices.Clone(t.h)
	slices.SortFunc(out, func(a, b scored) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
	return out
}

// bm25 holds the corpus-level numbers of a BM25 scoring.
type bm25 struct {
	k1, b, n, avg float64
}

func (p bm25) idf(df int) float64 {
	return math.Log(1 + (p.n-float64(df)+0.5)/(float64(df)+0.5))
}

func (p bm25) weight(idf float64, tf, length int) float64 {
	f := float64(tf)
	return idf * f * (p.k1 + 1) / (f + p.k1*(1-p.b+p.b*float64(length)/p.avg))
}

// Search ranks the chunks visible in tx (committed ones and tx's own
// uncommitted writes) for q. Blank query text gives no results. Searching
// never makes tx conflict at commit.
func (c *Catalog) Search(ctx context.Context, tx *object.Tx, q Query) ([]Result, error) {
	if strings.TrimSpace(q.Text) == "" {
		return nil, nil
	}
	mode := q.Mode
	if mode == Auto {
		mode = BM25
		if c.emb != nil {
			mode = Hybrid
			// While another embedder's vectors are being replaced, Auto
			// is BM25 (Vector and Hybrid fail with ErrEmbedderChanged).
			if st, err := readStats(tx, false); err == nil && c.checkVectors(tx, st) != nil {
				mode = BM25
			}
		}
	}
	if mode < BM25 || mode > Hybrid {
		return nil, fmt.Errorf("%w: %d", ErrMode, int(mode))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = c.opts.Limit
	}
	depth := limit
	if mode == Hybrid {
		depth = c.opts.Depth
		if depth <= 0 {
			depth = max(5*limit, 50)
		}
	}
	st, err := readStats(tx, false)
	if err != nil {
		return nil, err
	}
	var qvec []float32
	if mode != BM25 {
		if c.emb == nil {
			return nil, ErrNoEmbedder
		}
		if err := c.checkVectors(tx, st); err != nil {
			return nil, err
		}
		vecs, err := embedBatched(ctx, c.emb, []string{q.Text}, 1)
		if err != nil {
			return nil, err
		}
		qvec = vecs[0]
		normalize(qvec)
		if st.dim != 0 && int(st.dim) != len(qvec) {
			return nil, fmt.Errorf("%w: index has %d, query has %d", ErrDimension, st.dim, len(qvec))
		}
	}
	terms := slices.Compact(slices.Sorted(slices.Values(Terms(q.Text))))
	params := bm25{k1: c.opts.K1, b: c.opts.B, n: float64(st.chunks), avg: st.avgLen()}

	var lex, vec []scored
	c.mu.RLock()
	delta, ok := c.deltaLocked(tx, st)
	if ok {
		var s *memSearch
		s, err = c.newMemSearch(tx, delta, q.Filter)
		if err == nil && s == nil {
			err = fmt.Errorf("%w: no in-memory search", ErrCorrupt)
		}
		if err == nil {
			// The two rankings of a hybrid search run in parallel; both
			// only read the in-memory index. A panic in the goroutine
			// would end the process: it comes back as an error.
			done := make(chan struct{})
			var crashed any
			go func() {
				defer close(done)
				defer func() { crashed = recover() }()
				if mode != Vector {
					lex = s.bm25(params, terms, depth)
				}
			}()
			if mode != BM25 && st.dim != 0 {
				vec = s.vector(qvec, depth)
			}
			<-done
			if crashed != nil {
				err = fmt.Errorf("catalog: BM25 ranking failed: %v", crashed)
			}
		}
		c.mu.RUnlock()
	} else {
		c.mu.RUnlock()
		var s *scanSearch
		s, err = newScanSearch(tx, q.Filter)
		if err == nil && mode != Vector {
			lex, err = s.bm25(params, terms, depth)
		}
		if err == nil && mode != BM25 && st.dim != 0 {
			vec, err = s.vector(qvec, depth)
		}
	}
	if err != nil {
		return nil, err
	}
	var ranked []scored
	switch mode {
	case BM25:
		ranked = lex
	case Vector:
		ranked = vec
	default:
		ranked = fuse(c.opts.RRFK, limit, lex, vec)
	}
	if len(ranked) > limit {
		ranked = ranked[:limit]
	}
	return materialize(tx, ranked)
}

// fuse combines rankings by reciprocal rank fusion: score = sum of
// 1/(k + rank), rank counted from 1.
func fuse(k float64, limit int, lists ...[]scored) []scored {
	sum := map[object.OID]float64{}
	for _, l := range lists {
		for r, s := range l {
			sum[s.oid] += 1 / (k + float64(r+1))
		}
	}
	t := &topK{k: limit}
	for _, oid := range slices.Sorted(maps.Keys(sum)) {
		t.offer(scored{oid, sum[oid]})
	}
	return t.sorted()
}

// materialize loads the chunk objects of the ranked candidates.
func materialize(tx *object.Tx, ranked []scored) ([]Result, error) {
	out := make([]Result, 0, len(ranked))
	for _, s := range ranked {
		o, err := tx.Get(s.oid)
		if errors.Is(err, object.ErrNotFound) {
			continue // removed by a re-index the ranking did not see
		}
		if err != nil {
			return nil, fmt.Errorf("catalog: chunk %d: %w", s.oid, err)
		}
		r := Result{ChunkOID: s.oid, Score: s.score, Meta: map[string]string{}}
		if v, ok := o.Get(SlotDocID); ok {
			if str, ok := v.(object.String); ok {
				r.DocID = string(str)
			}
		}
		if v, ok := o.Get(SlotIndex); ok {
			if i, ok := v.(object.Int); ok {
				r.Chunk = int(i)
			}
		}
		if v, ok := o.Get(SlotText); ok {
			if str, ok := v.(object.String); ok {
				r.Text = string(str)
			}
		}
		if v, ok := o.Get(SlotMetadata); ok {
			if m, ok := v.(object.Map); ok {
				for k, x := range m {
					if str, ok := x.(object.String); ok {
						r.Meta[k] = string(str)
					}
				}
			}
		}
		out = append(out, r)
	}
	return out, nil
}
