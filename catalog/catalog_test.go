package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/batos/batos/catalog"
	"github.com/batos/batos/catalog/catalogtest"
	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
)

func openStore(t testing.TB) *object.Store { return objecttest.Open(t, object.Options{}) }

var ctx = context.Background()

// newCatalog returns a catalog that keeps each topic in one chunk.
func newCatalog() *catalog.Catalog {
	return catalog.New(catalogtest.HashEmbedder{}, catalog.Options{Chunk: catalog.ChunkOptions{MinChars: 1000}})
}

// newFineCatalog returns a catalog that cuts small chunks.
func newFineCatalog() *catalog.Catalog {
	return catalog.New(catalogtest.HashEmbedder{}, catalog.Options{Chunk: catalog.ChunkOptions{MinChars: -1, Amount: 70, Buffer: -1}})
}

// indexTopics indexes each topic as a document "t0", "t1", "t2" with
// metadata kind=topic and n=<i>.
func indexTopics(t testing.TB, s *object.Store, c *catalog.Catalog) {
	t.Helper()
	err := s.Update(ctx, func(tx *object.Tx) error {
		for i, sents := range topics {
			if _, err := c.Index(ctx, tx, fmt.Sprint("t", i), strings.Join(sents, " "), map[string]string{"kind": "topic", "n": fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func search(t testing.TB, s *object.Store, c *catalog.Catalog, q catalog.Query) []catalog.Result {
	t.Helper()
	var res []catalog.Result
	err := s.View(ctx, func(tx *object.Tx) error {
		var err error
		res, err = c.Search(ctx, tx, q)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// catalogKeys lists the catalog's KV keys and the number of objects.
func catalogKeys(t testing.TB, s *object.Store) (keys []string, objects int) {
	t.Helper()
	err := s.View(ctx, func(tx *object.Tx) error {
		if err := tx.ScanKV([]byte("catalog/"), func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		}); err != nil {
			return err
		}
		return tx.Objects(func(object.OID) error { objects++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys, objects
}

func TestSearchRanking(t *testing.T) {
	for _, load := range []bool{false, true} {
		t.Run(fmt.Sprint("load=", load), func(t *testing.T) {
			s := openStore(t)
			c := newCatalog()
			if load {
				if err := c.Load(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			indexTopics(t, s, c)
			if c.Stale() == load {
				t.Fatalf("Stale() = %v with load=%v", c.Stale(), load)
			}
			tests := []struct {
				q       string
				mode    catalog.Mode
				filter  map[string]string
				wantDoc string
				wantN   int
			}{
				{"compilers compile functions", catalog.BM25, nil, "t1", 1},
				{"fishing boats on rivers", catalog.BM25, nil, "t0", 1},
				{"baking bread in an oven", catalog.Vector, nil, "t2", 3},
				{"compiler code", catalog.Hybrid, nil, "t1", 3},
				{"compiler code", catalog.Auto, map[string]string{"n": "2"}, "t2", 1},
				{"compiler code", catalog.BM25, map[string]string{"n": "2"}, "", 0},
				{"compiler code", catalog.BM25, map[string]string{"kind": "topic", "n": "1"}, "t1", 1},
				{"compiler code", catalog.Vector, map[string]string{"kind": "other"}, "", 0},
				{"zebra", catalog.BM25, nil, "", 0},
			}
			for _, tc := range tests {
				res := search(t, s, c, catalog.Query{Text: tc.q, Mode: tc.mode, Limit: 5, Filter: tc.filter})
				if len(res) != tc.wantN {
					t.Errorf("%q %v %v: %d results, want %d", tc.q, tc.mode, tc.filter, len(res), tc.wantN)
					continue
				}
				if tc.wantN == 0 {
					continue
				}
				if res[0].DocID != tc.wantDoc {
					t.Errorf("%q %v: top %q, want %q", tc.q, tc.mode, res[0].DocID, tc.wantDoc)
				}
				for i := 1; i < len(res); i++ {
					if res[i].Score > res[i-1].Score {
						t.Errorf("%q %v: scores not descending: %v", tc.q, tc.mode, res)
					}
				}
				r := res[0]
				if r.Text != strings.Join(topics[r.DocID[1]-'0'], " ") || r.Chunk != 0 || r.Meta["kind"] != "topic" || r.ChunkOID == 0 {
					t.Errorf("bad result %+v", r)
				}
			}
		})
	}
}

func TestRollbackLeavesNothing(t *testing.T) {
	s := openStore(t)
	c := newCatalog()
	if err := c.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx *object.Tx) error {
		n, err := c.Index(ctx, tx, "doc", topicText(), map[string]string{"a": "b"})
		if err != nil || n == 0 {
			t.Fatalf("Index = %d, %v", n, err)
		}
		// Read-your-writes inside the transaction.
		res, err := c.Search(ctx, tx, catalog.Query{Text: "bread oven", Mode: catalog.Hybrid})
		if err != nil || len(res) == 0 || res[0].DocID != "doc" {
			t.Fatalf("search in tx = %v, %v", res, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	keys, objs := catalogKeys(t, s)
	if len(keys) != 0 || objs != 0 {
		t.Fatalf("after rollback: keys %q, %d objects", keys, objs)
	}
	for _, m := range []catalog.Mode{catalog.BM25, catalog.Vector, catalog.Hybrid} {
		if res := search(t, s, c, catalog.Query{Text: "bread oven", Mode: m}); len(res) != 0 {
			t.Errorf("%v after rollback: %v", m, res)
		}
	}
}

func TestReindexAndDelete(t *testing.T) {
	s := openStore(t)
	c := newCatalog()
	if err := c.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	indexTopics(t, s, c)
	var oldOIDs []object.OID
	for _, r := range search(t, s, c, catalog.Query{Text: "river fish boat", Mode: catalog.BM25, Filter: map[string]string{"n": "0"}}) {
		oldOIDs = append(oldOIDs, r.ChunkOID)
	}
	if len(oldOIDs) == 0 {
		t.Fatal("no chunks for t0")
	}
	// Re-index t0 with the bread text and new metadata.
	err := s.Update(ctx, func(tx *object.Tx) error {
		_, err := c.Index(ctx, tx, "t0", "Completely different: zebras graze.", map[string]string{"n": "9"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := search(t, s, c, catalog.Query{Text: "river fish boat", Mode: catalog.BM25}); len(res) != 0 {
		t.Errorf("old text still found: %v", res)
	}
	if res := search(t, s, c, catalog.Query{Text: "zebra", Mode: catalog.BM25, Filter: map[string]string{"n": "9"}}); len(res) != 1 || res[0].DocID != "t0" {
		t.Errorf("new text: %v", res)
	}
	if res := search(t, s, c, catalog.Query{Text: "zebra", Mode: catalog.BM25, Filter: map[string]string{"n": "0"}}); len(res) != 0 {
		t.Errorf("old metadata still matches: %v", res)
	}
	err = s.View(ctx, func(tx *object.Tx) error {
		for _, oid := range oldOIDs {
			if _, err := tx.Get(oid); !errors.Is(err, object.ErrNotFound) {
				t.Errorf("old chunk %d: %v", oid, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Delete everything: only the stats and the change log remain.
	err = s.Update(ctx, func(tx *object.Tx) error {
		for _, d := range []string{"t0", "t1", "t2", "missing"} {
			if err := c.Delete(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, objs := catalogKeys(t, s)
	for _, k := range keys {
		if k != "catalog/s" && !strings.HasPrefix(k, "catalog/l/") {
			t.Errorf("key left after delete: %q", k)
		}
	}
	if objs != 0 {
		t.Errorf("%d objects left after delete", objs)
	}
}

func TestIndexErrors(t *testing.T) {
	s := openStore(t)
	c := newCatalog()
	err := s.Update(ctx, func(tx *object.Tx) error {
		if _, err := c.Index(ctx, tx, "", "text", nil); !errors.Is(err, catalog.ErrEmptyDocID) {
			t.Errorf("empty id: %v", err)
		}
		if _, err := c.Index(ctx, tx, "a", "Some text.", nil); err != nil {
			return err
		}
		other := catalog.New(catalogtest.HashEmbedder{Dim: 8}, catalog.Options{})
		if _, err := other.Index(ctx, tx, "b", "Other text.", nil); !errors.Is(err, catalog.ErrDimension) {
			t.Errorf("dimension change: %v", err)
		}
		if _, err := c.Search(ctx, tx, catalog.Query{Text: "x", Mode: 99}); !errors.Is(err, catalog.ErrMode) {
			t.Errorf("bad mode: %v", err)
		}
		n, err := c.Index(ctx, tx, "empty", "", nil)
		if err != nil || n != 0 {
			t.Errorf("empty text: %d, %v", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMemMatchesScan runs random changes and compares the in-memory index
// (with overlays, inside and after uncommitted transactions) with the
// exact scan of the store.
func TestMemMatchesScan(t *testing.T) {
	s := openStore(t)
	mem := newFineCatalog()
	if err := mem.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	scan := newFineCatalog() // never loaded: always scans
	// An approximate vector index that probes every list is exact, so it
	// must agree too, through builds, rebuilds and compactions.
	ann := catalog.New(catalogtest.HashEmbedder{}, catalog.Options{
		Chunk: catalog.ChunkOptions{MinChars: -1, Amount: 70, Buffer: -1},
		ANN:   catalog.ANNOptions{MinChunks: 10, Lists: 4, Fraction: 1},
	})
	if err := ann.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var all []string
	for _, tp := range topics {
		all = append(all, tp...)
	}
	randomText := func() string {
		n := 1 + rng.IntN(8)
		var b []string
		for range n {
			b = append(b, all[rng.IntN(len(all))])
		}
		return strings.Join(b, " ")
	}
	queries := []catalog.Query{
		{Text: "river fish", Mode: catalog.BM25},
		{Text: "compiler code function oven", Mode: catalog.BM25},
		{Text: "bread dough", Mode: catalog.Vector},
		{Text: "boat compiler bread", Mode: catalog.Hybrid},
		{Text: "boat compiler bread", Mode: catalog.Hybrid, Filter: map[string]string{"g": "1"}},
		{Text: "the fish", Mode: catalog.Vector, Filter: map[string]string{"g": "0"}},
	}
	compare := func(tx *object.Tx, step int) {
		for _, q := range queries {
			q.Limit = 7
			a, err := mem.Search(ctx, tx, q)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ann.Search(ctx, tx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(a) != len(c) {
				t.Fatalf("step %d %v %q: mem %d results, ann %d", step, q.Mode, q.Text, len(a), len(c))
			}
			for i := range a {
				if a[i].ChunkOID != c[i].ChunkOID || a[i].Score != c[i].Score {
					t.Fatalf("step %d %v %q result %d: mem %d %v, ann %d %v", step, q.Mode, q.Text, i, a[i].ChunkOID, a[i].Score, c[i].ChunkOID, c[i].Score)
				}
			}
			b, err := scan.Search(ctx, tx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(a) != len(b) {
				t.Fatalf("step %d %v %q: mem %d results, scan %d", step, q.Mode, q.Text, len(a), len(b))
			}
			for i := range a {
				if a[i].ChunkOID != b[i].ChunkOID || math.Abs(a[i].Score-b[i].Score) > 1e-9 {
					t.Fatalf("step %d %v %q result %d: mem %d %v, scan %d %v", step, q.Mode, q.Text, i, a[i].ChunkOID, a[i].Score, b[i].ChunkOID, b[i].Score)
				}
			}
		}
	}
	for step := range 80 {
		commit := rng.IntN(4) != 0
		err := s.Update(ctx, func(tx *object.Tx) error {
			for range 1 + rng.IntN(3) {
				doc := fmt.Sprint("d", rng.IntN(12))
				if rng.IntN(5) == 0 {
					if err := mem.Delete(ctx, tx, doc); err != nil {
						return err
					}
				} else if _, err := mem.Index(ctx, tx, doc, randomText(), map[string]string{"g": fmt.Sprint(rng.IntN(2))}); err != nil {
					return err
				}
				compare(tx, step) // read-your-writes: the delta overlay
			}
			if !commit {
				return errors.New("rollback")
			}
			return nil
		})
		if commit && err != nil {
			t.Fatal(err)
		}
		if err := s.View(ctx, func(tx *object.Tx) error { compare(tx, step); return nil }); err != nil {
			t.Fatal(err)
		}
		if mem.Stale() || ann.Stale() {
			t.Fatalf("step %d: in-memory index went stale", step)
		}
	}
	// A second catalog loaded from the final state agrees too.
	fresh := newFineCatalog()
	if err := fresh.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	mem = fresh
	if err := s.View(ctx, func(tx *object.Tx) error { compare(tx, -1); return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentIndex indexes from several goroutines; conflicting
// transactions retry, and the in-memory index must end equal to the store.
func TestConcurrentIndex(t *testing.T) {
	s := objecttest.Open(t, object.Options{Retries: 1000})
	mem := newFineCatalog()
	if err := mem.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	scan := newFineCatalog()
	const workers, each = 4, 12
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				err := s.Update(ctx, func(tx *object.Tx) error {
					_, err := mem.Index(ctx, tx, fmt.Sprintf("w%d-%d", w, i%5), topicText(), map[string]string{"w": fmt.Sprint(w)})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	// Reload the in-memory index while the writers run: changes committed
	// during a Load must reach the new index.
	for range 3 {
		if err := mem.Load(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if mem.Stale() {
		t.Fatal("in-memory index went stale")
	}
	err := s.View(ctx, func(tx *object.Tx) error {
		for _, m := range []catalog.Mode{catalog.BM25, catalog.Vector} {
			q := catalog.Query{Text: "river compiler bread", Mode: m, Limit: 1000}
			a, err := mem.Search(ctx, tx, q)
			if err != nil {
				return err
			}
			b, err := scan.Search(ctx, tx, q)
			if err != nil {
				return err
			}
			if len(a) != len(b) || len(a) == 0 {
				t.Fatalf("%v: mem %d results, scan %d", m, len(a), len(b))
			}
			docs := map[string]bool{}
			for i := range a {
				docs[a[i].DocID] = true
				if a[i].ChunkOID != b[i].ChunkOID || math.Abs(a[i].Score-b[i].Score) > 1e-9 {
					t.Fatalf("%v result %d differs", m, i)
				}
			}
			if len(docs) != workers*5 {
				t.Errorf("%v: %d documents, want %d", m, len(docs), workers*5)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A document record listing a chunk whose record is gone (what a
// concurrent re-index can produce) must not crash any search mode: the
// BM25 ranking used to dereference a nil in-memory search in its own
// goroutine, which no recover could catch.
func TestSearchMissingChunkRecord(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	c := newFineCatalog()
	if err := c.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	text := "Apples grow on trees in orchards. Apples are red or green. Orchards need bees. " +
		"Rockets burn fuel to reach orbit. Orbits decay without thrust. Thrust comes from engines."
	for _, mode := range []catalog.Mode{catalog.BM25, catalog.Vector, catalog.Hybrid} {
		err := s.Update(ctx, func(tx *object.Tx) error {
			if _, err := c.Index(ctx, tx, "d", text, nil); err != nil {
				return err
			}
			var first []byte
			if err := tx.ScanKV([]byte("catalog/c/"), func(k, _ []byte) error {
				if first == nil {
					first = append([]byte(nil), k...)
				}
				return nil
			}); err != nil {
				return err
			}
			if first == nil {
				t.Fatal("no chunk records")
			}
			if err := tx.DeleteKV(first); err != nil {
				return err
			}
			if _, err := c.Search(ctx, tx, catalog.Query{Text: "apples orbit", Mode: mode}); err != nil {
				t.Errorf("%v search: %v", mode, err)
			}
			return errors.New("roll back")
		})
		if err == nil || err.Error() != "roll back" {
			t.Fatalf("%v: %v", mode, err)
		}
	}
}
