package llama

import (
	"context"
	"fmt"
	"time"
)

// DecodeBare is a yardstick for Generate's own cost per token: from an
// empty KV cache it evaluates prompt and then greedily generates n tokens
// with a bare loop (ollama's Batch.Add and Context.Decode, the package's
// sampler without a grammar), with none of Generate's work around
// it (no end-of-generation check, text assembly, stop strings, streaming,
// cancellation or per-call locking). It returns the generated tokens and
// the time from the first sample to the last, which covers n-1 decodes;
// Generate's Usage.Decode covers the same span. The session's adapter is
// left as it is. For benchmarks only.
func (s *Session) DecodeBare(ctx context.Context, prompt []Token, n int) ([]Token, time.Duration, error) {
	if err := s.check(); err != nil {
		return nil, 0, err
	}
	if n < 1 || len(prompt) == 0 || len(prompt)+n > s.nctx {
		return nil, 0, fmt.Errorf("%w: %d prompt tokens and %d to generate, context %d", ErrBadRequest, len(prompt), n, s.nctx)
	}
	for _, t := range prompt {
		if t < 0 || int(t) >= len(s.m.pieces) {
			return nil, 0, fmt.Errorf("%w: token %d out of range", ErrBadRequest, t)
		}
	}
	sc, err := newSampler(s.m, Request{}, "")
	if err != nil {
		return nil, 0, err
	}
	defer sc.free()
	if err := s.prefill(ctx, prompt, false, 0, nil); err != nil {
		return nil, 0, err
	}
	// Hold the decode lock for the whole loop (see decodeSem).
	unlock, err := s.m.lockDecode(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer unlock()
	out := make([]Token, 0, n)
	idx := s.batch.NumTokens() - 1
	pos := len(prompt)
	t0 := time.Now()
	for {
		tok, _ := cSamplerSample(sc.c, s.c, idx)
		cSamplerAccept(sc.c, tok)
		out = append(out, tok)
		if len(out) == n {
			break
		}
		s.batch.Clear()
		s.batch.Add(int(tok), nil, pos, true, 0)
		if err := s.oc.Decode(s.batch); err != nil {
			return out, time.Since(t0), fmt.Errorf("%w: %w", ErrDecode, err)
		}
		pos++
		idx = 0
	}
	return out, time.Since(t0), nil
}
