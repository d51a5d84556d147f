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

// MethodGrammar returns a GBNF grammar for one Starlark method:
//
//	def <selector>(self[, params...]):
//	    self.<attr> = <expr>        (0 to 3 state changes, then)
//	    self._p_changed = True      (the Persistence Covenant)
//	    return <expr>
//
// The body is either pure (a single return) or changes state through
// self.<attr> assignments followed by `self._p_changed = True` and an
// optional return, so any method it admits satisfies the covenant. An
// expression is up to three terms joined by " + ": a string literal of at
// most 24 characters, an integer of at most 4 digits (no leading zero),
// self.<attr> or a parameter. Attribute names are lower-case, start with a
// letter and have at most 12 characters. The output is at most
// MethodGrammarMaxBytes long (plus the lengths of parameter names used in
// expressions).
//
// Caveat: the grammar does not exclude attribute names that are Starlark
// keywords (self.if); the guardian's parse catches those. selector and
// params are written verbatim; callers pass identifiers.
func MethodGrammar(selector string, params []string) string {
	var b strings.Builder
	header := "def " + selector + "(self"
	for _, p := range params {
		header += ", " + p
	}
	header += "):\n"
	fmt.Fprintf(&b, "root ::= %s body\n", gbnfString(header))
	b.WriteString(`body ::= ret | mutate
mutate ::= set{1,4} covenant ret?
set ::= "    self." attr " = " expr "\n"
covenant ::= "    self._p_changed = True\n"
ret ::= "    return " expr "\n"
expr ::= term (" + " term){0,2}
`)
	b.WriteString(`term ::= str | num | "self." attr`)
	for _, p := range params {
		b.WriteString(" | " + gbnfString(p))
	}
	b.WriteString("\n")
	b.WriteString(`str ::= "\"" [a-zA-Z0-9 .,:!?_-]{0,24} "\""
num ::= "0" | [1-9] [0-9]{0,3}
attr ::= [a-z] [a-z0-9_]{0,11}
`)
	return b.String()
}

// MethodGrammarMaxBytes bounds the length of any text MethodGrammar admits,
// not counting the header line: four assignments, the covenant and a
// return, each with the longest expression.
const MethodGrammarMaxBytes = 4*(len("    self.")+12+len(" = ")+methodExprMax+1) +
	len("    self._p_changed = True\n") + len("    return ") + methodExprMax + 1

// methodExprMax is the longest expression: three 26-byte string literals.
const methodExprMax = 3*26 + 2*3

// gbnfString quotes s as a GBNF string literal.
func gbnfString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
