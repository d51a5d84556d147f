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

// SetGrammarExhaustive makes the samplers made afterwards filter the whole
// vocabulary when a token breaks the grammar, as llama.cpp does.
func SetGrammarExhaustive(on bool) { grammarExhaustive = on }
