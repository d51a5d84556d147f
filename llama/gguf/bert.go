package gguf

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Pooling types as llama.cpp's <arch>.pooling_type key encodes them.
const (
	PoolNone uint32 = 0 // one vector per token
	PoolMean uint32 = 1 // mean of the token vectors (sentence-transformers' default)
	PoolCLS  uint32 = 2 // the vector of the first ([CLS]) token
)

// Token ids of the generated WordPiece vocabulary (see WordPieceVocab),
// where BERT's uncased vocabularies (and so all-MiniLM-L6-v2) put them.
const (
	TokenIDPad  = 0   // "[PAD]"
	TokenIDUNK  = 100 // "[UNK]"
	TokenIDCLS  = 101 // "[CLS]", which llama.cpp adds in front (its BOS)
	TokenIDSEP  = 102 // "[SEP]", which llama.cpp appends
	TokenIDMask = 103 // "[MASK]"
)

// BERTOptions shapes a generated BERT-family sentence embedding model. A
// zero field takes the TinyBERT value, except Vocab (0 means the base
// WordPiece vocabulary), Type (0 is F32) and Seed.
type BERTOptions struct {
	Layers  int     // encoder blocks
	Embd    int     // hidden width, the embedding dimension
	Heads   int     // attention heads
	FF      int     // feed-forward width
	Ctx     int     // positions (training context length)
	Vocab   int     // vocabulary size; 0 = WordPieceVocab(0), larger pads with filler words
	Pooling uint32  // bert.pooling_type: PoolMean (the default when 0) or PoolCLS
	Eps     float32 // layer norm epsilon (0: 1e-12, as BERT)
	// Words are extra whole words of the vocabulary, after the built-in
	// ones and before any filler: with a corpus's frequent words a
	// generated model tokenizes that corpus about as a real WordPiece
	// vocabulary does (a token per common word), so it costs what a real
	// model costs per text.
	Words []string
	// NoPoolingKey leaves bert.pooling_type out, as older conversions
	// do (llama.cpp then returns token vectors; Pooling says how the
	// reader should pool them).
	NoPoolingKey bool
	// Type is the type of the weight matrices (F32, F16 or Q8_0; a row
	// length that does not fill whole blocks falls back to F16).
	// Embeddings, norms and biases are always F32.
	Type TensorType
	Seed int64  // seed of the random weights
	Name string // general.name
}

// TinyBERT returns the options of a tiny random embedding model (2
// layers, 32 wide, 4 heads, FF 64, 128 positions, mean pooling, F32) for
// tests that compare llama.cpp with a reference computation.
func TinyBERT() BERTOptions {
	return BERTOptions{Layers: 2, Embd: 32, Heads: 4, FF: 64, Ctx: 128, Pooling: PoolMean, Type: F32, Seed: 1, Name: "tiny-bert"}
}

// MiniLMShape returns the options of a model with all-MiniLM-L6-v2's
// dimensions (6 layers, 384 wide, 12 heads, FF 1536, 512 positions, mean
// pooling) and F16 weights over the base vocabulary: the demo's embedding
// model, random but with the real model's cost per token.
func MiniLMShape() BERTOptions {
	return BERTOptions{Layers: 6, Embd: 384, Heads: 12, FF: 1536, Ctx: 512, Pooling: PoolMean, Type: F16, Seed: 1, Name: "minilm-l6-shape"}
}

func (o BERTOptions) withDefaults() BERTOptions {
	t := TinyBERT()
	if o.Layers == 0 {
		o.Layers = t.Layers
	}
	if o.Embd == 0 {
		o.Embd = t.Embd
	}
	if o.Heads == 0 {
		o.Heads = t.Heads
	}
	if o.FF == 0 {
		o.FF = t.FF
	}
	if o.Ctx == 0 {
		o.Ctx = t.Ctx
	}
	if o.Pooling == 0 {
		o.Pooling = PoolMean
	}
	if o.Eps == 0 {
		o.Eps = 1e-12
	}
	if o.Name == "" {
		o.Name = "generated-bert"
	}
	return o
}

func (o BERTOptions) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: bert options: "+format, append([]any{ErrInvalid}, args...)...)
	}
	switch {
	case o.Layers < 1 || o.Embd < 1 || o.Heads < 1 || o.FF < 1 || o.Ctx < 1 || o.Vocab < 0:
		return bad("dimensions must be positive: %+v", o)
	case o.Embd%o.Heads != 0:
		return bad("width %d is not a multiple of %d heads", o.Embd, o.Heads)
	case o.Layers > 1<<10 || o.Embd > 1<<14 || o.FF > 1<<16 || o.Ctx > 1<<16 || o.Vocab > 1<<20:
		return bad("dimensions too large: %+v", o)
	case o.Pooling != PoolMean && o.Pooling != PoolCLS:
		return bad("pooling type %d (want %d mean or %d CLS)", o.Pooling, PoolMean, PoolCLS)
	case o.Type != F32 && o.Type != F16 && o.Type != Q8_0:
		return bad("weight type %v (want F32, F16 or Q8_0)", o.Type)
	case !(o.Eps > 0) || o.Eps > 0.1:
		return bad("layer norm epsilon %g", o.Eps)
	}
	return nil
}

// bertWords are whole words of the generated WordPiece vocabulary (with
// the continuation pieces in bertSuffixes, enough that common English
// tokenizes into words rather than letters).
var bertWords = []string{
	"the", "and", "of", "to", "in", "is", "a", "that", "for", "it", "was", "as", "with", "he", "she",
	"on", "be", "at", "by", "this", "had", "not", "are", "but", "from", "or", "have", "an", "they",
	"which", "one", "you", "were", "her", "all", "his", "there", "been", "if", "more", "when", "will",
	"would", "who", "so", "no", "my", "me", "what", "said", "up", "out", "into", "than", "them",
	"object", "method", "model", "memory", "mind", "system", "code", "text", "search", "image",
}

var bertSuffixes = []string{"s", "ed", "ing", "er", "ly", "ion", "es", "est"}

// WordPieceVocab builds the generated embedding models' WordPiece ("bert")
// vocabulary in llama.cpp's convention (convert_hf_to_gguf.py: a
// word-initial piece carries the phantom space "▁", a continuation piece
// "##x" is stored as "x"): [PAD] at 0, [unused0]..[unused98], [UNK] at
// 100, [CLS] 101, [SEP] 102 and [MASK] 103 as in BERT's uncased
// vocabulary, then every printable lower-case ASCII character as a word
// and as a continuation, a few common words and suffixes, and filler words
// up to size (0: none). Any ASCII text tokenizes without [UNK]; a word with
// other characters becomes [UNK]. It returns tokens and types.
func WordPieceVocab(size int) (tokens []string, types []int32, err error) {
	return wordPieceVocab(size, nil)
}

func wordPieceVocab(size int, words []string) (tokens []string, types []int32, err error) {
	seen := map[string]bool{}
	add := func(tok string, typ int32) {
		if !seen[tok] {
			seen[tok] = true
			tokens = append(tokens, tok)
			types = append(types, typ)
		}
	}
	add("[PAD]", TokenControl)
	for i := 0; len(tokens) < TokenIDUNK; i++ {
		add("[unused"+strconv.Itoa(i)+"]", TokenUnused)
	}
	add("[UNK]", TokenUnknown)
	add("[CLS]", TokenControl)
	add("[SEP]", TokenControl)
	add("[MASK]", TokenControl)
	for c := byte(0x21); c < 0x7f; c++ {
		if c >= 'A' && c <= 'Z' { // the tokenizer lower-cases
			continue
		}
		add(spaceMark+string(c), TokenNormal)
		add(string(c), TokenNormal)
	}
	for _, w := range bertWords {
		add(spaceMark+w, TokenNormal)
	}
	for _, s := range bertSuffixes {
		add(s, TokenNormal)
	}
	for _, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\n") || strings.HasPrefix(w, "[") {
			return nil, nil, fmt.Errorf("%w: vocabulary word %q", ErrInvalid, w)
		}
		add(spaceMark+strings.ToLower(w), TokenNormal)
	}
	if size == 0 {
		return tokens, types, nil
	}
	if size < len(tokens) {
		return nil, nil, fmt.Errorf("%w: vocabulary size %d is below the %d base tokens", ErrInvalid, size, len(tokens))
	}
	for i := 0; len(tokens) < size; i++ {
		add(spaceMark+"w"+strconv.Itoa(i), TokenNormal)
	}
	return tokens, types, nil
}

// BERTMetadata returns the metadata WriteBERT writes for o: architecture
// "bert" with bert.attention.causal false and bert.pooling_type, and the
// WordPiece vocabulary with its special token ids.
func BERTMetadata(o BERTOptions) (Metadata, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	tokens, types, err := wordPieceVocab(o.Vocab, o.Words)
	if err != nil {
		return nil, err
	}
	md := Metadata{
		{KeyArchitecture, "bert"},
		{KeyName, o.Name},
		{KeyFileType, fileType(o.Type)},
		{"bert.context_length", uint32(o.Ctx)},
		{"bert.embedding_length", uint32(o.Embd)},
		{"bert.block_count", uint32(o.Layers)},
		{"bert.feed_forward_length", uint32(o.FF)},
		{"bert.attention.head_count", uint32(o.Heads)},
		{"bert.attention.layer_norm_epsilon", o.Eps},
		{"bert.attention.causal", false},
		{"bert.pooling_type", o.Pooling},
		{"tokenizer.ggml.model", "bert"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.token_type_count", uint32(2)},
		{"tokenizer.ggml.bos_token_id", uint32(TokenIDCLS)},
		{"tokenizer.ggml.cls_token_id", uint32(TokenIDCLS)},
		{"tokenizer.ggml.seperator_token_id", uint32(TokenIDSEP)},
		{"tokenizer.ggml.unknown_token_id", uint32(TokenIDUNK)},
		{"tokenizer.ggml.padding_token_id", uint32(TokenIDPad)},
		{"tokenizer.ggml.mask_token_id", uint32(TokenIDMask)},
	}
	if o.NoPoolingKey {
		md = slices.DeleteFunc(md, func(kv KV) bool { return kv.Key == "bert.pooling_type" })
	}
	return md, nil
}

func bertTensors(o BERTOptions, nVocab int) []genTensor {
	e := int64(o.Embd)
	// Weights of standard deviation 1/sqrt(fan-in) keep every sum near
	// unit scale, so attention and GELU are far from linear and the
	// vectors of different texts differ clearly.
	mat := func(name string, in, out int) genTensor {
		t := matrixType(o.Type, in)
		if o.Type == F32 {
			t = F32
		}
		return genTensor{TensorInfo: TensorInfo{Name: name, Type: t, Shape: []int64{int64(in), int64(out)}},
			Sigma: float32(1 / math.Sqrt(float64(in)))}
	}
	vec := func(name string, n int, fill, sigma float32) genTensor {
		return genTensor{TensorInfo: TensorInfo{Name: name, Type: F32, Shape: []int64{int64(n)}}, Fill: fill, Sigma: sigma}
	}
	emb := func(name string, rows int) genTensor {
		return genTensor{TensorInfo: TensorInfo{Name: name, Type: F32, Shape: []int64{e, int64(rows)}}, Sigma: 1}
	}
	ts := []genTensor{
		emb("token_embd.weight", nVocab),
		emb("token_types.weight", 2),
		emb("position_embd.weight", o.Ctx),
		vec("token_embd_norm.weight", o.Embd, 1, 0.1),
		vec("token_embd_norm.bias", o.Embd, 0, 0.1),
	}
	for i := 0; i < o.Layers; i++ {
		p := "blk." + strconv.Itoa(i) + "."
		ts = append(ts,
			mat(p+"attn_q.weight", o.Embd, o.Embd), vec(p+"attn_q.bias", o.Embd, 0, 0.1),
			mat(p+"attn_k.weight", o.Embd, o.Embd), vec(p+"attn_k.bias", o.Embd, 0, 0.1),
			mat(p+"attn_v.weight", o.Embd, o.Embd), vec(p+"attn_v.bias", o.Embd, 0, 0.1),
			mat(p+"attn_output.weight", o.Embd, o.Embd), vec(p+"attn_output.bias", o.Embd, 0, 0.1),
			vec(p+"attn_output_norm.weight", o.Embd, 1, 0.1), vec(p+"attn_output_norm.bias", o.Embd, 0, 0.1),
			mat(p+"ffn_up.weight", o.Embd, o.FF), vec(p+"ffn_up.bias", o.FF, 0, 0.1),
			mat(p+"ffn_down.weight", o.FF, o.Embd), vec(p+"ffn_down.bias", o.Embd, 0, 0.1),
			vec(p+"layer_output_norm.weight", o.Embd, 1, 0.1), vec(p+"layer_output_norm.bias", o.Embd, 0, 0.1),
		)
	}
	return ts
}

// WriteBERT writes a random BERT sentence embedding model shaped by o to
// path: a GGUF file that llama.cpp loads as architecture "bert" (the
// family of all-MiniLM-L6-v2 and bge), with the WordPiece vocabulary of
// WordPieceVocab and the tensors token_embd, token_types, position_embd,
// token_embd_norm and blk.N.{attn_q, attn_k, attn_v, attn_output,
// attn_output_norm, ffn_up, ffn_down, layer_output_norm} with their
// biases. The same options and seed give the same bytes; the file is
// renamed into place when complete.
func WriteBERT(path string, o BERTOptions) error {
	md, err := BERTMetadata(o)
	if err != nil {
		return err
	}
	o = o.withDefaults()
	n, _ := md.ArrayLen("tokenizer.ggml.tokens")
	return writeGenerated(path, md, bertTensors(o, n), o.Seed)
}
