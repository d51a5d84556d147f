package llama

import "fmt"

// ForcedText returns the text grammar forces after prefix (tokenized by
// m, each token accepted by the grammar), as jump-forward decoding reads
// it, and the tokens forced reads from it.
func ForcedText(m *Model, grammar, prefix string) (string, []Token, error) {
	sc, err := newSampler(m, Request{}, grammar)
	if err != nil {
		return "", nil, err
	}
	defer sc.free()
	for _, t := range m.tokenizeWith(prefix, false, false) {
		if err := sc.accept(t); err != nil {
			return "", nil, fmt.Errorf("prefix %q: %w", prefix, err)
		}
	}
	text := cSamplerForced(sc.c, make([]byte, maxForced))
	return text, sc.forced(m), nil
}

// UnlockDecode makes m's contexts decode without the process-wide decode
// lock (what a future unlocked GPU path would do).
func UnlockDecode(m *Model) { m.decodeLock = nil }

// SetGrammarExhaustive makes the samplers made afterwards filter the whole
// vocabulary when a token breaks the grammar, as llama.cpp does.
func SetGrammarExhaustive(on bool) { grammarExhaustive = on }

// AdmitDiff accepts prefix's tokens one by one under grammar and, before
// each and at the end, filters the whole vocabulary through the sampler's
// vocabulary index and through llama.cpp's filter. It returns the tokens
// judged differently over all those states and the tokens llama.cpp
// admitted.
func AdmitDiff(m *Model, grammar, prefix string) (diff, admitted int, err error) {
	sc, err := newSampler(m, Request{}, grammar)
	if err != nil {
		return 0, 0, err
	}
	defer sc.free()
	check := func() error {
		d, a := cSamplerAdmitDiff(sc.c)
		if d < 0 {
			return fmt.Errorf("admit diff: %w", ErrGrammar)
		}
		diff += d
		admitted += a
		return nil
	}
	for _, t := range m.tokenizeWith(prefix, false, false) {
		if err := check(); err != nil {
			return diff, admitted, err
		}
		if err := sc.accept(t); err != nil {
			return diff, admitted, fmt.Errorf("prefix %q: %w", prefix, err)
		}
	}
	return diff, admitted, check()
}
