package catalog

import "context"

// Embedder turns texts into embedding vectors. The catalog consumes it; the
// llama package implements it and the daemon wires the two together.
//
// Embed returns one vector per input text, in order, all of the same
// dimension. Implementations must be deterministic for the catalog's results
// to be reproducible, and safe for concurrent use if the Catalog is used from
// several goroutines.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}
