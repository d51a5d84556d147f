package llama

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	ollama "github.com/ollama/ollama/llama"
)

// maxSchemaGrammar is the output buffer of ollama's schema_to_grammar; a
// grammar that fills it was cut off.
const maxSchemaGrammar = 32768 - 1

// SchemaToGrammar converts a JSON schema to a GBNF grammar with llama.cpp's
// json-schema-to-grammar. Invalid JSON, a schema it cannot convert, or a
// grammar longer than 32 KiB is an ErrSchema.
func SchemaToGrammar(schema string) (string, error) {
	if !json.Valid([]byte(schema)) {
		return "", fmt.Errorf("%w: not valid JSON", ErrSchema)
	}
	g := ollama.SchemaToGrammar([]byte(schema))
	if len(g) == 0 {
		return "", fmt.Errorf("%w: cannot convert", ErrSchema)
	}
	if len(g) >= maxSchemaGrammar {
		return "", fmt.Errorf("%w: grammar longer than %d bytes", ErrSchema, maxSchemaGrammar)
	}
	return string(g), nil
}

// CheckGrammar parses a GBNF grammar (root rule "root") with llama.cpp and
// returns an ErrGrammar if it does not parse. llama.cpp itself would
// silently sample without constraint; Generate calls this first.
//
// How: llama.cpp's grammar sampler rejects every token whose text starts
// with a NUL byte when, and only when, its grammar parsed. The model keeps
// one such token (the byte 0x00) as a probe. A vocabulary without one
// cannot be checked and every non-empty grammar passes.
func (m *Model) CheckGrammar(grammar string) error {
	if err := m.alive(); err != nil {
		return err
	}
	if strings.TrimSpace(grammar) == "" {
		return fmt.Errorf("%w: empty", ErrGrammar)
	}
	if strings.IndexByte(grammar, 0) >= 0 {
		return fmt.Errorf("%w: contains a NUL byte", ErrGrammar)
	}
	if m.probe < 0 {
		return nil
	}
	s := ollama.NewGrammarSampler(m.vbox.ollama(), grammar)
	defer cSamplerFree(firstPtr(s))
	td := []ollama.TokenData{{Id: int32(m.probe), Logit: 0}}
	s.Apply(td)
	if !math.IsInf(float64(td[0].Logit), -1) {
		reason := lastCError()
		if reason == "" {
			reason = "llama.cpp cannot parse it (its parser writes the details to stderr)"
		}
		return fmt.Errorf("%w: %s", ErrGrammar, reason)
	}
	return nil
}
