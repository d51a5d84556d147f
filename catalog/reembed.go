package catalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/batos/batos/object"
)

// keyEmbedder holds the embedder record: which embedder made the stored
// vectors, and the re-embedding in progress, if any.
const keyEmbedder = "catalog/e"

// embedRec is the embedder record.
type embedRec struct {
	id     string // Options.EmbedderID of the stored vectors ("" unknown)
	dim    uint64 // their dimension
	target string // re-embedding for this id; "" when none runs
	cursor string // documents up to this id carry target's vectors
	done   uint64 // documents re-embedded so far
}

func (r embedRec) encode() []byte {
	b := appendStr(nil, r.id)
	b = binary.AppendUvarint(b, r.dim)
	b = appendStr(b, r.target)
	b = appendStr(b, r.cursor)
	return binary.AppendUvarint(b, r.done)
}

func decodeEmbedRec(b []byte) (embedRec, error) {
	r := reader{b: b}
	e := embedRec{id: r.str(), dim: r.uvarint(), target: r.str(), cursor: r.str(), done: r.uvarint()}
	return e, r.done("embedder")
}

// readEmbedRec reads the embedder record, validated at commit or not.
func readEmbedRec(tx *object.Tx, validate bool) (embedRec, bool, error) {
	var b []byte
	var ok bool
	var err error
	if validate {
		b, err = tx.GetKV([]byte(keyEmbedder))
		ok = err == nil
		if errors.Is(err, object.ErrNotFound) {
			err = nil
		}
	} else {
		b, ok, err = peekKV(tx, []byte(keyEmbedder))
	}
	if err != nil || !ok {
		return embedRec{}, false, err
	}
	r, err := decodeEmbedRec(b)
	return r, err == nil, err
}

// EmbedderStatus says which embedder made a catalog's vectors.
type EmbedderStatus struct {
	// Stored is the EmbedderID of the stored vectors ("" when unknown:
	// vectors written before the catalog recorded one) and Dim their
	// dimension.
	Stored string
	Dim    int
	// Target is the EmbedderID being re-embedded for, "" when none;
	// Done of Total documents are finished.
	Target      string
	Done, Total int
	// Ready reports whether vector and hybrid search work for this
	// Catalog's embedder.
	Ready bool
}

// EmbedderStatus reports the embedder record of the catalog in tx.
func (c *Catalog) EmbedderStatus(tx *object.Tx) (EmbedderStatus, error) {
	st, err := readStats(tx, false)
	if err != nil {
		return EmbedderStatus{}, err
	}
	rec, ok, err := readEmbedRec(tx, false)
	if err != nil {
		return EmbedderStatus{}, err
	}
	s := EmbedderStatus{Stored: rec.id, Dim: int(st.dim), Target: rec.target, Done: int(rec.done)}
	if ok && rec.target == "" {
		s.Dim = int(rec.dim)
	}
	if s.Target != "" {
		n, err := countDocs(tx)
		if err != nil {
			return EmbedderStatus{}, err
		}
		s.Total = n
	}
	s.Ready = c.vectorsReady(rec, ok, st)
	return s, nil
}

// vectorsReady reports whether the stored vectors are this Catalog's
// embedder's. Without an EmbedderID nothing is checked.
func (c *Catalog) vectorsReady(rec embedRec, ok bool, st stats) bool {
	if c.opts.EmbedderID == "" {
		return true
	}
	if !ok {
		return st.dim == 0 // a catalog without vectors yet
	}
	return rec.id == c.opts.EmbedderID && rec.target == ""
}

// checkVectors returns ErrEmbedderChanged unless vector search may run.
func (c *Catalog) checkVectors(tx *object.Tx, st stats) error {
	if c.opts.EmbedderID == "" {
		return nil
	}
	rec, ok, err := readEmbedRec(tx, false)
	if err != nil {
		return err
	}
	if c.vectorsReady(rec, ok, st) {
		return nil
	}
	stored := rec.id
	if stored == "" {
		stored = "an unrecorded embedder"
	}
	if rec.target == c.opts.EmbedderID {
		return fmt.Errorf("%w: vectors are from %s; re-embedding for %s, %d documents done", ErrEmbedderChanged, stored, c.opts.EmbedderID, rec.done)
	}
	return fmt.Errorf("%w: vectors are from %s, this catalog embeds with %s; run Reembed", ErrEmbedderChanged, stored, c.opts.EmbedderID)
}

// claimVectors is Index's side of the record: it says whether a
// re-embedding is in progress (so vectors of the stored dimension are not
// required) after making sure one is when the stored vectors are not
// this embedder's.
func (c *Catalog) claimVectors(tx *object.Tx, st stats) (reembedding bool, err error) {
	id := c.opts.EmbedderID
	if id == "" {
		return false, nil
	}
	rec, ok, err := readEmbedRec(tx, true)
	if err != nil {
		return false, err
	}
	switch {
	case !ok && st.dim == 0:
		return false, nil // the first vectors: Index writes the record
	case ok && rec.id == id && rec.target == "":
		return false, nil
	case ok && rec.target == id:
		return true, nil
	}
	// Another embedder's vectors: from now on new ones are this
	// embedder's, and every older document must be re-embedded.
	rec.target, rec.cursor, rec.done = id, "", 0
	return true, tx.SetKV([]byte(keyEmbedder), rec.encode())
}

func countDocs(tx *object.Tx) (int, error) {
	n := 0
	err := tx.ScanKV([]byte(preDoc), func(k, v []byte) error {
		n++
		return nil
	})
	return n, err
}

// reembedBatch bounds the work of one re-embedding transaction.
const (
	reembedDocs   = 16
	reembedChunks = 256
)

// docWork is one document as Reembed read it.
type docWork struct {
	id    string
	oids  []object.OID
	texts []string
	recs  []chunkRec
	meta  map[string]string
	vecs  [][]float32
}

// Reembed replaces every stored vector made by another embedder (or by
// an unrecorded one) with this Catalog's embedder's, a few documents per
// transaction, calling progress (if set) after each with the documents
// done and their total. The embedding runs outside the transactions. It
// returns at once when the vectors are already this embedder's, and is
// safe to run beside Index, Delete and Search: documents indexed
// meanwhile already carry the new vectors, and vector and hybrid search
// fail with ErrEmbedderChanged until Reembed has finished. A cancelled
// Reembed resumes where it stopped when called again. Without an
// EmbedderID it does nothing.
func (c *Catalog) Reembed(ctx context.Context, s *object.Store, progress func(done, total int)) error {
	id := c.opts.EmbedderID
	if id == "" || c.emb == nil {
		return nil
	}
	// Start (or restart, for another target) the re-embedding.
	var todo bool
	if err := s.Update(ctx, func(tx *object.Tx) error {
		st, err := readStats(tx, true)
		if err != nil {
			return err
		}
		rec, ok, err := readEmbedRec(tx, true)
		if err != nil {
			return err
		}
		todo = !c.vectorsReady(rec, ok, st)
		if !todo || rec.target == id {
			return nil
		}
		rec.target, rec.cursor, rec.done = id, "", 0
		return tx.SetKV([]byte(keyEmbedder), rec.encode())
	}); err != nil || !todo {
		return err
	}
	// The embedder's dimension, for the record even when no document
	// has a chunk.
	probe, err := embedBatched(ctx, c.emb, []string{"dimension"}, 1)
	if err != nil {
		return err
	}
	dim := len(probe[0])
	oldDim := -1
	for {
		var work []*docWork
		var rec embedRec
		var total int
		more := false
		if err := s.View(ctx, func(tx *object.Tx) error {
			st, err := readStats(tx, false)
			if err != nil {
				return err
			}
			if oldDim < 0 {
				oldDim = int(st.dim)
			}
			if rec, _, err = readEmbedRec(tx, false); err != nil {
				return err
			}
			if total, err = countDocs(tx); err != nil {
				return err
			}
			work, more, err = readDocsAfter(tx, rec.cursor)
			return err
		}); err != nil {
			return err
		}
		if rec.target != id {
			return fmt.Errorf("%w: re-embedding for %s was replaced by one for %s", ErrEmbedderChanged, id, rec.target)
		}
		var texts []string
		for _, w := range work {
			texts = append(texts, w.texts...)
		}
		vecs, err := embedBatched(ctx, c.emb, texts, max(c.opts.Chunk.BatchSize, 1))
		if err != nil {
			return err
		}
		if len(vecs) > 0 && len(vecs[0]) != dim {
			return fmt.Errorf("%w: embedder gave %d, then %d", ErrDimension, dim, len(vecs[0]))
		}
		for _, w := range work {
			w.vecs, vecs = vecs[:len(w.texts)], vecs[len(w.texts):]
		}
		var newDim int
		if err := s.Update(ctx, func(tx *object.Tx) error {
			newDim, err = c.writeReembedded(tx, work, more, dim)
			return err
		}); err != nil {
			return err
		}
		if progress != nil {
			progress(min(int(rec.done)+len(work), total), total)
		}
		if !more {
			if newDim != oldDim {
				// The in-memory index holds one dimension: build it anew.
				c.mu.RLock()
				loaded := c.store == s && c.mem != nil
				c.mu.RUnlock()
				if loaded {
					return c.Load(ctx, s)
				}
			}
			return nil
		}
	}
}

// readDocsAfter reads the next documents after cursor with their chunk
// texts, and whether more follow.
func readDocsAfter(tx *object.Tx, cursor string) ([]*docWork, bool, error) {
	var work []*docWork
	chunks := 0
	more := false
	// ScanKV scans a prefix: skip the documents up to the cursor (keys
	// only; documents are far fewer than chunks).
	err := tx.ScanKV([]byte(preDoc), func(k, v []byte) error {
		if cursor != "" && bytes.Compare(k[len(preDoc):], []byte(cursor)) <= 0 {
			return nil
		}
		if len(work) >= reembedDocs || (len(work) > 0 && chunks >= reembedChunks) {
			more = true
			return errStop
		}
		d, err := decodeDoc(v)
		if err != nil {
			return err
		}
		w := &docWork{id: string(k[len(preDoc):]), oids: d.chunks, meta: d.meta}
		for _, oid := range d.chunks {
			o, err := tx.Get(oid)
			if err != nil {
				return err
			}
			text, _ := o.Slots[SlotText].(object.String)
			w.texts = append(w.texts, string(text))
			b, found, err := peekKV(tx, oidKey(preChunk, oid))
			if err != nil {
				return err
			}
			var rec chunkRec
			if found {
				if rec, err = decodeChunk(b); err != nil {
					return err
				}
			}
			w.recs = append(w.recs, rec)
		}
		chunks += len(d.chunks)
		work = append(work, w)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, false, err
	}
	return work, more, nil
}

// writeReembedded writes the new vectors (of dimension dim) of the
// documents that have not changed since they were read, advances the
// cursor, and on the last batch (more false) records this embedder as
// the vectors' maker. It returns the catalog's dimension after the batch.
func (c *Catalog) writeReembedded(tx *object.Tx, work []*docWork, more bool, dim int) (int, error) {
	id := c.opts.EmbedderID
	st, err := readStats(tx, true)
	if err != nil {
		return 0, err
	}
	rec, _, err := readEmbedRec(tx, true)
	if err != nil {
		return 0, err
	}
	if rec.target != id {
		return 0, fmt.Errorf("%w: re-embedding for %s was replaced by one for %s", ErrEmbedderChanged, id, rec.target)
	}
	for _, w := range work {
		// A validated read: an Index or Delete of the document meanwhile
		// conflicts with this transaction, or is seen here and skipped.
		b, err := tx.GetKV(docKey(w.id))
		if errors.Is(err, object.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		d, err := decodeDoc(b)
		if err != nil {
			return 0, err
		}
		if !slices.Equal(d.chunks, w.oids) {
			continue // indexed again meanwhile, with the new embedder
		}
		ch := change{docID: w.id, removed: w.oids, meta: w.meta, present: true}
		for i, oid := range w.oids {
			v := w.vecs[i]
			normalize(v)
			enc := encodeVector(v)
			if err := tx.SetKV(oidKey(preVector, oid), enc); err != nil {
				return 0, err
			}
			o, err := tx.Get(oid)
			if err != nil {
				return 0, err
			}
			o.Set(SlotEmbedding, object.Bytes(enc))
			if err := tx.Put(o); err != nil {
				return 0, err
			}
			r := w.recs[i]
			var terms []string
			for _, t := range r.terms {
				terms = append(terms, t.term)
			}
			ch.removedTerms = append(ch.removedTerms, terms)
			ch.added = append(ch.added, memChunk{oid: oid, doc: w.id, index: r.index, length: r.length, terms: r.terms, vec: v})
		}
		if len(w.oids) == 0 {
			continue
		}
		ch.dim = dim
		if err := c.commitChange(tx, &st, &ch); err != nil {
			return 0, err
		}
	}
	if len(work) > 0 {
		rec.cursor = work[len(work)-1].id
	}
	rec.done += uint64(len(work))
	if !more {
		rec = embedRec{id: id, dim: uint64(dim)}
		st.dim = uint64(dim)
		if err := tx.SetKV([]byte(keyStats), st.encode()); err != nil {
			return 0, err
		}
	}
	return int(st.dim), tx.SetKV([]byte(keyEmbedder), rec.encode())
}
