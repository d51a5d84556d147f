package catalog

import (
	"maps"
	"slices"

	"github.com/batos/batos/object"
)

// scanSearch answers a search by scanning the store through the
// transaction: exact, always current, and slow on a large corpus. It is
// used when there is no usable in-memory index.
type scanSearch struct {
	tx      *object.Tx
	allowed map[object.OID]bool // nil: no filter
}

// filterDocs returns the documents whose metadata matches every pair of
// filter, from the metadata index in tx.
func filterDocs(tx *object.Tx, filter map[string]string) ([]string, error) {
	var docs map[string]bool
	for _, k := range slices.Sorted(maps.Keys(filter)) {
		prefix := metaPrefix(k, filter[k])
		found := map[string]bool{}
		err := tx.ScanKV(prefix, func(key, _ []byte) error {
			d := string(key[len(prefix):])
			if docs == nil || docs[d] {
				found[d] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		docs = found
		if len(docs) == 0 {
			break
		}
	}
	return slices.Sorted(maps.Keys(docs)), nil
}

func newScanSearch(tx *object.Tx, filter map[string]string) (*scanSearch, error) {
	s := &scanSearch{tx: tx}
	if len(filter) == 0 {
		return s, nil
	}
	docs, err := filterDocs(tx, filter)
	if err != nil {
		return nil, err
	}
	s.allowed = map[object.OID]bool{}
	for _, d := range docs {
		rec, ok, err := readDoc(tx, d)
		if err != nil {
			return nil, err
		}
		if ok {
			for _, oid := range rec.chunks {
				s.allowed[oid] = true
			}
		}
	}
	return s, nil
}

func (s *scanSearch) ok(oid object.OID) bool { return s.allowed == nil || s.allowed[oid] }

func (s *scanSearch) bm25(p bm25, terms []string, depth int) ([]scored, error) {
	type hit struct {
		oid        object.OID
		tf, length int
	}
	scores := map[object.OID]float64{}
	for _, term := range terms {
		prefix := postPrefix(term)
		var hits []hit
		err := s.tx.ScanKV(prefix, func(k, v []byte) error {
			tf, length, err := decodePosting(v)
			if err != nil {
				return err
			}
			hits = append(hits, hit{object.OID(beU64(k[len(prefix):])), tf, length})
			return nil
		})
		if err != nil {
			return nil, err
		}
		idf := p.idf(len(hits))
		for _, h := range hits {
			if s.ok(h.oid) {
				scores[h.oid] += p.weight(idf, h.tf, h.length)
			}
		}
	}
	t := &topK{k: depth}
	for oid, sc := range scores {
		t.offer(scored{oid, sc})
	}
	return t.sorted(), nil
}

func (s *scanSearch) vector(q []float32, depth int) ([]scored, error) {
	t := &topK{k: depth}
	var buf []float32
	err := s.tx.ScanKV([]byte(preVector), func(k, v []byte) error {
		oid := object.OID(beU64(k[len(preVector):]))
		if !s.ok(oid) {
			return nil
		}
		var err error
		buf, err = decodeVector(buf[:0], v)
		if err != nil {
			return err
		}
		if len(buf) != len(q) {
			return ErrDimension
		}
		t.offer(scored{oid, float64(dot(q, buf))})
		return nil
	})
	return t.sorted(), err
}
