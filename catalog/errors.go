package catalog

// Every sentinel error below has a method Code() string that returns its
// class, one of the stable codes of the Synaptic Bridge (package
// bridge/wire, which catalog does not import): "bad_request" for a bad
// query or document id, "internal" otherwise. A server finds it with
// errors.As on an interface{ Code() string }; the sentinels stay
// comparable with errors.Is.
var (
	// ErrDimension is returned when the Embedder returns vectors of a
	// dimension different from earlier ones, or a different number of
	// vectors than texts.
	ErrDimension = newError("internal", "catalog: embedding dimension mismatch")

	// ErrNoEmbedder is returned by vector and hybrid operations (and by Index)
	// when the Catalog was built without an Embedder.
	ErrNoEmbedder = newError("internal", "catalog: no embedder")

	// ErrCorrupt is returned when an index record in the store cannot be
	// decoded.
	ErrCorrupt = newError("internal", "catalog: corrupt index record")

	// ErrMode is returned by Search for an unknown Mode.
	ErrMode = newError("bad_request", "catalog: unknown search mode")

	// ErrEmptyDocID is returned by Index and Delete for an empty document id.
	ErrEmptyDocID = newError("bad_request", "catalog: empty document id")
)

// codedError is a sentinel error with the code a server reports it under.
type codedError struct{ code, msg string }

func newError(code, msg string) error { return &codedError{code: code, msg: msg} }

func (e *codedError) Error() string { return e.msg }

// Code returns the error's class, e.g. "bad_request".
func (e *codedError) Code() string { return e.code }
