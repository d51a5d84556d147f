package gguf

import (
	"fmt"
	"strconv"
)

// LlamaOptions shapes a generated Llama model. A zero field takes the
// TinyLlama value, except Vocab (0 means the base byte vocabulary,
// BaseVocabSize tokens), Type (0 is F32) and Seed.
type LlamaOptions struct {
	Layers  int // transformer blocks
	Embd    int // embedding width
	Heads   int // attention heads
	HeadsKV int // key/value heads (grouped-query attention); divides Heads
	FF      int // feed-forward width
	Ctx     int // training context length written to the metadata
	Vocab   int // vocabulary size; 0 = ByteVocab(0), larger pads with filler tokens
	// Type is the type of the weight matrices. A matrix whose row length is
	// not a multiple of the type's block size falls back to Q8_0, then
	// F16, as llama.cpp's quantizer does. Norm weights are always F32.
	Type TensorType
	Seed int64  // seed of the random weights
	Name string // general.name
	// QuantizeFloats makes Q8_0 and Q4_K weights by quantizing random
	// float values with this package's quantizers. By default random
	// blocks are drawn directly, with the same standard deviation: many
	// times faster (what makes the 8B shape quick to write), and just as
	// random and finite.
	QuantizeFloats bool
}

// TinyLlama returns the options of a tiny random model (2 layers, 64
// wide, 4 heads, 2 KV heads, FF 128, context 512, F32, byte vocabulary)
// that llama.cpp loads and runs in milliseconds on a CPU.
func TinyLlama() LlamaOptions {
	return LlamaOptions{Layers: 2, Embd: 64, Heads: 4, HeadsKV: 2, FF: 128, Ctx: 512, Type: F32, Seed: 1, Name: "tiny-llama"}
}

// Llama8BShape returns the options of a model with Llama-3.1-8B's
// dimensions (32 layers, 4096 wide, 32 heads, 8 KV heads, FF 14336,
// vocabulary 128256, context 131072) and Q4_K weights; about 4.2 GiB of
// random but finite values, for GPU benchmarks.
func Llama8BShape() LlamaOptions {
	return LlamaOptions{Layers: 32, Embd: 4096, Heads: 32, HeadsKV: 8, FF: 14336, Ctx: 131072,
		Vocab: 128256, Type: Q4_K, Seed: 1, Name: "llama-3.1-8b-shape"}
}

func (o LlamaOptions) withDefaults() LlamaOptions {
	t := TinyLlama()
	if o.Layers == 0 {
		o.Layers = t.Layers
	}
	if o.Embd == 0 {
		o.Embd = t.Embd
	}
	if o.Heads == 0 {
		o.Heads = t.Heads
	}
	if o.HeadsKV == 0 {
		o.HeadsKV = min(t.HeadsKV, o.Heads)
		if o.Heads%o.HeadsKV != 0 {
			o.HeadsKV = o.Heads
		}
	}
	if o.FF == 0 {
		o.FF = t.FF
	}
	if o.Ctx == 0 {
		o.Ctx = t.Ctx
	}
	if o.Name == "" {
		o.Name = "generated-llama"
	}
	return o
}

func (o LlamaOptions) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: llama options: "+format, append([]any{ErrInvalid}, args...)...)
	}
	switch {
	case o.Layers < 1 || o.Embd < 1 || o.Heads < 1 || o.HeadsKV < 1 || o.FF < 1 || o.Ctx < 1 || o.Vocab < 0:
		return bad("dimensions must be positive: %+v", o)
	case o.Embd%o.Heads != 0:
		return bad("embedding width %d is not a multiple of %d heads", o.Embd, o.Heads)
	case (o.Embd/o.Heads)%2 != 0:
		return bad("head size %d must be even for RoPE", o.Embd/o.Heads)
	case o.Heads%o.HeadsKV != 0:
		return bad("%d heads is not a multiple of %d KV heads", o.Heads, o.HeadsKV)
	case o.Layers > 1<<12 || o.Embd > 1<<16 || o.FF > 1<<18 || o.Ctx > 1<<24 || o.Vocab > 1<<22:
		return bad("dimensions too large: %+v", o)
	case !o.Type.Codec():
		return bad("weight type %v (want F32, F16, Q8_0 or Q4_K)", o.Type)
	}
	return nil
}

// fileType returns llama.cpp's general.file_type for a weight type.
func fileType(t TensorType) uint32 {
	switch t {
	case F16:
		return 1 // MOSTLY_F16
	case Q8_0:
		return 7 // MOSTLY_Q8_0
	case Q4_K:
		return 15 // MOSTLY_Q4_K_M
	}
	return 0 // ALL_F32
}

// matrixType picks the stored type of a matrix with rows of n elements.
func matrixType(t TensorType, n int) TensorType {
	for _, c := range []TensorType{t, Q8_0, F16} {
		if int64(n)%c.BlockSize() == 0 && (c == t || c.BlockBytes()*t.BlockSize() >= t.BlockBytes()*c.BlockSize()) {
			return c
		}
	}
	return F16
}

// LlamaMetadata returns the metadata WriteLlama writes for o.
func LlamaMetadata(o LlamaOptions) (Metadata, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	tokens, scores, types, err := ByteVocab(o.Vocab)
	if err != nil {
		return nil, err
	}
	return Metadata{
		{KeyArchitecture, "llama"},
		{KeyName, o.Name},
		{KeyFileType, fileType(o.Type)},
		{"general.quantization_version", uint32(2)},
		{"llama.vocab_size", uint32(len(tokens))},
		{"llama.context_length", uint32(o.Ctx)},
		{"llama.embedding_length", uint32(o.Embd)},
		{"llama.block_count", uint32(o.Layers)},
		{"llama.feed_forward_length", uint32(o.FF)},
		{"llama.attention.head_count", uint32(o.Heads)},
		{"llama.attention.head_count_kv", uint32(o.HeadsKV)},
		{"llama.rope.dimension_count", uint32(o.Embd / o.Heads)},
		{"llama.rope.freq_base", float32(500000)},
		{"llama.attention.layer_norm_rms_epsilon", float32(1e-5)},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.bos_token_id", uint32(TokenIDBOS)},
		{"tokenizer.ggml.eos_token_id", uint32(TokenIDEOS)},
		{"tokenizer.ggml.unknown_token_id", uint32(TokenIDUnk)},
		{"tokenizer.ggml.eot_token_id", uint32(TokenIDEOT)},
		{"tokenizer.ggml.add_bos_token", true},
		{"tokenizer.ggml.add_eos_token", false},
		{"tokenizer.ggml.add_space_prefix", false},
		{"tokenizer.chat_template", llama3ChatTemplate},
	}, nil
}

// weightSigma is the standard deviation of generated weight matrices:
// small enough that activations stay well inside float16 range through
// any number of layers (every block's input is RMS-normalised).
const weightSigma = 0.02

func llamaTensors(o LlamaOptions, nVocab int) []genTensor {
	headDim := o.Embd / o.Heads
	kv := headDim * o.HeadsKV
	mat := func(name string, in, out int) genTensor {
		return genTensor{TensorInfo: TensorInfo{Name: name, Type: matrixType(o.Type, in), Shape: []int64{int64(in), int64(out)}},
			Sigma: weightSigma, Direct: !o.QuantizeFloats}
	}
	norm := func(name string) genTensor {
		return genTensor{TensorInfo: TensorInfo{Name: name, Type: F32, Shape: []int64{int64(o.Embd)}}, Fill: 1}
	}
	ts := []genTensor{
		mat("token_embd.weight", o.Embd, nVocab),
		norm("output_norm.weight"),
		mat("output.weight", o.Embd, nVocab),
	}
	for i := 0; i < o.Layers; i++ {
		p := "blk." + strconv.Itoa(i) + "."
		ts = append(ts,
			norm(p+"attn_norm.weight"),
			mat(p+"attn_q.weight", o.Embd, o.Embd),
			mat(p+"attn_k.weight", o.Embd, kv),
			mat(p+"attn_v.weight", o.Embd, kv),
			mat(p+"attn_output.weight", o.Embd, o.Embd),
			norm(p+"ffn_norm.weight"),
			mat(p+"ffn_gate.weight", o.Embd, o.FF),
			mat(p+"ffn_up.weight", o.Embd, o.FF),
			mat(p+"ffn_down.weight", o.FF, o.Embd),
		)
	}
	return ts
}

// LlamaTensors returns the tensors (names, types, shapes, offsets)
// WriteLlama writes for o.
func LlamaTensors(o LlamaOptions) ([]TensorInfo, error) {
	md, err := LlamaMetadata(o)
	if err != nil {
		return nil, err
	}
	n, _ := md.ArrayLen("tokenizer.ggml.tokens")
	specs := llamaTensors(o.withDefaults(), n)
	infos := make([]TensorInfo, len(specs))
	for i, s := range specs {
		infos[i] = s.TensorInfo
	}
	laid, _, _, err := Layout(md, infos)
	return laid, err
}

// WriteLlama writes a random Llama model shaped by o to path: a GGUF file
// with general.architecture "llama", every llama.* hyperparameter, the
// byte-level vocabulary of ByteVocab and the tensors token_embd,
// output_norm, output and blk.N.{attn_norm, attn_q, attn_k, attn_v,
// attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}. Weights are random
// with standard deviation 0.02, norms are 1. The same options and seed
// give the same bytes. The file is streamed (memory use does not grow
// with the model) and renamed into place when complete.
func WriteLlama(path string, o LlamaOptions) error {
	md, err := LlamaMetadata(o)
	if err != nil {
		return err
	}
	o = o.withDefaults()
	n, _ := md.ArrayLen("tokenizer.ggml.tokens")
	return writeGenerated(path, md, llamaTensors(o, n), o.Seed)
}
