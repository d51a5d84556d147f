package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/batos/batos/llama/gguf"
)

// Context sizes when -ctx-size is not given: the demo model's byte
// vocabulary spends one token per byte, so its prompts take about four
// times the tokens a Llama 3.1 prompt takes.
const (
	defaultContextSize = 4096
	demoContextSize    = 8192
)

// demoPersonas get a generated LoRA adapter each in the demo setup.
var demoPersonas = []string{"brick", "robin", "alfred", "babs"}

// ensureDemoModel creates, once, a random-weight Llama-architecture model
// and persona adapters under data/demo with the project's GGUF writer.
func ensureDemoModel(data string, log *slog.Logger) (model, adapters string, err error) {
	dir := filepath.Join(data, "demo")
	model = filepath.Join(dir, "demo-llama.gguf")
	adapters = filepath.Join(dir, "adapters")
	log.Warn("no -model given: using a generated random-weight DEMO model; its prose is noise, but plans and methods are grammar-constrained so the protocol completes. Pass -model with a Llama 3.1 Instruct GGUF for real answers.", "file", model)
	opts := demoOptions()
	if _, err := os.Stat(model); err == nil {
		return model, adapters, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", err
	}
	if err := os.MkdirAll(adapters, 0o755); err != nil {
		return "", "", err
	}
	for i, p := range demoPersonas {
		path := filepath.Join(adapters, p+".gguf")
		if err := gguf.WriteLoRA(path, opts, gguf.LoRAOptions{Rank: 4, Alpha: 8, Seed: int64(100 + i), Scale: 0.05}); err != nil {
			return "", "", fmt.Errorf("adapter %s: %w", p, err)
		}
	}
	// The model is written last, under a temporary name, so a crash
	// leaves no half-written model that a later start would trust.
	tmp := model + ".tmp"
	if err := gguf.WriteLlama(tmp, opts); err != nil {
		return "", "", err
	}
	if err := os.Rename(tmp, model); err != nil {
		return "", "", err
	}
	log.Info("demo model written", "file", model, "adapters", strings.Join(demoPersonas, ","))
	return model, adapters, nil
}

func demoOptions() gguf.LlamaOptions {
	o := gguf.TinyLlama()
	o.Name = "batos-demo (random weights)"
	o.Seed = 20260826
	return o
}
