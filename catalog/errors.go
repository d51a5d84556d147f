package catalog

import "github.com/batos/batos/errcode"

// Every sentinel error below is made by errcode.New: its method Code()
// string returns its class (an errcode constant, which the Synaptic
// Bridge sends as the reply code): "bad_request" for a bad
// query or document id, "unavailable" while vectors are re-embedded,
// "internal" otherwise. A server finds it with
// errors.As on an interface{ Code() string }; the sentinels stay
// comparable with errors.Is.
var (
	// ErrDimension is returned when the Embedder returns vectors of a
	// dimension different from earlier ones, or a different number of
	// vectors than texts.
	ErrDimension = errcode.New(errcode.Internal, "catalog: embedding dimension mismatch")

	// ErrNoEmbedder is returned by vector and hybrid operations (and by Index)
	// when the Catalog was built without an Embedder.
	ErrNoEmbedder = errcode.New(errcode.Internal, "catalog: no embedder")

	// ErrCorrupt is returned when an index record in the store cannot be
	// decoded.
	ErrCorrupt = errcode.New(errcode.Internal, "catalog: corrupt index record")

	// ErrMode is returned by Search for an unknown Mode.
	ErrMode = errcode.New(errcode.BadRequest, "catalog: unknown search mode")

	// ErrEmbedderChanged is returned by vector and hybrid search when the
	// stored vectors were made by another embedder than the Catalog's
	// (Options.EmbedderID), until Reembed has replaced them, and by
	// Reembed when another re-embedding took its place.
	ErrEmbedderChanged = errcode.New(errcode.Unavailable, "catalog: vectors are from another embedder")

	// ErrEmptyDocID is returned by Index and Delete for an empty document id.
	ErrEmptyDocID = errcode.New(errcode.BadRequest, "catalog: empty document id")
)
