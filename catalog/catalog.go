package catalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"

	"github.com/batos/batos/object"
)

// Options configures a Catalog. The zero value means the defaults.
type Options struct {
	// Chunk configures the semantic chunker.
	Chunk ChunkOptions
	// Splitter, if set, replaces the semantic chunker (for example
	// FixedSplitter, as a baseline in benchmarks).
	Splitter Splitter
	// K1 and B are the BM25 parameters; 0 means 1.2 and 0.75.
	K1, B float64
	// RRFK is the reciprocal rank fusion constant of hybrid search; 0
	// means 60.
	RRFK float64
	// Depth is how many results of each ranking hybrid search fuses; 0
	// means max(5*limit, 50).
	Depth int
	// Limit is the default result count when Query.Limit is 0; 0 means 10.
	Limit int
	// ANN configures the approximate vector index of the in-memory index.
	ANN ANNOptions
	// EmbedderID names the Embedder (for the daemon: its model's SHA-256
	// and the vectors' dimension). The catalog records the id of the
	// embedder that made its vectors; when it differs from this one,
	// vector and hybrid search fail with ErrEmbedderChanged until
	// Reembed has replaced them, so vectors of two models are never
	// compared. Empty: nothing is recorded or checked.
	EmbedderID string
}

func (o Options) withDefaults() Options {
	o.Chunk = o.Chunk.withDefaults()
	if o.K1 == 0 {
		o.K1 = 1.2
	}
	if o.B == 0 {
		o.B = 0.75
	}
	if o.RRFK == 0 {
		o.RRFK = 60
	}
	if o.Limit <= 0 {
		o.Limit = 10
	}
	o.ANN = o.ANN.withDefaults()
	return o
}

// Catalog indexes documents as semantic chunks in an object store and
// searches them. All reads and writes go through the caller's transaction,
// so indexing commits or rolls back with it, and a search sees the
// transaction's own uncommitted writes.
//
// A Catalog is safe for concurrent use (each transaction by one goroutine,
// as object.Tx requires). See the package documentation for the in-memory
// acceleration index that Load builds.
type Catalog struct {
	emb   Embedder
	opts  Options
	split Splitter

	mu      sync.RWMutex
	mem     *memIndex          // nil until Load; committed state only
	store   *object.Store      // set by Load
	loading bool               // Load in progress: record changes in loadBuf
	loadBuf []*change          // changes committed while loading
	pending map[uint64]*change // committed changes waiting for their turn
}

// New returns a Catalog that embeds with emb. Without Load it answers every
// search by scanning the store.
func New(emb Embedder, opts Options) *Catalog {
	opts = opts.withDefaults()
	c := &Catalog{emb: emb, opts: opts, split: opts.Splitter}
	if c.split == nil {
		c.split = NewChunker(emb, opts.Chunk)
	}
	return c
}

// Splitter returns what the Catalog splits documents with: the semantic
// Chunker unless Options.Splitter was set.
func (c *Catalog) Splitter() Splitter { return c.split }

func encodeU64(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }

func beU64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// errStop ends a scan early.
var errStop = errors.New("stop")

// peekKV reads key through a range scan, which object.Tx does not validate
// at commit: searches should not make a transaction conflict with
// concurrent indexing. It sees the transaction's own writes.
func peekKV(tx *object.Tx, key []byte) ([]byte, bool, error) {
	var out []byte
	found := false
	err := tx.ScanKV(key, func(k, v []byte) error {
		if bytes.Equal(k, key) {
			out = append([]byte(nil), v...)
			found = true
		}
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, false, err
	}
	return out, found, nil
}

// readStats reads the stats record; validate makes it a point read that
// object.Tx checks at commit (writers must, readers need not).
func readStats(tx *object.Tx, validate bool) (stats, error) {
	var b []byte
	var err error
	if validate {
		b, err = tx.GetKV([]byte(keyStats))
		if errors.Is(err, object.ErrNotFound) {
			return stats{}, nil
		}
	} else {
		var ok bool
		b, ok, err = peekKV(tx, []byte(keyStats))
		if err == nil && !ok {
			return stats{}, nil
		}
	}
	if err != nil {
		return stats{}, err
	}
	return decodeStats(b)
}

func readDoc(tx *object.Tx, docID string) (docRec, bool, error) {
	b, ok, err := peekKV(tx, docKey(docID))
	if err != nil || !ok {
		return docRec{}, false, err
	}
	d, err := decodeDoc(b)
	return d, err == nil, err
}
