package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/batos/batos/gbnf"
)

// ErrInvalid is a plan that does not parse, has no facets or too many,
// names an unknown persona or has an empty query.
var ErrInvalid = errors.New("plan: invalid plan")

// rep is n repeated min to max times.
func rep(n gbnf.Node, min, max int) gbnf.Rep { return gbnf.Rep{Node: n, Min: min, Max: max} }

// textChars are the characters allowed inside plan queries: no quote, no
// backslash, no newline, so no escape sequence can ever be needed.
const textChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?()'-_"

// grammar builds the grammar of Grammar.
func grammar(personas []string) *gbnf.Grammar {
	g := gbnf.New()
	g.Rule("root", gbnf.Seq{gbnf.Lit(`{"facets":[`), gbnf.Ref("facet"), rep(gbnf.Seq{gbnf.Lit(","), gbnf.Ref("facet")}, 0, maxFacets-1), gbnf.Lit("]}")})
	g.Rule("facet", gbnf.Seq{gbnf.Lit(`{"persona":"`), gbnf.Ref("persona"), gbnf.Lit(`","query":"`), gbnf.Ref("lead"), rep(gbnf.Ref("char"), 0, maxQueryLen-1), gbnf.Lit(`"}`)})
	alt := gbnf.Alt{}
	for _, p := range personas {
		alt = append(alt, gbnf.Lit(p))
	}
	g.Rule("persona", alt)
	// A query begins with a letter or digit: Parse refuses one of
	// blanks, which a random model sampled once in 50 plans.
	g.Rule("lead", gbnf.Class(textChars[:62]))
	g.Rule("char", gbnf.Class(textChars))
	return g
}

const (
	maxFacets   = 3
	maxQueryLen = 80
)

// Grammar returns the GBNF grammar (start rule "root") of BRICK's plan
// in DECOMPOSING: compact JSON, {"facets":[{"persona":P,"query":Q},...]},
// with one to three facets, P one of personas and Q one to 80 safe
// characters. Every string it admits parses as a Plan.
func Grammar(personas []string) string { return grammar(personas).String() }

// MaxTokens returns an upper bound on the length, in tokens, of any plan
// Grammar(personas) admits.
func MaxTokens(personas []string) int { return grammar(personas).MaxLen() }

// Schema returns the JSON schema of the same plans as Grammar, for models
// that take a schema rather than a grammar.
func Schema(personas []string) string {
	schema := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"facets": map[string]any{
				"type":     "array",
				"minItems": 1,
				"maxItems": maxFacets,
				"items": map[string]any{
					"type": "object",
					"properties": map[string]any{
						"persona": map[string]any{"type": "string", "enum": personas},
						"query":   map[string]any{"type": "string", "minLength": 1, "maxLength": maxQueryLen, "pattern": "^[A-Za-z0-9]"},
					},
					"required":             []string{"persona", "query"},
					"additionalProperties": false,
				},
			},
		},
		"required":             []string{"facets"},
		"additionalProperties": false,
	}
	b, _ := json.Marshal(schema)
	return string(b)
}

// Plan is BRICK's decomposition of a mission.
type Plan struct {
	Facets []Facet `json:"facets"`
}

// Facet is one sub-query of a Plan, addressed to a persona.
type Facet struct {
	Persona string `json:"persona"`
	Query   string `json:"query"`
}

// Parse parses BRICK's output as a Plan whose facets name known personas;
// it fails with ErrInvalid.
func Parse(out string, personas []string) (Plan, error) {
	var plan Plan
	dec := json.NewDecoder(strings.NewReader(strings.TrimSpace(out)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&plan); err != nil {
		return Plan{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(plan.Facets) == 0 || len(plan.Facets) > maxFacets {
		return Plan{}, fmt.Errorf("%w: %d facets", ErrInvalid, len(plan.Facets))
	}
	for _, f := range plan.Facets {
		known := false
		for _, p := range personas {
			known = known || p == f.Persona
		}
		if !known {
			return Plan{}, fmt.Errorf("%w: unknown persona %q", ErrInvalid, f.Persona)
		}
		if strings.TrimSpace(f.Query) == "" {
			return Plan{}, fmt.Errorf("%w: empty query", ErrInvalid)
		}
	}
	return plan, nil
}
