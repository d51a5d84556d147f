package llama

import "unsafe"

// This file is the seam to ollama's wrapper (github.com/ollama/ollama@v0.17.4,
// package llama), used where llama.cpp takes structs by value (model and
// context parameters, batches, the common sampler). Its types keep the C
// pointer unexported as their first field; the helpers below read it so our
// hand-written prototypes (cgo.go) can free and inspect what ollama creates.
// The layout is pinned by the exact module version in go.mod and checked by
// TestOllamaSeam.

// firstPtr returns the first pointer-sized field of the struct at p.
func firstPtr[T any](p *T) cptr { return *(*cptr)(unsafe.Pointer(p)) }
