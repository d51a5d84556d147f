package catalog

import (
	"context"
	"fmt"

	"github.com/batos/batos/object"
)

// memChunk is a chunk as a change carries it to the in-memory index.
type memChunk struct {
	oid    object.OID
	doc    string
	index  int
	length int
	terms  []termFreq
	vec    []float32
}

// memEntry is a chunk slot of the in-memory index.
type memEntry struct {
	oid    object.OID
	doc    string
	length int32
	dead   bool
}

type memDoc struct {
	ids  []int32
	meta map[string]string
}

type posting struct {
	id int32
	tf int32
}

type histEntry struct {
	token uint64
	doc   string
}

// memIndex mirrors the committed catalog in memory: postings, document
// frequencies, metadata and the vectors in one contiguous slab. It is
// changed only by Load and by committed changes applied in version order,
// under Catalog.mu.
type memIndex struct {
	counter, token uint64
	dim            int

	entries []memEntry
	byOID   map[object.OID]int32
	docs    map[string]*memDoc
	meta    map[string]map[string]struct{} // string(metaPrefix(k, v)) -> doc ids
	post    map[string][]posting           // ascending id; may hold dead ids
	df      map[string]int                 // live chunks per term
	vecs    []float32                      // entries[i]'s vector at i*dim
	dead    int

	hist map[uint64]histEntry // the last logKeep changes by counter

	ann ANNOptions
	ivf *ivf // approximate vector index; nil below ann.MinChunks
}

// maybeIndexVectors builds, rebuilds (when the corpus doubled) or drops the
// approximate vector index.
func (m *memIndex) maybeIndexVectors() {
	live, minChunks := m.live(), m.ann.minChunks(m.dim)
	switch {
	case minChunks < 0 || m.dim == 0 || live < minChunks/2:
		m.ivf = nil
	case live >= minChunks && (m.ivf == nil || live >= 2*m.ivf.built):
		m.ivf = buildIVF(m, m.ann)
	}
}

func newMemIndex() *memIndex {
	return &memIndex{
		byOID: map[object.OID]int32{},
		docs:  map[string]*memDoc{},
		meta:  map[string]map[string]struct{}{},
		post:  map[string][]posting{},
		df:    map[string]int{},
		hist:  map[uint64]histEntry{},
	}
}

func (m *memIndex) live() int { return len(m.entries) - m.dead }

func (m *memIndex) addDoc(docID string, meta map[string]string) *memDoc {
	d := &memDoc{meta: meta}
	m.docs[docID] = d
	for k, v := range meta {
		key := string(metaPrefix(k, v))
		set := m.meta[key]
		if set == nil {
			set = map[string]struct{}{}
			m.meta[key] = set
		}
		set[docID] = struct{}{}
	}
	return d
}

func (m *memIndex) removeDoc(docID string) {
	d := m.docs[docID]
	if d == nil {
		return
	}
	for k, v := range d.meta {
		key := string(metaPrefix(k, v))
		delete(m.meta[key], docID)
		if len(m.meta[key]) == 0 {
			delete(m.meta, key)
		}
	}
	delete(m.docs, docID)
}

// addChunk appends a live chunk; its vector must have m.dim floats (or the
// index has no dimension yet).
func (m *memIndex) addChunk(d *memDoc, c memChunk) {
	if m.dim == 0 {
		m.dim = len(c.vec)
	}
	id := int32(len(m.entries))
	m.entries = append(m.entries, memEntry{oid: c.oid, doc: c.doc, length: int32(c.length)})
	m.byOID[c.oid] = id
	d.ids = append(d.ids, id)
	for _, t := range c.terms {
		m.post[t.term] = append(m.post[t.term], posting{id, int32(t.tf)})
		m.df[t.term]++
	}
	vec := c.vec
	if len(vec) != m.dim {
		vec = make([]float32, m.dim) // cannot happen: Index checks dimensions
	}
	m.vecs = append(m.vecs, vec...)
	if m.ivf != nil {
		m.ivf.add(id, vec)
	}
}

// killChunk marks a chunk dead; terms are its terms, for df.
func (m *memIndex) killChunk(oid object.OID, terms []string) {
	id, ok := m.byOID[oid]
	if !ok {
		return
	}
	delete(m.byOID, oid)
	m.entries[id].dead = true
	m.dead++
	for _, t := range terms {
		if m.df[t]--; m.df[t] <= 0 {
			delete(m.df, t)
		}
	}
}

// applyChange applies one committed change whose counter is m.counter+1.
func (m *memIndex) applyChange(ch *change) {
	for i, oid := range ch.removed {
		var terms []string
		if i < len(ch.removedTerms) {
			terms = ch.removedTerms[i]
		}
		m.killChunk(oid, terms)
	}
	m.removeDoc(ch.docID)
	if ch.present {
		d := m.addDoc(ch.docID, ch.meta)
		for _, c := range ch.added {
			m.addChunk(d, c)
		}
	}
	m.counter, m.token = ch.counter, ch.token
	m.hist[ch.counter] = histEntry{ch.token, ch.docID}
	delete(m.hist, ch.counter-logKeep)
	if m.dead > 1024 && m.dead > len(m.entries)/2 {
		m.compact()
	}
	m.maybeIndexVectors()
}

// compact drops dead entries, renumbering the live ones.
func (m *memIndex) compact() {
	remap := make([]int32, len(m.entries))
	var entries []memEntry
	var vecs []float32
	for id, e := range m.entries {
		if e.dead {
			remap[id] = -1
			continue
		}
		remap[id] = int32(len(entries))
		m.byOID[e.oid] = remap[id]
		entries = append(entries, e)
		vecs = append(vecs, m.vecs[id*m.dim:(id+1)*m.dim]...)
	}
	for term, list := range m.post {
		out := list[:0]
		for _, p := range list {
			if r := remap[p.id]; r >= 0 {
				out = append(out, posting{r, p.tf})
			}
		}
		if len(out) == 0 {
			delete(m.post, term)
		} else {
			m.post[term] = out
		}
	}
	for _, d := range m.docs {
		out := d.ids[:0]
		for _, id := range d.ids {
			if r := remap[id]; r >= 0 {
				out = append(out, r)
			}
		}
		d.ids = out
	}
	m.entries, m.vecs, m.dead = entries, vecs, 0
	if m.ivf != nil {
		m.ivf.remap(remap)
	}
}

// apply hands a committed change to the in-memory index, in version order:
// OnCommit callbacks of concurrent transactions may run out of order, so
// early arrivals wait in c.pending.
func (c *Catalog) apply(ch *change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loading {
		// Load's new index may or may not include this change; it sorts
		// that out when it installs the index.
		c.loadBuf = append(c.loadBuf, ch)
	}
	if c.mem == nil {
		return
	}
	if c.pending == nil {
		c.pending = map[uint64]*change{}
	}
	c.pending[ch.counter] = ch
	c.drainLocked()
}

// drainLocked applies the pending changes that follow c.mem's version.
func (c *Catalog) drainLocked() {
	if c.mem == nil {
		return
	}
	for cnt := range c.pending {
		if cnt <= c.mem.counter {
			delete(c.pending, cnt)
		}
	}
	for {
		ch, ok := c.pending[c.mem.counter+1]
		if !ok {
			break
		}
		delete(c.pending, ch.counter)
		c.mem.applyChange(ch)
	}
	if len(c.pending) > logKeep {
		// A change never arrived; the in-memory index cannot catch up.
		c.mem, c.pending = nil, nil
	}
}

// Load builds the in-memory index from the committed state of s, so that
// searches no longer scan the store. Committed changes keep it current
// (through tx.OnCommit); a search in a transaction that has its own
// uncommitted index writes, or that sees commits not yet applied, overlays
// those documents from the transaction. Call Load again if Stale reports
// true.
func (c *Catalog) Load(ctx context.Context, s *object.Store) error {
	c.mu.Lock()
	c.loading = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.loading, c.loadBuf = false, nil
		c.mu.Unlock()
	}()
	// A View reads one snapshot, so the scan sees one consistent state
	// of the catalog; changes committed meanwhile arrive in loadBuf.
	var m *memIndex
	if err := s.View(ctx, func(tx *object.Tx) error {
		var err error
		m, err = loadOnce(tx)
		return err
	}); err != nil {
		return err
	}
	m.ann = c.opts.ANN
	m.maybeIndexVectors()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mem, c.store = m, s
	c.pending = map[uint64]*change{}
	for _, ch := range c.loadBuf {
		if ch.counter > m.counter {
			c.pending[ch.counter] = ch
		}
	}
	c.loadBuf = nil
	c.drainLocked()
	return nil
}

// Stale reports whether the Catalog has no usable in-memory index (Load was
// not called, or a committed change went missing); searches then scan the
// store.
func (c *Catalog) Stale() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mem == nil
}

// loadOnce reads the whole catalog through tx, a View: its scans all read
// the View's one snapshot.
func loadOnce(tx *object.Tx) (*memIndex, error) {
	st, err := readStats(tx, false)
	if err != nil {
		return nil, err
	}
	m := newMemIndex()
	m.counter, m.token, m.dim = st.counter, st.token, int(st.dim)
	err = tx.ScanKV([]byte(preDoc), func(k, v []byte) error {
		d, err := decodeDoc(v)
		if err != nil {
			return err
		}
		m.addDoc(string(k[len(preDoc):]), d.meta)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = tx.ScanKV([]byte(preChunk), func(k, v []byte) error {
		if len(k) != len(preChunk)+8 {
			return fmt.Errorf("%w: chunk key", ErrCorrupt)
		}
		oid := object.OID(beU64(k[len(preChunk):]))
		rec, err := decodeChunk(v)
		if err != nil {
			return err
		}
		d := m.docs[rec.docID]
		if d == nil {
			return fmt.Errorf("%w: chunk %d of unknown document %q", ErrCorrupt, oid, rec.docID)
		}
		m.addChunk(d, memChunk{oid: oid, doc: rec.docID, index: rec.index, length: rec.length, terms: rec.terms, vec: make([]float32, m.dim)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// While vectors are re-embedded for an embedder of another dimension
	// they have two sizes; vector search is refused until it is done
	// (and Reembed then loads again), so the others count as zero.
	rec, _, err := readEmbedRec(tx, false)
	if err != nil {
		return nil, err
	}
	m.vecs = m.vecs[:0]
	next := 0
	err = tx.ScanKV([]byte(preVector), func(k, v []byte) error {
		oid := object.OID(beU64(k[len(preVector):]))
		if next >= len(m.entries) || m.entries[next].oid != oid || (len(v) != 4*m.dim && rec.target == "") {
			return fmt.Errorf("%w: vector %d does not match chunks", ErrCorrupt, oid)
		}
		next++
		if len(v) != 4*m.dim {
			m.vecs = append(m.vecs, make([]float32, m.dim)...)
			return nil
		}
		var err error
		m.vecs, err = decodeVector(m.vecs, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	if next != len(m.entries) {
		return nil, fmt.Errorf("%w: %d vectors for %d chunks", ErrCorrupt, next, len(m.entries))
	}
	err = tx.ScanKV([]byte(preLog), func(k, v []byte) error {
		if len(k) != len(preLog)+8 || len(v) < 8 {
			return fmt.Errorf("%w: log entry", ErrCorrupt)
		}
		m.hist[beU64(k[len(preLog):])] = histEntry{beU64(v), string(v[8:])}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}
