// Command ggufgen writes generated GGUF files: a random Llama model (tiny
// by default), a LoRA adapter for such a model, or a model with
// Llama-3.1-8B's shape for GPU benchmarks. The data is streamed to disk,
// so the 8B-shaped model (about 4.2 GiB) needs little memory.
//
// Usage:
//
//	ggufgen -kind llama -o tiny.gguf
//	ggufgen -kind llama -layers 8 -embd 512 -ff 1536 -type q4_k -o mid.gguf
//	ggufgen -kind lora -layers 8 -embd 512 -ff 1536 -rank 16 -seed 2 -o persona.gguf
//	ggufgen -kind 8b -o llama8b-shape.gguf
//
// Dimension flags left at 0 keep the kind's defaults (TinyLlama for llama
// and lora, Llama8BShape for 8b). For lora they describe the base model.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/batos/batos/llama/gguf"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ggufgen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ggufgen", flag.ContinueOnError)
	var (
		kind    = fs.String("kind", "llama", "what to write: llama, lora or 8b")
		out     = fs.String("o", "", "output path (required)")
		layers  = fs.Int("layers", 0, "transformer blocks")
		embd    = fs.Int("embd", 0, "embedding width")
		heads   = fs.Int("heads", 0, "attention heads")
		headsKV = fs.Int("heads-kv", 0, "key/value heads")
		ff      = fs.Int("ff", 0, "feed-forward width")
		ctx     = fs.Int("ctx", 0, "training context length")
		vocab   = fs.Int("vocab", -1, "vocabulary size (0 = base byte vocabulary)")
		typ     = fs.String("type", "", "weight type: f32, f16, q8_0 or q4_k")
		seed    = fs.Int64("seed", 1, "random seed (of the adapter, for lora)")
		name    = fs.String("name", "", "general.name")
		rank    = fs.Int("rank", 0, "lora: rank (default 8)")
		alpha   = fs.Float64("alpha", 0, "lora: alpha (default rank)")
		scale   = fs.Float64("scale", 0, "lora: standard deviation of B (default 0.05)")
		targets = fs.String("targets", "", "lora: comma-separated matrices (default "+strings.Join(gguf.DefaultLoRATargets, ",")+")")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-o is required")
	}
	var o gguf.LlamaOptions
	switch *kind {
	case "llama", "lora":
		o = gguf.TinyLlama()
	case "8b":
		o = gguf.Llama8BShape()
	default:
		return fmt.Errorf("unknown -kind %q (want llama, lora or 8b)", *kind)
	}
	for _, f := range []struct {
		v   int
		dst *int
	}{{*layers, &o.Layers}, {*embd, &o.Embd}, {*heads, &o.Heads}, {*headsKV, &o.HeadsKV}, {*ff, &o.FF}, {*ctx, &o.Ctx}} {
		if f.v != 0 {
			*f.dst = f.v
		}
	}
	if *vocab >= 0 {
		o.Vocab = *vocab
	}
	if *typ != "" {
		t, err := gguf.ParseTensorType(*typ)
		if err != nil {
			return err
		}
		o.Type = t
	}
	if *name != "" {
		o.Name = *name
	}

	start := time.Now()
	if *kind == "lora" {
		lo := gguf.LoRAOptions{Rank: *rank, Alpha: float32(*alpha), Seed: *seed, Scale: float32(*scale)}
		if *targets != "" {
			lo.Targets = strings.Split(*targets, ",")
		}
		if err := gguf.WriteLoRA(*out, o, lo); err != nil {
			return err
		}
	} else {
		o.Seed = *seed
		if err := gguf.WriteLlama(*out, o); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)

	f, err := gguf.Open(*out)
	if err != nil {
		return fmt.Errorf("reading back: %w", err)
	}
	defer f.Close()
	var params int64
	types := map[gguf.TensorType]int{}
	for _, t := range f.Tensors {
		params += t.Elements()
		types[t.Type]++
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %d bytes (%.1f MiB) in %v, %.0f MB/s\n",
		*out, *kind, f.Size, float64(f.Size)/(1<<20), elapsed.Round(time.Millisecond),
		float64(f.Size)/1e6/elapsed.Seconds())
	fmt.Fprintf(stdout, "  %d tensors %v, %d parameters, %d metadata keys\n", len(f.Tensors), types, params, len(f.Metadata))
	if *kind != "lora" {
		fmt.Fprintf(stdout, "  layers %d, embd %d, heads %d/%d kv, ff %d, ctx %d, vocab %d, type %v, seed %d\n",
			o.Layers, o.Embd, o.Heads, o.HeadsKV, o.FF, o.Ctx, mustVocab(f), o.Type, o.Seed)
	}
	return nil
}

func mustVocab(f *gguf.File) int {
	n, _ := f.Metadata.ArrayLen("tokenizer.ggml.tokens")
	return n
}
