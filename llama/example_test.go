package llama_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/batos/batos/gbnf"
	"github.com/batos/batos/llama"
	"github.com/batos/batos/llama/gguf"
)

// Example generates a tiny random model, loads it, and makes it write a
// method under a grammar built with package gbnf.
func Example() {
	dir, err := os.MkdirTemp("", "llama-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.gguf")
	if err := gguf.WriteLlama(path, gguf.TinyLlama()); err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	m, err := llama.Open(ctx, path, llama.ModelOptions{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession(llama.SessionOptions{ContextSize: 512})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	g := gbnf.New()
	g.Rule("root", gbnf.Seq{gbnf.Lit("def display_yourself(self):\n    return "), gbnf.Ref("term"),
		gbnf.Rep{Node: gbnf.Seq{gbnf.Lit(" + "), gbnf.Ref("term")}, Min: 0, Max: 3}, gbnf.Lit("\n")})
	g.Rule("term", gbnf.Alt{gbnf.Lit("self.repr()"),
		gbnf.Seq{gbnf.Lit(`"`), gbnf.Rep{Node: gbnf.Class("abcdefghijklmnopqrstuvwxyz ."), Min: 0, Max: 24}, gbnf.Lit(`"`)}})
	resp, err := s.Generate(ctx, llama.Request{
		Messages: []llama.Message{
			{Role: "system", Content: "You are ALFRED. Write Starlark."},
			{Role: "user", Content: "Teach this object to display itself."},
		},
		Grammar:     g.String(),
		MaxTokens:   1000,
		Temperature: 0.8,
		Seed:        1,
	})
	if err != nil {
		log.Fatal(err)
	}
	info := m.Info()
	fmt.Println(info.Architecture, info.Layers, "layers")
	fmt.Println(strings.SplitAfter(resp.Text, "\n")[0] + "    ...")
	fmt.Println(resp.Finish)
	// Output:
	// llama 2 layers
	// def display_yourself(self):
	//     ...
	// eog
}

// ExampleOpenEmbedder generates a tiny random BERT sentence embedding
// model and embeds two texts with it.
func ExampleOpenEmbedder() {
	dir, err := os.MkdirTemp("", "llama-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bert.gguf")
	if err := gguf.WriteBERT(path, gguf.TinyBERT()); err != nil {
		log.Fatal(err)
	}
	e, err := llama.OpenEmbedder(context.Background(), path, llama.EmbedderOptions{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	vecs, err := e.Embed(context.Background(), []string{"The living image persists.", "Hello!"})
	if err != nil {
		log.Fatal(err)
	}
	var norm float64
	for _, x := range vecs[0] {
		norm += float64(x) * float64(x)
	}
	fmt.Printf("%d vectors of %d dimensions, %s pooling, squared norm %.3f\n", len(vecs), e.Dim(), e.Pooling(), norm)
	// Output: 2 vectors of 32 dimensions, mean pooling, squared norm 1.000
}
