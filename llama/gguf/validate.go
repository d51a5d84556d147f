package gguf

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// LlamaParams are the hyperparameters of a Llama model file.
type LlamaParams struct {
	Layers, Embd, Heads, HeadsKV, FF, Ctx, Vocab int
	RMSEps, RopeFreqBase                         float32
}

// ValidateLlama checks that f is a Llama model llama.cpp can load:
// general.architecture "llama", every required llama.* key with the type
// llama.cpp reads it as, a consistent RoPE dimension, a tokenizer with
// unique tokens (llama.cpp aborts the process on duplicates) and matching
// score and type arrays (the vocabulary rules of Check), and every
// required tensor with the expected shape. Missing keys or tensors give
// errors wrapping ErrNotFound; values of the wrong type ErrType;
// inconsistent values ErrInvalid.
func ValidateLlama(f *File) (LlamaParams, error) {
	var p LlamaParams
	md := f.Metadata
	arch, err := md.String(KeyArchitecture)
	if err != nil {
		return p, err
	}
	if arch != "llama" {
		return p, fmt.Errorf("%w: %s is %q, want \"llama\"", ErrInvalid, KeyArchitecture, arch)
	}
	u32 := func(key string, dst *int, required bool) error {
		v, ok := md.Get(key)
		if !ok {
			if required {
				return fmt.Errorf("%w: required key %q", ErrNotFound, key)
			}
			return nil
		}
		x, ok := v.(uint32)
		if !ok {
			return fmt.Errorf("%w: key %q holds %T, llama.cpp reads uint32", ErrType, key, v)
		}
		*dst = int(x)
		return nil
	}
	for _, k := range []struct {
		key      string
		dst      *int
		required bool
	}{
		{"llama.context_length", &p.Ctx, true},
		{"llama.embedding_length", &p.Embd, true},
		{"llama.block_count", &p.Layers, true},
		{"llama.feed_forward_length", &p.FF, true},
		{"llama.attention.head_count", &p.Heads, true},
		{"llama.attention.head_count_kv", &p.HeadsKV, false},
	} {
		if err := u32(k.key, k.dst, k.required); err != nil {
			return p, err
		}
	}
	if p.HeadsKV == 0 {
		p.HeadsKV = p.Heads
	}
	if p.Embd == 0 || p.Layers == 0 || p.Heads == 0 || p.FF == 0 || p.Embd%p.Heads != 0 || p.Heads%p.HeadsKV != 0 {
		return p, fmt.Errorf("%w: inconsistent dimensions %+v", ErrInvalid, p)
	}
	rot := p.Embd / p.Heads
	if err := u32("llama.rope.dimension_count", &rot, false); err != nil {
		return p, err
	}
	if rot != p.Embd/p.Heads {
		return p, fmt.Errorf("%w: rope dimension %d, want head size %d", ErrInvalid, rot, p.Embd/p.Heads)
	}
	if p.RMSEps, err = md.Float32("llama.attention.layer_norm_rms_epsilon"); err != nil {
		return p, err
	}
	p.RopeFreqBase = 10000
	if _, ok := md.Get("llama.rope.freq_base"); ok {
		if p.RopeFreqBase, err = md.Float32("llama.rope.freq_base"); err != nil {
			return p, err
		}
	}

	if _, err := md.String("tokenizer.ggml.model"); err != nil {
		return p, err
	}
	tokens, err := md.Strings(keyTokens)
	if err != nil {
		return p, err
	}
	p.Vocab = len(tokens)
	set := make(tokenSet, len(tokens))
	for i, t := range tokens {
		if err := set.add(i, t); err != nil {
			return p, err
		}
	}
	if err := checkVocab(md.shape); err != nil {
		return p, err
	}
	if err := u32("llama.vocab_size", new(int), false); err != nil {
		return p, err
	}

	kv := p.Embd / p.Heads * p.HeadsKV
	want := map[string][]int64{
		"token_embd.weight":  {int64(p.Embd), int64(p.Vocab)},
		"output_norm.weight": {int64(p.Embd)},
	}
	for i := 0; i < p.Layers; i++ {
		b := "blk." + strconv.Itoa(i) + "."
		e, k, ff := int64(p.Embd), int64(kv), int64(p.FF)
		want[b+"attn_norm.weight"] = []int64{e}
		want[b+"attn_q.weight"] = []int64{e, e}
		want[b+"attn_k.weight"] = []int64{e, k}
		want[b+"attn_v.weight"] = []int64{e, k}
		want[b+"attn_output.weight"] = []int64{e, e}
		want[b+"ffn_norm.weight"] = []int64{e}
		want[b+"ffn_gate.weight"] = []int64{e, ff}
		want[b+"ffn_up.weight"] = []int64{e, ff}
		want[b+"ffn_down.weight"] = []int64{ff, e}
	}
	if _, ok := f.Tensor("output.weight"); ok {
		want["output.weight"] = []int64{int64(p.Embd), int64(p.Vocab)}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t, ok := f.Tensor(n)
		if !ok {
			return p, fmt.Errorf("%w: tensor %q", ErrNotFound, n)
		}
		if !slices.Equal(trimOnes(t.Shape), want[n]) {
			return p, fmt.Errorf("%w: tensor %q has shape %v, want %v", ErrInvalid, n, t.Shape, want[n])
		}
	}
	return p, nil
}

func trimOnes(s []int64) []int64 {
	for len(s) > 1 && s[len(s)-1] == 1 {
		s = s[:len(s)-1]
	}
	return s
}

// ValidateLoRA checks that adapter is a LoRA adapter llama.cpp can apply
// to base: general.type "adapter", adapter.type "lora", the same
// architecture, and for every tensor pair <name>.lora_a / <name>.lora_b a
// base tensor <name> with matching shapes (A {n_in, r}, B {r, n_out}).
func ValidateLoRA(adapter, base *File) error {
	md := adapter.Metadata
	if t, err := md.String(KeyType); err != nil || t != "adapter" {
		return fmt.Errorf("%w: %s is not \"adapter\" (%v)", ErrInvalid, KeyType, err)
	}
	if t, err := md.String("adapter.type"); err != nil || t != "lora" {
		return fmt.Errorf("%w: adapter.type is not \"lora\" (%v)", ErrInvalid, err)
	}
	aa, err := md.String(KeyArchitecture)
	if err != nil {
		return err
	}
	if ba, _ := base.Metadata.String(KeyArchitecture); aa != ba {
		return fmt.Errorf("%w: adapter architecture %q, base %q", ErrInvalid, aa, ba)
	}
	if v, ok := md.Get("adapter.lora.alpha"); ok {
		if _, ok := v.(float32); !ok {
			return fmt.Errorf("%w: adapter.lora.alpha holds %T, want float32", ErrType, v)
		}
	}
	pairs := map[string][2]*TensorInfo{}
	for i := range adapter.Tensors {
		t := &adapter.Tensors[i]
		switch {
		case strings.HasSuffix(t.Name, ".lora_a"):
			p := pairs[strings.TrimSuffix(t.Name, ".lora_a")]
			p[0] = t
			pairs[strings.TrimSuffix(t.Name, ".lora_a")] = p
		case strings.HasSuffix(t.Name, ".lora_b"):
			p := pairs[strings.TrimSuffix(t.Name, ".lora_b")]
			p[1] = t
			pairs[strings.TrimSuffix(t.Name, ".lora_b")] = p
		case strings.HasSuffix(t.Name, "_norm.weight"):
		default:
			return fmt.Errorf("%w: adapter tensor %q has an unexpected suffix", ErrInvalid, t.Name)
		}
	}
	for name, p := range pairs {
		if p[0] == nil || p[1] == nil {
			return fmt.Errorf("%w: adapter tensor pair for %q is missing one half", ErrInvalid, name)
		}
		bt, ok := base.Tensor(name)
		if !ok {
			return fmt.Errorf("%w: adapter tensor %q has no base tensor", ErrNotFound, name)
		}
		a, b := p[0].Shape, p[1].Shape
		if len(bt.Shape) < 2 || len(a) < 2 || len(b) < 2 {
			return fmt.Errorf("%w: adapter tensor %q is not a matrix", ErrInvalid, name)
		}
		if name == "token_embd.weight" {
			if bt.Shape[0] != b[1] || bt.Shape[1] != a[1] {
				return fmt.Errorf("%w: adapter tensor %q has the wrong shape", ErrInvalid, name)
			}
			continue
		}
		if bt.Shape[0] != a[0] || bt.Shape[1] != b[1] || a[1] != b[0] {
			return fmt.Errorf("%w: adapter tensor %q: A %v and B %v do not fit base %v", ErrInvalid, name, a, b, bt.Shape)
		}
	}
	return nil
}
