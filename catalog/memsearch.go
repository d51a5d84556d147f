package catalog

import (
	"maps"
	"runtime"
	"slices"
	"sync"

	"github.com/batos/batos/object"
)

// maxDelta bounds how many versions a transaction's view may be away from
// the in-memory index for the index to be used with an overlay.
const maxDelta = 256

// deltaLocked decides whether the in-memory index can answer a search in
// tx, whose view of the catalog is st. It returns the documents whose
// state in tx may differ from the in-memory index (changed by versions
// between the two), or false when the histories cannot be reconciled.
// c.mu must be held.
func (c *Catalog) deltaLocked(tx *object.Tx, st stats) (map[string]bool, bool) {
	m := c.mem
	if m == nil {
		return nil, false
	}
	delta := map[string]bool{}
	switch {
	case st.counter == m.counter:
		return delta, st.token == m.token
	case st.counter > m.counter:
		// tx sees changes the index has not applied (its own writes, or
		// commits whose OnCommit has not run yet): read them from the
		// log in tx, after checking the two share the index's version.
		if st.counter-m.counter > maxDelta {
			return nil, false
		}
		for cnt := m.counter; cnt <= st.counter; cnt++ {
			if cnt == 0 {
				continue
			}
			b, ok, err := peekKV(tx, logKey(cnt))
			if err != nil || !ok || len(b) < 8 {
				return nil, false
			}
			if cnt == m.counter {
				if beU64(b) != m.token {
					return nil, false
				}
				continue
			}
			delta[string(b[8:])] = true
		}
		return delta, true
	default:
		// The index is ahead of tx's view: undo by overlaying tx's state
		// of the documents changed since.
		if m.counter-st.counter > maxDelta {
			return nil, false
		}
		if st.counter > 0 {
			if h, ok := m.hist[st.counter]; !ok || h.token != st.token {
				return nil, false
			}
		}
		for cnt := st.counter + 1; cnt <= m.counter; cnt++ {
			h, ok := m.hist[cnt]
			if !ok {
				return nil, false
			}
			delta[h.doc] = true
		}
		return delta, true
	}
}

// overlayChunk is a chunk read from the transaction for a changed document.
type overlayChunk struct {
	oid     object.OID
	allowed bool
	length  int
	tf      map[string]int
	vec     []float32
}

// memSearch answers a search from the in-memory index, with the changed
// documents masked out and their state in the transaction overlaid.
type memSearch struct {
	m       *memIndex
	masked  map[int32]bool
	allowed []bool // nil: no filter
	overlay []overlayChunk
}

func metaMatches(meta, filter map[string]string) bool {
	for k, v := range filter {
		if mv, ok := meta[k]; !ok || mv != v {
			return false
		}
	}
	return true
}

func (c *Catalog) newMemSearch(tx *object.Tx, delta map[string]bool, filter map[string]string) (*memSearch, error) {
	m := c.mem
	s := &memSearch{m: m}
	if len(delta) > 0 {
		s.masked = map[int32]bool{}
		for d := range delta {
			if md := m.docs[d]; md != nil {
				for _, id := range md.ids {
					s.masked[id] = true
				}
			}
		}
	}
	if len(filter) > 0 {
		s.allowed = make([]bool, len(m.entries))
		var docs map[string]struct{}
		for k, v := range filter {
			set := m.meta[string(metaPrefix(k, v))]
			if docs == nil || len(set) < len(docs) {
				docs = set
			}
		}
		for d := range docs {
			if md := m.docs[d]; md != nil && metaMatches(md.meta, filter) {
				for _, id := range md.ids {
					s.allowed[id] = true
				}
			}
		}
	}
	for _, d := range slices.Sorted(maps.Keys(delta)) {
		rec, ok, err := readDoc(tx, d)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		allowed := metaMatches(rec.meta, filter)
		for _, oid := range rec.chunks {
			b, ok, err := peekKV(tx, oidKey(preChunk, oid))
			if err != nil {
				return nil, err
			}
			if !ok {
				continue // deleted under a concurrent re-index: not a result
			}
			cr, err := decodeChunk(b)
			if err != nil {
				return nil, err
			}
			oc := overlayChunk{oid: oid, allowed: allowed, length: cr.length, tf: map[string]int{}}
			for _, t := range cr.terms {
				oc.tf[t.term] = t.tf
			}
			if b, ok, err := peekKV(tx, oidKey(preVector, oid)); err != nil {
				return nil, err
			} else if ok {
				if oc.vec, err = decodeVector(nil, b); err != nil {
					return nil, err
				}
			}
			s.overlay = append(s.overlay, oc)
		}
	}
	return s, nil
}

// usable reports whether in-memory entry id takes part in the search.
func (s *memSearch) usable(id int32) bool {
	if s.m.entries[id].dead || s.masked[id] {
		return false
	}
	return s.allowed == nil || s.allowed[id]
}

func (s *memSearch) bm25(p bm25, terms []string, depth int) []scored {
	m := s.m
	var buf *scoreBuf
	ov := make([]float64, len(s.overlay))
	for _, term := range terms {
		list := m.post[term]
		df := m.df[term]
		if len(s.masked) > 0 {
			df = 0
			for _, pst := range list {
				if !m.entries[pst.id].dead && !s.masked[pst.id] {
					df++
				}
			}
		}
		for _, oc := range s.overlay {
			if oc.tf[term] > 0 {
				df++
			}
		}
		if df == 0 {
			continue
		}
		idf := p.idf(df)
		if buf == nil && len(list) > 0 {
			buf = getScores(len(m.entries))
			defer putScores(buf)
		}
		for _, pst := range list {
			if !s.usable(pst.id) {
				continue
			}
			if buf.scores[pst.id] == 0 {
				buf.touched = append(buf.touched, pst.id)
			}
			buf.scores[pst.id] += p.weight(idf, int(pst.tf), int(m.entries[pst.id].length))
		}
		for i, oc := range s.overlay {
			if tf := oc.tf[term]; tf > 0 && oc.allowed {
				ov[i] += p.weight(idf, tf, oc.length)
			}
		}
	}
	t := &topK{k: depth}
	if buf != nil {
		for _, id := range buf.touched {
			t.offer(scored{m.entries[id].oid, buf.scores[id]})
		}
	}
	for i, oc := range s.overlay {
		if ov[i] > 0 {
			t.offer(scored{oc.oid, ov[i]})
		}
	}
	return t.sorted()
}

// scorePool recycles the dense score arrays of BM25 searches, which would
// otherwise allocate 8 bytes per chunk per query.
var scorePool sync.Pool

type scoreBuf struct {
	scores  []float64
	touched []int32
}

func getScores(n int) *scoreBuf {
	if b, ok := scorePool.Get().(*scoreBuf); ok && len(b.scores) >= n {
		b.scores = b.scores[:n]
		return b
	}
	return &scoreBuf{scores: make([]float64, n)}
}

// putScores zeroes the touched entries and returns the buffer to the pool.
func putScores(b *scoreBuf) {
	for _, id := range b.touched {
		b.scores[id] = 0
	}
	b.touched = b.touched[:0]
	scorePool.Put(b)
}

// parallelMin is the corpus size from which vector scans use every CPU.
const parallelMin = 16384

func (s *memSearch) vector(q []float32, depth int) []scored {
	m := s.m
	if m.ivf != nil && s.allowed == nil {
		return s.approxVector(q, depth)
	}
	n := len(m.entries)
	workers := 1
	if n >= parallelMin {
		workers = runtime.GOMAXPROCS(0)
	}
	tops := make([]*topK, workers)
	var wg sync.WaitGroup
	for w := range workers {
		tops[w] = &topK{k: depth}
		lo, hi := n*w/workers, n*(w+1)/workers
		scan := func() {
			t := tops[w]
			for id := lo; id < hi; id++ {
				if !s.usable(int32(id)) {
					continue
				}
				t.offer(scored{m.entries[id].oid, float64(dot(q, m.vecs[id*m.dim:(id+1)*m.dim]))})
			}
		}
		if workers == 1 {
			scan()
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); scan() }()
	}
	wg.Wait()
	t := &topK{k: depth}
	for _, w := range tops {
		for _, sc := range w.h {
			t.offer(sc)
		}
	}
	for _, oc := range s.overlay {
		if oc.allowed && len(oc.vec) == len(q) {
			t.offer(scored{oc.oid, float64(dot(q, oc.vec))})
		}
	}
	return t.sorted()
}

// approxVector scans the inverted lists nearest to q, then the overlay.
func (s *memSearch) approxVector(q []float32, depth int) []scored {
	m := s.m
	t := &topK{k: depth}
	for _, list := range m.ivf.candidates(q) {
		for _, id := range list {
			if s.usable(id) {
				t.offer(scored{m.entries[id].oid, float64(dot(q, m.vecs[int(id)*m.dim:(int(id)+1)*m.dim]))})
			}
		}
	}
	for _, oc := range s.overlay {
		if oc.allowed && len(oc.vec) == len(q) {
			t.offer(scored{oc.oid, float64(dot(q, oc.vec))})
		}
	}
	return t.sorted()
}
