package llama

import (
	"unsafe"

	ollama "github.com/ollama/ollama/llama"
)

// This file is the seam to ollama's wrapper (github.com/ollama/ollama@v0.17.4,
// package llama), used where llama.cpp takes structs by value (model and
// context parameters, batches, the common sampler). Its types keep the C
// pointer unexported as their first field; the helpers below read it so our
// hand-written prototypes (cgo.go) can free and inspect what ollama creates.
// The layout is pinned by the exact module version in go.mod and checked by
// TestOllamaSeam.

// firstPtr returns the first pointer-sized field of the struct at p.
func firstPtr[T any](p *T) cptr { return *(*cptr)(unsafe.Pointer(p)) }

// kvUnifiedOffset is the byte offset of kv_unified in llama.cpp's
// llama_context_params (llama.h at ec98e2002: the last of six bools after
// 112 bytes of fields, in a 120-byte struct), which ollama.ContextParams
// holds as its only field. ollama's NewContextParams leaves it false.
const kvUnifiedOffset = 117

// The struct's size pins the layout to the llama.h above; a module update
// that changes it fails to compile here.
var _ [1]struct{} = [unsafe.Sizeof(ollama.ContextParams{}) - 119]struct{}{}

// setKVUnified sets kv_unified in p (TestOllamaSeam checks the offset
// against llama.cpp's defaults and TestBatchUnevenPrompts its effect).
func setKVUnified(p *ollama.ContextParams) {
	(*[unsafe.Sizeof(ollama.ContextParams{})]byte)(unsafe.Pointer(p))[kvUnifiedOffset] = 1
}
