package llama

import (
	"unsafe"

	ollama "github.com/ollama/ollama/llama"
)

// This file is the seam to ollama's wrapper (github.com/ollama/ollama@v0.6.5,
// package llama), used where llama.cpp takes structs by value (model and
// context parameters, batches, the common sampler). Its types keep the C
// pointer unexported as their first field; the helpers below read it so our
// hand-written prototypes (cgo.go) can free and inspect what ollama creates.
// The layout is pinned by the exact module version in go.mod and checked by
// TestOllamaSeam.

// firstPtr returns the first pointer-sized field of the struct at p.
func firstPtr[T any](p *T) cptr { return *(*cptr)(unsafe.Pointer(p)) }

// vocabBox has the layout of ollama.Vocab (struct{ c *C.struct_llama_vocab }).
type vocabBox struct{ c cptr }

func (b *vocabBox) ollama() *ollama.Vocab { return (*ollama.Vocab)(unsafe.Pointer(b)) }
