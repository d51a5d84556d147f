package catalog

import (
	"math/rand/v2"
	"testing"

	"github.com/batos/batos/object"
)

// TestIVFCompaction checks that compaction keeps the inverted file
// consistent: every live entry in exactly one list, no dead or stale ids,
// and a full probe equal to the exact scan.
func TestIVFCompaction(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m := newMemIndex()
	m.ann = ANNOptions{MinChunks: 100, Lists: 16, Fraction: 1}
	d := m.addDoc("d", nil)
	const n, dim = 3000, 8
	for i := range n {
		v := make([]float32, dim)
		for j := range v {
			v[j] = rng.Float32()*2 - 1
		}
		normalize(v)
		m.addChunk(d, memChunk{oid: object.OID(i + 1), doc: "d", vec: v, terms: []termFreq{{"t", 1}}})
	}
	m.maybeIndexVectors()
	if m.ivf == nil {
		t.Fatal("no inverted file at 3000 chunks")
	}
	for i := 0; i < n; i += 3 {
		if i%2 == 0 {
			m.killChunk(object.OID(i+1), []string{"t"})
		}
	}
	for i := 1; i < n; i += 4 {
		m.killChunk(object.OID(i+1), []string{"t"})
	}
	m.compact()
	seen := map[int32]int{}
	for _, l := range m.ivf.lists {
		for _, id := range l {
			if int(id) >= len(m.entries) || m.entries[id].dead {
				t.Fatalf("list holds bad id %d", id)
			}
			seen[id]++
		}
	}
	if len(seen) != m.live() || m.live() != len(m.entries) {
		t.Fatalf("%d ids in lists, %d live, %d entries", len(seen), m.live(), len(m.entries))
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("id %d in %d lists", id, c)
		}
	}
	if m.df["t"] != m.live() {
		t.Errorf("df = %d, want %d", m.df["t"], m.live())
	}
	s := &memSearch{m: m}
	q := m.vecs[:dim]
	approx := s.approxVector(q, 20)
	m.ivf = nil
	exact := s.vector(q, 20)
	if len(approx) != len(exact) {
		t.Fatalf("%d vs %d results", len(approx), len(exact))
	}
	for i := range exact {
		if approx[i] != exact[i] {
			t.Fatalf("result %d: ivf %v, exact %v", i, approx[i], exact[i])
		}
	}
}
