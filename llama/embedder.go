package llama

import (
	"context"
	"fmt"
	"sync"
)

// EmbedderOptions configures OpenEmbedder. The zero value runs on the CPU
// with all cores, 512 tokens per text and per decode.
type EmbedderOptions struct {
	// Threads is the number of threads (0: runtime.NumCPU()).
	Threads int
	// GPULayers is as in ModelOptions (0: CPU only).
	GPULayers int
	// MaxTokens bounds the tokens of one text, [CLS] and [SEP] included
	// (0: the smaller of 512 and the model's training context). Longer
	// texts are truncated, as sentence-transformers does; their end is
	// not embedded.
	MaxTokens int
	// BatchTokens is how many tokens one llama_decode call evaluates,
	// several texts packed together (0: 512; at least MaxTokens).
	BatchTokens int
	// MaxSeqs is how many texts one decode may pack (0: 64).
	MaxSeqs int
}

// Embedder is a sentence embedding model: a non-causal (BERT-family)
// GGUF model with its own small context, separate from any chat model.
// Embed packs several texts into each llama_decode, one sequence each,
// and reads llama.cpp's pooled vector per sequence (the pooling type the
// file names in <arch>.pooling_type; a file without one gets the mean of
// its token vectors, computed here). Vectors are L2-normalized.
//
// An Embedder is safe for concurrent use: calls take turns on its one
// context, and its decodes take turns with every other decode of the
// process (see decodeSem).
type Embedder struct {
	m         *Model
	maxTokens int
	maxSeqs   int
	pooling   int // llama.cpp's pooling type of the context

	mu     sync.Mutex // guards l and closed
	l      llctx
	closed bool
}

// Pooling types of llama.cpp's llama_pooling_type.
const (
	poolNone = 0
	poolMean = 1
	poolCLS  = 2
	poolLast = 3
)

// OpenEmbedder loads the embedding model at path and creates its
// context. A causal model (a chat model such as Llama) is refused with
// ErrBadModel: llama.cpp's pooled embeddings need an encoder whose
// <arch>.attention.causal is false (architectures bert, nomic-bert,
// jina-bert-v2 in this llama.cpp).
func OpenEmbedder(ctx context.Context, path string, o EmbedderOptions) (*Embedder, error) {
	m, err := Open(ctx, path, ModelOptions{GPULayers: o.GPULayers, Threads: o.Threads})
	if err != nil {
		return nil, err
	}
	e, err := newEmbedder(m, o)
	if err != nil {
		m.Close()
		return nil, err
	}
	return e, nil
}

func newEmbedder(m *Model, o EmbedderOptions) (*Embedder, error) {
	arch := m.info.Architecture
	if causal, ok := cMeta(m.c, arch+".attention.causal"); !ok || causal != "false" {
		return nil, fmt.Errorf("%w: %s: architecture %q is not a non-causal embedding model (%s.attention.causal is not false)",
			ErrBadModel, m.info.Name, arch, arch)
	}
	maxTok := o.MaxTokens
	if maxTok <= 0 {
		maxTok = 512
		if m.info.ContextLength > 0 {
			maxTok = min(maxTok, m.info.ContextLength)
		}
	}
	if m.info.ContextLength > 0 && maxTok > m.info.ContextLength {
		return nil, fmt.Errorf("%w: MaxTokens %d exceeds the model's %d positions", ErrBadRequest, maxTok, m.info.ContextLength)
	}
	maxTok = max(maxTok, 3) // [CLS], one token, [SEP]
	batch := o.BatchTokens
	if batch <= 0 {
		batch = 512
	}
	batch = max(batch, maxTok)
	seqs := o.MaxSeqs
	if seqs <= 0 {
		seqs = 64
	}
	// ollama's context parameters leave n_ubatch at llama.cpp's default
	// of 512, and a non-causal model must see a whole batch in one
	// ubatch (llama_decode asserts it, aborting the process).
	batch = min(batch, 512)
	if maxTok > batch {
		return nil, fmt.Errorf("%w: MaxTokens %d exceeds the %d tokens of one decode", ErrBadRequest, maxTok, batch)
	}
	l, err := m.newContext(seqs, SessionOptions{ContextSize: batch, BatchSize: batch, Threads: o.Threads})
	if err != nil {
		return nil, err
	}
	cSetEmbeddings(l.c, true)
	e := &Embedder{m: m, maxTokens: maxTok, maxSeqs: seqs, l: l, pooling: cPoolingType(l.c)}
	switch e.pooling {
	case poolNone, poolMean, poolCLS, poolLast:
	default:
		l.close()
		return nil, fmt.Errorf("%w: pooling type %d is not a sentence embedding", ErrBadModel, e.pooling)
	}
	if l.nbatch < maxTok {
		l.close()
		return nil, fmt.Errorf("%w: batch of %d tokens, MaxTokens %d", ErrContext, l.nbatch, maxTok)
	}
	return e, nil
}

// Info describes the embedding model; EmbeddingSize is the dimension of
// Embed's vectors.
func (e *Embedder) Info() Info { return e.m.Info() }

// Dim returns the dimension of the vectors.
func (e *Embedder) Dim() int { return e.m.info.EmbeddingSize }

// MaxTokens returns the most tokens of a text that are embedded.
func (e *Embedder) MaxTokens() int { return e.maxTokens }

// Pooling names how a text's token vectors become one vector: "mean",
// "cls" or "last" (llama.cpp pools), or "mean (Go)" for a file without a
// pooling type.
func (e *Embedder) Pooling() string {
	switch e.pooling {
	case poolMean:
		return "mean"
	case poolCLS:
		return "cls"
	case poolLast:
		return "last"
	}
	return "mean (Go)"
}

// Tokenize returns the tokens Embed evaluates for text: [CLS], the
// WordPiece tokens and [SEP], truncated to MaxTokens (the last kept
// token is then [SEP] again).
func (e *Embedder) Tokenize(text string) ([]Token, error) {
	if err := e.m.alive(); err != nil {
		return nil, err
	}
	return e.tokens(text), nil
}

func (e *Embedder) tokens(text string) []Token {
	toks := e.m.tokenizeWith(text, true, false)
	if len(toks) > e.maxTokens {
		last := toks[len(toks)-1]
		toks = append(toks[:e.maxTokens-1], last)
	}
	return toks
}

// Embed returns one L2-normalized vector per text, in order. Empty input
// gives an empty result.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	done := e.l.watch(ctx)
	defer done()
	out := make([][]float32, len(texts))
	toks := make([][]Token, len(texts))
	for i, t := range texts {
		toks[i] = e.tokens(t)
	}
	for first := 0; first < len(texts); {
		// Pack texts while they fit in one decode.
		n, end := 0, first
		for end < len(texts) && end-first < e.maxSeqs && n+len(toks[end]) <= e.l.nbatch {
			n += len(toks[end])
			end++
		}
		if err := e.decode(ctx, toks[first:end], out[first:end]); err != nil {
			return nil, err
		}
		first = end
	}
	return out, nil
}

// decode evaluates one packed batch, text k as sequence k, and writes
// its vectors to out.
func (e *Embedder) decode(ctx context.Context, toks [][]Token, out [][]float32) error {
	l := &e.l
	l.batch.Clear()
	for k, ts := range toks {
		for j, t := range ts {
			l.batch.Add(int(t), nil, j, true, k)
		}
	}
	if err := l.decode(ctx); err != nil {
		return err
	}
	dim := e.Dim()
	if e.pooling != poolNone {
		for k := range toks {
			v := cEmbeddingsSeq(l.c, k, dim)
			if v == nil {
				return fmt.Errorf("%w: no pooled embedding for text %d", ErrDecode, k)
			}
			sum := make([]float64, dim)
			for j, x := range v {
				sum[j] = float64(x)
			}
			out[k] = normalize(sum)
		}
		return nil
	}
	i := 0
	for k, ts := range toks {
		sum := make([]float64, dim)
		for range ts {
			v := cEmbeddingsIth(l.c, i, dim)
			if v == nil {
				return fmt.Errorf("%w: no embedding for token %d", ErrDecode, i)
			}
			for j, x := range v {
				sum[j] += float64(x)
			}
			i++
		}
		out[k] = normalize(sum)
	}
	return nil
}

// Close frees the context and the model. ErrClosed the second time.
func (e *Embedder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	e.closed = true
	if err := e.l.close(); err != nil {
		return err
	}
	return e.m.Close()
}
