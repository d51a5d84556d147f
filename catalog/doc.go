// Package catalog is the knowledge catalog of BAT OS, the "Fractal Memory"
// of blueprint Part II 2.1: it splits documents into semantically coherent
// chunks, stores them as objects with a text, metadata and vector index in
// the object store, and searches them by BM25, by embedding similarity, or
// by both fused.
//
// # Main types
//
// [Chunker] splits text into sentences ([Sentences], Punkt from
// github.com/neurosnap/sentences), embeds each sentence with its neighbours
// through an [Embedder], and cuts where the cosine distance between
// neighbours is unusually large ([Threshold]: percentile, standard
// deviation, interquartile or gradient), within a minimum and a hard
// maximum chunk size. [FixedChunks] is the fixed-size baseline.
//
// [Catalog] indexes and searches. [Catalog.Index], [Catalog.Delete] and
// [Catalog.Search] work inside the caller's *object.Tx: a chunk is an object
// (slots doc_id, index, text, metadata, embedding) and its postings, vector
// and metadata entries are KV keys under "catalog/", so indexing commits or
// rolls back with the cognitive cycle that did it, and a search sees the
// transaction's own uncommitted writes. Terms are lower-cased, stop words
// dropped and stemmed with Snowball ([Terms]).
//
// # Embedders
//
// [Catalog.Prepare] chunks and embeds a document outside any transaction;
// [Catalog.IndexPrepared] writes it (chunks, postings, vectors, metadata)
// in one, so a transaction that conflicts and runs again does not embed
// again. [Catalog.Index] is the two in a row.
//
// With [Options.EmbedderID] set the catalog records which embedder made
// its vectors (under catalog/e). A Catalog whose embedder differs (or a
// catalog whose vectors predate the record) refuses vector and hybrid
// search with [ErrEmbedderChanged] until [Catalog.Reembed] has replaced
// every vector, a few documents per transaction with progress, so
// vectors of two models are never compared; BM25 search and indexing go
// on meanwhile. [Catalog.EmbedderStatus] reports the state.
//
// # Search and the in-memory index
//
// Without [Catalog.Load] a search scans the store: postings of the query
// terms, and every vector. That is exact and always current but slow on a
// large corpus. Load builds an in-memory mirror of the committed catalog
// (postings, document frequencies, metadata, and all vectors in one
// contiguous slab) and keeps it current with tx.OnCommit. Every change
// advances a version (counter and random token) stored in the transaction
// and logged under catalog/l/, so a search can tell how the transaction's
// view differs from the mirror: the documents changed between the two
// versions are masked out of the mirror and read from the transaction
// instead. When the difference cannot be established (more than 256
// versions apart, or histories that diverged) the search falls back to the
// scan.
//
// Vector search is exact cosine (a scan of the slab) until the vectors hold
// 12.8M floats (50,000 chunks of dimension 256); from there the in-memory
// index also keeps an inverted file ([ANNOptions]: spherical k-means with
// sqrt(n) lists, rebuilt when the corpus doubles) and scores only the
// nearest lists, 1/16 of the vectors by default. That is approximate:
// recall@10 against the exact scan was 0.75 at 100,000 chunks with the
// hashing test embedder (see BENCHMARKS.md). Searches with a
// metadata filter always scan exactly. A hybrid search runs its two
// rankings in parallel.
//
// # Concurrency
//
// A Catalog is safe for concurrent use; each *object.Tx must be used by one
// goroutine as the object package requires. Index and Delete read the
// catalog's stats record with a validated read, so two transactions that
// change the catalog concurrently conflict at commit (object.ErrConflict)
// instead of losing an update. Search reads only through range scans and
// never makes a transaction conflict.
//
// # Caveats
//
// The Embedder's dimension is fixed by the first indexed document; a
// different one gives [ErrDimension] (unless the EmbedderID differs too:
// then Reembed moves the catalog to the new dimension). Chunk sizes are counted in characters
// (runes), not model tokens: set ChunkOptions.MaxChars below the model's
// window. The change log keeps the last 4096 versions. The in-memory index
// holds every vector (dim × 4 bytes per chunk) in memory, and building the
// inverted file takes seconds at 100,000 chunks (inside Load, or inside the
// OnCommit of the commit that doubles the corpus). If a committed change
// never reaches the in-memory index, it is dropped (Stale reports true) and
// searches scan the store until Load is called again.
package catalog
