package llama_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/batos/batos/llama"
)

// freeHelperEnv makes TestContextFreeHelper run (in the child process of
// TestContextFreeUseAfterFree) instead of skipping.
const freeHelperEnv = "BATOS_LLAMA_FREE_HELPER"

// TestContextFreeUseAfterFree frees sessions and batch sessions in a child
// process whose glibc overwrites freed memory at once (no thread cache,
// MALLOC_PERTURB_). ollama's ggml patch makes ggml_backend_sched_free call
// each backend's reset through the backend, and llama_free frees the
// context's backends before its scheduler: on a GPU the CUDA backend's
// reset then wrote into its freed context (a SIGSEGV in llama_free after
// the GPU benchmark's batch), on the CPU the freed backend is only read,
// which the overwritten memory turns into a crash here too.
func TestContextFreeUseAfterFree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestContextFreeHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), freeHelperEnv+"=1",
		"GLIBC_TUNABLES=glibc.malloc.tcache_count=0", "MALLOC_PERTURB_=165")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, tail(out, 2000))
	}
}

func TestContextFreeHelper(t *testing.T) {
	if os.Getenv(freeHelperEnv) == "" {
		t.Skip("run by TestContextFreeUseAfterFree")
	}
	m := openTiny(t)
	ctx := context.Background()
	for range 3 {
		s, err := m.NewSession(llama.SessionOptions{ContextSize: 256})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Generate(ctx, llama.Request{Prompt: "hello", MaxTokens: 4}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := m.NewBatchSession(4, llama.SessionOptions{ContextSize: 1024})
		if err != nil {
			t.Fatal(err)
		}
		reqs := []llama.Request{{Prompt: "hello", MaxTokens: 4}, {Prompt: "x", MaxTokens: 4}, {Prompt: "the cat", MaxTokens: 4}, {Prompt: "y", MaxTokens: 4}}
		if _, _, err := b.GenerateBatch(ctx, reqs); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
