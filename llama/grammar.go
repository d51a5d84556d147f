package llama

import (
	"encoding/json"
	"fmt"
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
// How: llama.cpp's grammar parser (batos_grammar_check, sampler.cpp)
// returns no grammar when the text does not parse, has no root rule or is
// left-recursive; the grammar it returns otherwise is freed at once.
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
	if ok, reason := cGrammarCheck(m.vocab, grammar); !ok {
		if reason == "" {
			reason = lastCError()
		}
		if reason == "" {
			reason = "llama.cpp cannot parse it (its parser writes the details to stderr)"
		}
		return fmt.Errorf("%w: %s", ErrGrammar, reason)
	}
	return nil
}
