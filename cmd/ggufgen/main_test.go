package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batos/batos/llama/gguf"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.gguf")
	var out bytes.Buffer
	if err := run([]string{"-o", model, "-layers", "3", "-embd", "256", "-ff", "256", "-type", "q4_k", "-vocab", "600"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "layers 3, embd 256") {
		t.Errorf("output: %s", out.String())
	}
	f, err := gguf.Open(model)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := gguf.ValidateLlama(f)
	if err != nil || p.Layers != 3 || p.Embd != 256 || p.Vocab != 600 {
		t.Errorf("params %+v, %v", p, err)
	}

	lora := filepath.Join(dir, "l.gguf")
	out.Reset()
	if err := run([]string{"-kind", "lora", "-o", lora, "-layers", "3", "-embd", "256", "-ff", "256", "-rank", "4", "-targets", "attn_q,attn_v"}, &out); err != nil {
		t.Fatal(err)
	}
	a, err := gguf.Open(lora)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := gguf.ValidateLoRA(a, f); err != nil || len(a.Tensors) != 12 {
		t.Errorf("adapter: %d tensors, %v", len(a.Tensors), err)
	}

	for _, args := range [][]string{{}, {"-kind", "x", "-o", model}, {"-o", model, "-type", "q9"}, {"-o", model, "-embd", "63"}} {
		if err := run(args, &out); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
