package vm

import (
	"encoding/json"

	"github.com/batos/batos/gbnf"
)

// The grammars the VM hands to the model are built with package gbnf,
// which renders them to GBNF and can also sample and measure them in Go.
// The tests sample thousands of programs from the method grammar
// (methodgrammar.go), audit every one with the guardian and trial-run it,
// which is what makes it safe to let a random-weight model write methods
// under it.

// rep is n repeated min to max times.
func rep(n gbnf.Node, min, max int) gbnf.Rep { return gbnf.Rep{Node: n, Min: min, Max: max} }

// textChars are the characters allowed inside generated string literals,
// docstrings and plan queries: no quotes' closer, no backslash, no newline,
// so no escape sequence can ever be needed.
const textChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?()'-_"

// planGrammar builds the grammar of PlanGrammar.
func planGrammar(personas []string) *gbnf.Grammar {
	g := gbnf.New()
	g.Rule("root", gbnf.Seq{gbnf.Lit(`{"facets":[`), gbnf.Ref("facet"), rep(gbnf.Seq{gbnf.Lit(","), gbnf.Ref("facet")}, 0, maxFacets-1), gbnf.Lit("]}")})
	g.Rule("facet", gbnf.Seq{gbnf.Lit(`{"persona":"`), gbnf.Ref("persona"), gbnf.Lit(`","query":"`), gbnf.Ref("lead"), rep(gbnf.Ref("char"), 0, maxQueryLen-1), gbnf.Lit(`"}`)})
	alt := gbnf.Alt{}
	for _, p := range personas {
		alt = append(alt, gbnf.Lit(p))
	}
	g.Rule("persona", alt)
	// A query begins with a letter or digit: ParsePlan refuses one of
	// blanks, which a random model sampled once in 50 plans.
	g.Rule("lead", gbnf.Class(textChars[:62]))
	g.Rule("char", gbnf.Class(textChars))
	return g
}

const (
	maxFacets   = 3
	maxQueryLen = 80
)

// PlanGrammar returns the GBNF grammar (start rule "root") of BRICK's plan
// in DECOMPOSING: compact JSON, {"facets":[{"persona":P,"query":Q},...]},
// with one to three facets, P one of personas and Q one to 80 safe
// characters. Every string it admits parses as a Plan.
func PlanGrammar(personas []string) string { return planGrammar(personas).String() }

// PlanMaxTokens returns an upper bound on the length, in tokens, of any
// plan PlanGrammar(personas) admits.
func PlanMaxTokens(personas []string) int { return planGrammar(personas).MaxLen() }

// PlanSchema returns the JSON schema of the same plans as PlanGrammar, for
// models that take a schema rather than a grammar.
func PlanSchema(personas []string) string {
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
