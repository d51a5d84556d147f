package gguf

import (
	"fmt"
	"math"
	"strconv"
)

// LoRAOptions shapes a generated LoRA adapter. Zero fields take defaults.
type LoRAOptions struct {
	Rank  int     // rank r of the A and B matrices; default 8
	Alpha float32 // adapter.lora.alpha; llama.cpp scales B·A by Alpha/Rank; default Rank
	Seed  int64   // seed of the random A and B values; different seeds give different adapters
	// Scale is the standard deviation of the B values, and so the strength
	// of the adapter; default 0.05, which changes a TinyLlama model's
	// logits about as much as its own weights set them. A's values have
	// standard deviation 1/sqrt(n_in).
	Scale float32
	// Targets lists the per-layer matrices adapted, by their tensor name
	// stem; default attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up,
	// ffn_down.
	Targets []string
}

// DefaultLoRATargets are the matrices a LoRA adapts when Targets is empty.
var DefaultLoRATargets = []string{"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}

func (o LoRAOptions) withDefaults() LoRAOptions {
	if o.Rank == 0 {
		o.Rank = 8
	}
	if o.Alpha == 0 {
		o.Alpha = float32(o.Rank)
	}
	if o.Scale == 0 {
		o.Scale = 0.05
	}
	if len(o.Targets) == 0 {
		o.Targets = DefaultLoRATargets
	}
	return o
}

// LoRAMetadata returns the metadata WriteLoRA writes.
func LoRAMetadata(base LlamaOptions, o LoRAOptions) Metadata {
	o = o.withDefaults()
	return Metadata{
		{KeyArchitecture, "llama"},
		{KeyName, base.withDefaults().Name + "-lora"},
		{KeyType, "adapter"},
		{"adapter.type", "lora"},
		{"adapter.lora.alpha", o.Alpha},
	}
}

func loraTensors(base LlamaOptions, o LoRAOptions) ([]genTensor, error) {
	if err := base.validate(); err != nil {
		return nil, err
	}
	if o.Rank < 1 || o.Rank > 4096 || !isFinite32(o.Alpha) || !isFinite32(o.Scale) || o.Scale < 0 {
		return nil, fmt.Errorf("%w: lora options: rank %d, alpha %v, scale %v", ErrInvalid, o.Rank, o.Alpha, o.Scale)
	}
	// Shapes of the adaptable matrices, {n_in, n_out}, as llamaTensors makes them.
	kv := base.Embd / base.Heads * base.HeadsKV
	shapes := map[string][2]int{
		"attn_q": {base.Embd, base.Embd}, "attn_k": {base.Embd, kv}, "attn_v": {base.Embd, kv},
		"attn_output": {base.Embd, base.Embd}, "ffn_gate": {base.Embd, base.FF},
		"ffn_up": {base.Embd, base.FF}, "ffn_down": {base.FF, base.Embd},
	}
	var ts []genTensor
	for l := 0; l < base.Layers; l++ {
		for _, target := range o.Targets {
			sh, ok := shapes[target]
			if !ok {
				return nil, fmt.Errorf("%w: lora target %q (want one of %v)", ErrInvalid, target, DefaultLoRATargets)
			}
			name := "blk." + strconv.Itoa(l) + "." + target + ".weight"
			in, out, r := int64(sh[0]), int64(sh[1]), int64(o.Rank)
			ts = append(ts,
				// A maps n_in to r, B maps r to n_out (ggml shapes {in, out}).
				genTensor{TensorInfo: TensorInfo{Name: name + ".lora_a", Type: F32, Shape: []int64{in, r}},
					Sigma: float32(1 / math.Sqrt(float64(in)))},
				genTensor{TensorInfo: TensorInfo{Name: name + ".lora_b", Type: F32, Shape: []int64{r, out}},
					Sigma: o.Scale, Fill: 0},
			)
		}
	}
	return ts, nil
}

// WriteLoRA writes to path a random LoRA adapter for the model WriteLlama
// writes with base: general.type "adapter", adapter.type "lora",
// adapter.lora.alpha, and F32 tensors blk.N.<target>.weight.lora_a
// (shape {n_in, rank}) and .lora_b (shape {rank, n_out}) for every layer
// and target, the layout llama.cpp's llama_adapter_lora_init expects.
func WriteLoRA(path string, base LlamaOptions, o LoRAOptions) error {
	base, o = base.withDefaults(), o.withDefaults()
	ts, err := loraTensors(base, o)
	if err != nil {
		return err
	}
	return writeGenerated(path, LoRAMetadata(base, o), ts, o.Seed^0x10ba)
}
