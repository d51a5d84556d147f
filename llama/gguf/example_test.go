package gguf_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/batos/batos/llama/gguf"
)

// Generate a tiny random Llama model and a LoRA adapter for it, then read
// the model back.
func Example() {
	dir, err := os.MkdirTemp("", "gguf-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	model := filepath.Join(dir, "tiny.gguf")
	if err := gguf.WriteLlama(model, gguf.TinyLlama()); err != nil {
		log.Fatal(err)
	}
	if err := gguf.WriteLoRA(filepath.Join(dir, "persona.gguf"), gguf.TinyLlama(), gguf.LoRAOptions{Seed: 2}); err != nil {
		log.Fatal(err)
	}

	f, err := gguf.Open(model)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	p, err := gguf.ValidateLlama(f)
	if err != nil {
		log.Fatal(err)
	}
	arch, _ := f.Metadata.String(gguf.KeyArchitecture)
	fmt.Println(arch, p.Layers, "layers,", p.Embd, "wide,", p.Vocab, "tokens,", len(f.Tensors), "tensors")
	q, _ := f.Tensor("blk.0.attn_q.weight")
	fmt.Println(q.Name, q.Type, q.Shape)
	// Output:
	// llama 2 layers, 64 wide, 500 tokens, 21 tensors
	// blk.0.attn_q.weight F32 [64 64]
}

// Write a file with custom metadata and one Q8_0 tensor, streaming the
// tensor data through the Writer.
func ExampleNewWriter() {
	path := filepath.Join(os.TempDir(), "example-writer.gguf")
	defer os.Remove(path)
	out, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	md := gguf.Metadata{{Key: "example.answer", Value: uint32(42)}, {Key: "example.words", Value: []string{"a", "b"}}}
	tensors := []gguf.TensorInfo{{Name: "w", Type: gguf.Q8_0, Shape: []int64{32, 2}}}
	w, err := gguf.NewWriter(out, md, tensors)
	if err != nil {
		log.Fatal(err)
	}
	x := make([]float32, 64)
	for i := range x {
		x[i] = float32(i) / 64
	}
	data, err := gguf.Encode(nil, gguf.Q8_0, x)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	out.Close()

	f, err := gguf.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	answer, _ := f.Metadata.Uint("example.answer")
	vals, _ := f.Float32s("w")
	fmt.Printf("answer %d, %d values, last %.3f\n", answer, len(vals), vals[63])
	// Output:
	// answer 42, 64 values, last 0.984
}

// Check a header before handing the file to llama.cpp: repeated token
// strings would make llama.cpp abort the process, so Check refuses them.
func ExampleCheckHeader() {
	var buf bytes.Buffer
	md := gguf.Metadata{{Key: "tokenizer.ggml.tokens", Value: []string{"a", "b", "a"}}}
	w, err := gguf.NewWriter(&buf, md, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	err = gguf.CheckHeader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	fmt.Println(errors.Is(err, gguf.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// gguf: invalid file: token 2 "a" repeats token 0 at offset 96 reading metadata key "tokenizer.ggml.tokens"
}
