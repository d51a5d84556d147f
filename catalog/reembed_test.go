package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/batos/batos/catalog"
	"github.com/batos/batos/catalog/catalogtest"
	"github.com/batos/batos/object"
)

// countingEmbedder counts the texts it embeds.
type countingEmbedder struct {
	catalogtest.HashEmbedder
	texts atomic.Int64
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.texts.Add(int64(len(texts)))
	return c.HashEmbedder.Embed(ctx, texts)
}

func catalogWith(dim int, id string) *catalog.Catalog {
	return catalog.New(catalogtest.HashEmbedder{Dim: dim}, catalog.Options{EmbedderID: id, Chunk: catalog.ChunkOptions{MinChars: 1000}})
}

// docs are more documents than one re-embedding transaction takes.
func reembedDocs() map[string]string {
	docs := map[string]string{}
	for i, sents := range topics {
		for j := range 12 {
			docs[fmt.Sprintf("d%d-%02d", i, j)] = strings.Join(sents[j%len(sents):], " ")
		}
	}
	return docs
}

func indexDocs(t *testing.T, s *object.Store, c *catalog.Catalog, docs map[string]string) {
	t.Helper()
	for id, text := range docs {
		if err := s.Update(ctx, func(tx *object.Tx) error {
			_, err := c.Index(ctx, tx, id, text, map[string]string{"k": "v"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func searchErr(s *object.Store, c *catalog.Catalog, q catalog.Query) ([]catalog.Result, error) {
	var res []catalog.Result
	err := s.View(ctx, func(tx *object.Tx) error {
		var err error
		res, err = c.Search(ctx, tx, q)
		return err
	})
	return res, err
}

func status(t *testing.T, s *object.Store, c *catalog.Catalog) catalog.EmbedderStatus {
	t.Helper()
	var st catalog.EmbedderStatus
	if err := s.View(ctx, func(tx *object.Tx) error {
		var err error
		st, err = c.EmbedderStatus(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestReembed opens a catalog built by one embedder with another of a
// different dimension: vector and hybrid search are refused (BM25 is
// not), indexing goes on, Reembed replaces every vector, and the
// results are then those of a catalog built by the new embedder from the
// start. The old embedder is refused in turn.
func TestReembed(t *testing.T) {
	for _, loaded := range []bool{false, true} {
		t.Run(fmt.Sprint("loaded=", loaded), func(t *testing.T) {
			docs := reembedDocs()
			s := openStore(t)
			a := catalogWith(16, "model-a/16")
			indexDocs(t, s, a, docs)
			if st := status(t, s, a); !st.Ready || st.Stored != "model-a/16" || st.Dim != 16 {
				t.Fatalf("status after indexing with a: %+v", st)
			}

			b := catalogWith(48, "model-b/48")
			if loaded {
				if err := b.Load(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			q := catalog.Query{Text: "fish boat river", Limit: 5}
			for _, mode := range []catalog.Mode{catalog.Vector, catalog.Hybrid} {
				q.Mode = mode
				if _, err := searchErr(s, b, q); !errors.Is(err, catalog.ErrEmbedderChanged) {
					t.Fatalf("%v search before Reembed: %v", mode, err)
				}
			}
			// BM25 works, and Auto is BM25 meanwhile.
			q.Mode = catalog.BM25
			bm, err := searchErr(s, b, q)
			if err != nil || len(bm) == 0 {
				t.Fatalf("BM25 before Reembed: %d results, %v", len(bm), err)
			}
			q.Mode = catalog.Auto
			if auto, err := searchErr(s, b, q); err != nil || len(auto) != len(bm) || auto[0].Score != bm[0].Score {
				t.Fatalf("Auto before Reembed: %v, %v; want the BM25 results", auto, err)
			}
			// Indexing with b goes on meanwhile (no ErrDimension).
			extra := map[string]string{"d0-00": topics[2][0], "zz-new": strings.Join(topics[1], " ")}
			indexDocs(t, s, b, extra)
			for k, v := range extra {
				docs[k] = v
			}
			if st := status(t, s, b); st.Ready || st.Target != "model-b/48" {
				t.Fatalf("status during: %+v", st)
			}

			var calls, last, total int
			if err := b.Reembed(ctx, s, func(done, n int) { calls++; last, total = done, n }); err != nil {
				t.Fatal(err)
			}
			if calls < 2 || last != total || total != len(docs) {
				t.Errorf("progress: %d calls, last %d of %d, want %d documents", calls, last, total, len(docs))
			}
			if st := status(t, s, b); !st.Ready || st.Stored != "model-b/48" || st.Dim != 48 || st.Target != "" {
				t.Fatalf("status after: %+v", st)
			}

			fresh := openStore(t)
			ref := catalogWith(48, "model-b/48")
			indexDocs(t, fresh, ref, docs)
			for _, mode := range []catalog.Mode{catalog.Vector, catalog.Hybrid} {
				q.Mode = mode
				got, err := searchErr(s, b, q)
				if err != nil {
					t.Fatal(err)
				}
				want, err := searchErr(fresh, ref, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) || len(got) == 0 {
					t.Fatalf("%v: %d results, want %d", mode, len(got), len(want))
				}
				for i := range got {
					if got[i].Text != want[i].Text || fmt.Sprintf("%.6f", got[i].Score) != fmt.Sprintf("%.6f", want[i].Score) {
						t.Errorf("%v result %d: %q %.6f, want %q %.6f", mode, i, got[i].Text, got[i].Score, want[i].Text, want[i].Score)
					}
				}
			}
			// Nothing left to do; the old embedder is refused now.
			calls = 0
			if err := b.Reembed(ctx, s, func(int, int) { calls++ }); err != nil || calls != 0 {
				t.Errorf("second Reembed: %d progress calls, %v", calls, err)
			}
			q.Mode = catalog.Vector
			if _, err := searchErr(s, a, q); !errors.Is(err, catalog.ErrEmbedderChanged) {
				t.Errorf("old embedder after Reembed: %v", err)
			}
		})
	}
}

// TestReembedUnrecorded: vectors written without an EmbedderID (as
// before the catalog recorded one) count as another embedder's.
func TestReembedUnrecorded(t *testing.T) {
	s := openStore(t)
	legacy := catalog.New(catalogtest.HashEmbedder{Dim: 48}, catalog.Options{Chunk: catalog.ChunkOptions{MinChars: 1000}})
	indexTopics(t, s, legacy)
	b := catalogWith(48, "model-b/48")
	q := catalog.Query{Text: "fish boat river", Mode: catalog.Vector}
	_, err := searchErr(s, b, q)
	if !errors.Is(err, catalog.ErrEmbedderChanged) || !strings.Contains(err.Error(), "unrecorded") {
		t.Fatalf("search: %v", err)
	}
	if err := b.Reembed(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	if res, err := searchErr(s, b, q); err != nil || len(res) == 0 {
		t.Fatalf("after Reembed: %d results, %v", len(res), err)
	}
	// The legacy catalog checks nothing and still searches.
	if _, err := searchErr(s, legacy, q); err != nil {
		t.Errorf("catalog without EmbedderID: %v", err)
	}
}

// TestReembedCanceled resumes where a cancelled Reembed stopped.
func TestReembedCanceled(t *testing.T) {
	docs := reembedDocs()
	s := openStore(t)
	indexDocs(t, s, catalogWith(16, "a"), docs)
	emb := &countingEmbedder{HashEmbedder: catalogtest.HashEmbedder{Dim: 48}}
	b := catalog.New(emb, catalog.Options{EmbedderID: "b", Chunk: catalog.ChunkOptions{MinChars: 1000}})
	cctx, cancel := context.WithCancel(ctx)
	first := 0
	err := b.Reembed(cctx, s, func(done, _ int) { first = done; cancel() })
	if !errors.Is(err, context.Canceled) || first == 0 || first >= len(docs) {
		t.Fatalf("cancelled Reembed: %v after %d of %d", err, first, len(docs))
	}
	if st := status(t, s, b); st.Ready || st.Done != first {
		t.Fatalf("status: %+v, want %d done", st, first)
	}
	var resumed int
	if err := b.Reembed(ctx, s, func(done, _ int) {
		if resumed == 0 && done <= first {
			t.Errorf("resumed at %d, had %d", done, first)
		}
		resumed = done
	}); err != nil {
		t.Fatal(err)
	}
	if resumed != len(docs) {
		t.Errorf("finished at %d of %d", resumed, len(docs))
	}
}

// TestPrepareOutsideTransaction: a transaction that fails and runs again
// writes the prepared document without embedding it again, and the
// chunks, postings and vectors commit together.
func TestPrepareOutsideTransaction(t *testing.T) {
	s := openStore(t)
	emb := &countingEmbedder{}
	c := catalog.New(emb, catalog.Options{EmbedderID: "hash/256", Chunk: catalog.ChunkOptions{MinChars: 1000}})
	p, err := c.Prepare(ctx, "doc", strings.Join(topics[0], " "), nil)
	if err != nil {
		t.Fatal(err)
	}
	embedded := emb.texts.Load()
	if embedded == 0 || p.Chunks() == 0 {
		t.Fatalf("Prepare embedded %d texts into %d chunks", embedded, p.Chunks())
	}
	errRetry := errors.New("retry")
	for attempt := range 2 {
		err := s.Update(ctx, func(tx *object.Tx) error {
			if _, err := c.IndexPrepared(ctx, tx, p); err != nil {
				return err
			}
			if attempt == 0 {
				return errRetry // rolled back
			}
			return nil
		})
		if attempt == 0 && !errors.Is(err, errRetry) || attempt == 1 && err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		if attempt == 0 {
			if res, _ := searchErr(s, c, catalog.Query{Text: "fish", Mode: catalog.BM25}); len(res) != 0 {
				t.Fatal("a rolled-back IndexPrepared left results")
			}
		}
	}
	if n := emb.texts.Load(); n != embedded {
		t.Errorf("IndexPrepared embedded %d more texts", n-embedded)
	}
	for _, mode := range []catalog.Mode{catalog.BM25, catalog.Vector} {
		if res, err := searchErr(s, c, catalog.Query{Text: "fish boat", Mode: mode}); err != nil || len(res) == 0 {
			t.Errorf("%v: %d results, %v", mode, len(res), err)
		}
	}
	other := catalog.New(emb, catalog.Options{EmbedderID: "other"})
	if err := s.Update(ctx, func(tx *object.Tx) error {
		_, err := other.IndexPrepared(ctx, tx, p)
		return err
	}); !errors.Is(err, catalog.ErrEmbedderChanged) {
		t.Errorf("IndexPrepared on another embedder's catalog: %v", err)
	}
}
