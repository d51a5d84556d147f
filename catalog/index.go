package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/batos/batos/object"
)

// Slot names of a chunk object.
const (
	SlotDocID     = "doc_id"
	SlotIndex     = "index"
	SlotText      = "text"
	SlotMetadata  = "metadata"
	SlotEmbedding = "embedding"
)

// change is one committed Index or Delete, applied to the in-memory index
// by tx.OnCommit.
type change struct {
	counter, token uint64
	docID          string
	removed        []object.OID
	removedTerms   [][]string // terms of each removed chunk, for document frequencies
	added          []memChunk // nil vectors are never used: vec has dim floats
	meta           map[string]string
	present        bool // the document exists after the change
	dim            int
}

// Prepared is a document chunked and embedded by Prepare, ready for
// IndexPrepared. It holds no transaction state, so a transaction that
// conflicts and runs again writes it again without embedding again.
type Prepared struct {
	docID    string
	meta     map[string]string
	chunks   []Chunk
	vecs     [][]float32
	embedder string
}

// Chunks returns the number of chunks.
func (p *Prepared) Chunks() int { return len(p.chunks) }

// Prepare chunks text and embeds the chunks for IndexPrepared, outside any
// transaction: this is where the embedder's time goes.
func (c *Catalog) Prepare(ctx context.Context, docID, text string, meta map[string]string) (*Prepared, error) {
	if docID == "" {
		return nil, ErrEmptyDocID
	}
	if c.emb == nil {
		return nil, ErrNoEmbedder
	}
	chunks, err := c.split.Chunk(ctx, text)
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(chunks))
	for i, ch := range chunks {
		texts[i] = ch.Text
	}
	vecs, err := embedBatched(ctx, c.emb, texts, c.opts.Chunk.BatchSize)
	if err != nil {
		return nil, err
	}
	for _, v := range vecs {
		normalize(v)
	}
	return &Prepared{docID: docID, meta: maps.Clone(meta), chunks: chunks, vecs: vecs, embedder: c.opts.EmbedderID}, nil
}

// Index chunks text, embeds the chunks and stores them as objects with
// their postings, vector and metadata in tx, replacing any earlier version
// of docID: Prepare, then IndexPrepared. It returns the number of chunks.
// Everything it writes commits or rolls back with tx. Empty text removes
// the old chunks and leaves an empty document. Callers that may retry
// tx (object.Store.Update on a conflict) should call Prepare before the
// transaction and IndexPrepared inside it.
func (c *Catalog) Index(ctx context.Context, tx *object.Tx, docID, text string, meta map[string]string) (int, error) {
	p, err := c.Prepare(ctx, docID, text, meta)
	if err != nil {
		return 0, err
	}
	return c.IndexPrepared(ctx, tx, p)
}

// IndexPrepared stores a prepared document in tx, replacing any earlier
// version of it: the chunk objects, postings, vectors and metadata
// commit or roll back together with tx. It returns the number of chunks.
// p must come from this Catalog's Prepare (or one with the same
// EmbedderID).
func (c *Catalog) IndexPrepared(ctx context.Context, tx *object.Tx, p *Prepared) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if p.embedder != c.opts.EmbedderID {
		return 0, fmt.Errorf("%w: document prepared with %s, catalog embeds with %s", ErrEmbedderChanged, p.embedder, c.opts.EmbedderID)
	}
	docID, meta, chunks, vecs := p.docID, p.meta, p.chunks, p.vecs
	st, err := readStats(tx, true)
	if err != nil {
		return 0, err
	}
	reembedding, err := c.claimVectors(tx, st)
	if err != nil {
		return 0, err
	}
	if len(vecs) > 0 && !reembedding {
		if st.dim != 0 && int(st.dim) != len(vecs[0]) {
			return 0, fmt.Errorf("%w: index has %d, embedder gave %d", ErrDimension, st.dim, len(vecs[0]))
		}
		st.dim = uint64(len(vecs[0]))
		if c.opts.EmbedderID != "" {
			rec := embedRec{id: c.opts.EmbedderID, dim: st.dim}
			if err := tx.SetKV([]byte(keyEmbedder), rec.encode()); err != nil {
				return 0, err
			}
		}
	}
	removed, removedTerms, err := c.remove(tx, docID, &st)
	if err != nil {
		return 0, err
	}
	if meta == nil {
		meta = map[string]string{}
	}
	metaVal := object.Map{}
	for k, v := range meta {
		metaVal[k] = object.String(v)
	}
	ch := change{docID: docID, removed: removed, removedTerms: removedTerms, meta: meta, present: true, dim: int(st.dim)}
	doc := docRec{meta: meta}
	for i, chunk := range chunks {
		v := vecs[i]
		o, err := tx.New(map[string]object.Value{
			SlotDocID:     object.String(docID),
			SlotIndex:     object.Int(i),
			SlotText:      object.String(chunk.Text),
			SlotMetadata:  metaVal,
			SlotEmbedding: object.Bytes(encodeVector(v)),
		})
		if err != nil {
			return 0, err
		}
		tfs, length := termFreqs(chunk.Text)
		rec := chunkRec{docID: docID, index: i, length: length}
		for _, t := range slices.Sorted(maps.Keys(tfs)) {
			rec.terms = append(rec.terms, termFreq{t, tfs[t]})
			if err := tx.SetKV(postKey(t, o.OID), encodePosting(tfs[t], length)); err != nil {
				return 0, err
			}
		}
		if err := tx.SetKV(oidKey(preChunk, o.OID), rec.encode()); err != nil {
			return 0, err
		}
		if err := tx.SetKV(oidKey(preVector, o.OID), encodeVector(v)); err != nil {
			return 0, err
		}
		st.chunks++
		st.totalLen += uint64(length)
		doc.chunks = append(doc.chunks, o.OID)
		ch.added = append(ch.added, memChunk{oid: o.OID, doc: docID, index: i, length: length, terms: rec.terms, vec: v})
	}
	if err := tx.SetKV(docKey(docID), doc.encode()); err != nil {
		return 0, err
	}
	for k, v := range meta {
		if err := tx.SetKV(metaKey(k, v, docID), nil); err != nil {
			return 0, err
		}
	}
	if err := c.commitChange(tx, &st, &ch); err != nil {
		return 0, err
	}
	return len(chunks), nil
}

// Delete removes docID's chunk objects, postings, vectors and metadata in
// tx. Deleting a document that does not exist does nothing.
func (c *Catalog) Delete(ctx context.Context, tx *object.Tx, docID string) error {
	if docID == "" {
		return ErrEmptyDocID
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	st, err := readStats(tx, true)
	if err != nil {
		return err
	}
	// A validated read of the document key: a concurrent Index of the same
	// document conflicts with this Delete.
	if _, err := tx.GetKV(docKey(docID)); errors.Is(err, object.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	removed, removedTerms, err := c.remove(tx, docID, &st)
	if err != nil {
		return err
	}
	ch := change{docID: docID, removed: removed, removedTerms: removedTerms, dim: int(st.dim)}
	return c.commitChange(tx, &st, &ch)
}

// remove deletes everything stored for docID and updates st. It returns
// the removed chunks and the terms of each.
func (c *Catalog) remove(tx *object.Tx, docID string, st *stats) ([]object.OID, [][]string, error) {
	doc, ok, err := readDoc(tx, docID)
	if err != nil || !ok {
		return nil, nil, err
	}
	terms := make([][]string, len(doc.chunks))
	for i, oid := range doc.chunks {
		b, found, err := peekKV(tx, oidKey(preChunk, oid))
		if err != nil {
			return nil, nil, err
		}
		if found {
			rec, err := decodeChunk(b)
			if err != nil {
				return nil, nil, err
			}
			for _, t := range rec.terms {
				terms[i] = append(terms[i], t.term)
				if err := tx.DeleteKV(postKey(t.term, oid)); err != nil {
					return nil, nil, err
				}
			}
			st.chunks--
			st.totalLen -= uint64(rec.length)
		}
		for _, k := range [][]byte{oidKey(preChunk, oid), oidKey(preVector, oid)} {
			if err := tx.DeleteKV(k); err != nil {
				return nil, nil, err
			}
		}
		if err := tx.Delete(oid); err != nil && !errors.Is(err, object.ErrNotFound) {
			return nil, nil, err
		}
	}
	for k, v := range doc.meta {
		if err := tx.DeleteKV(metaKey(k, v, docID)); err != nil {
			return nil, nil, err
		}
	}
	if err := tx.DeleteKV(docKey(docID)); err != nil {
		return nil, nil, err
	}
	return doc.chunks, terms, nil
}

// commitChange advances the version, logs the change and arranges for the
// in-memory index to apply it once tx commits.
func (c *Catalog) commitChange(tx *object.Tx, st *stats, ch *change) error {
	st.counter++
	st.token = rand.Uint64()
	ch.counter, ch.token = st.counter, st.token
	if err := tx.SetKV([]byte(keyStats), st.encode()); err != nil {
		return err
	}
	entry := append(encodeU64(st.token), ch.docID...)
	if err := tx.SetKV(logKey(st.counter), entry); err != nil {
		return err
	}
	if st.counter > logKeep {
		if err := tx.DeleteKV(logKey(st.counter - logKeep)); err != nil {
			return err
		}
	}
	tx.OnCommit(func() { c.apply(ch) })
	return nil
}
