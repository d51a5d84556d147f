package llama

import (
	"context"
	"fmt"
	"math"
)

// Embed returns one L2-normalized vector per text: the mean of the model's
// final hidden states (after the output norm) over the text's tokens,
// leaving out the BOS token. It runs on the base model (any adapter is
// removed from the session first). The mean is computed here in Go because
// llama.cpp's pooled embeddings abort the process on a causal model.
func (s *Session) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := s.setAdapter(nil); err != nil {
		return nil, err
	}
	done := s.watch(ctx)
	defer done()
	cSetEmbeddings(s.c, true)
	defer cSetEmbeddings(s.c, false)
	n := s.m.info.EmbeddingSize
	out := make([][]float32, len(texts))
	for k, text := range texts {
		tokens := s.m.tokenize(text, true)
		if len(tokens) > s.nctx {
			return nil, fmt.Errorf("%w: text %d has %d tokens, context %d", ErrPromptTooLong, k, len(tokens), s.nctx)
		}
		skip := 0
		if len(tokens) > 1 && tokens[0] == s.m.info.BOS {
			skip = 1
		}
		sum := make([]float64, n)
		var bad error
		err := s.prefill(ctx, tokens, true, embedChunk, func(first, cnt int) {
			for i := range cnt {
				if first+i < skip {
					continue
				}
				e := cEmbeddingsIth(s.c, i, n)
				if e == nil {
					bad = fmt.Errorf("%w: no embeddings for token %d", ErrDecode, first+i)
					return
				}
				for j, v := range e {
					sum[j] += float64(v)
				}
			}
		})
		if err == nil {
			err = bad
		}
		if err != nil {
			return nil, err
		}
		out[k] = normalize(sum)
	}
	return out, nil
}

// embedChunk bounds the tokens per llama_decode call in Embed. Every token
// of an embedding batch is an output, and llama.cpp sizes its output
// buffer for logits too (vocabulary × outputs floats: 32 MiB per 64
// tokens with Llama 3's 128K vocabulary).
const embedChunk = 64

// normalize scales v to unit length (a zero vector stays zero).
func normalize(v []float64) []float32 {
	var ss float64
	for _, x := range v {
		ss += x * x
	}
	out := make([]float32, len(v))
	if ss == 0 {
		return out
	}
	inv := 1 / math.Sqrt(ss)
	for i, x := range v {
		out[i] = float32(x * inv)
	}
	return out
}
