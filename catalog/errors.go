package catalog

import "errors"

var (
	// ErrDimension is returned when the Embedder returns vectors of a
	// dimension different from earlier ones, or a different number of
	// vectors than texts.
	ErrDimension = errors.New("catalog: embedding dimension mismatch")

	// ErrNoEmbedder is returned by vector and hybrid operations (and by Index)
	// when the Catalog was built without an Embedder.
	ErrNoEmbedder = errors.New("catalog: no embedder")

	// ErrCorrupt is returned when an index record in the store cannot be
	// decoded.
	ErrCorrupt = errors.New("catalog: corrupt index record")

	// ErrMode is returned by Search for an unknown Mode.
	ErrMode = errors.New("catalog: unknown search mode")

	// ErrEmptyDocID is returned by Index and Delete for an empty document id.
	ErrEmptyDocID = errors.New("catalog: empty document id")
)
