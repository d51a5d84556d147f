package llama_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/batos/batos/llama"
	"github.com/batos/batos/llama/gguf"
)

// Example generates a tiny random model, loads it, and makes it write a
// method under MethodGrammar.
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

	resp, err := s.Generate(ctx, llama.Request{
		Messages: []llama.Message{
			{Role: "system", Content: "You are ALFRED. Write Starlark."},
			{Role: "user", Content: "Teach this object to display itself."},
		},
		Grammar:     llama.MethodGrammar("display_yourself", nil),
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
