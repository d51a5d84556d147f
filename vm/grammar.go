package vm

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// The grammars the VM hands to the model are built from a tiny combinator
// language (gnode) that renders to GBNF and can also be sampled and
// measured in Go. The tests sample thousands of programs from the method
// grammar and audit every one with the guardian, which is what makes it safe
// to let a random-weight model write methods under it.

type gnode interface{ isGNode() }

type (
	gLit   string // a literal
	gSeq   []gnode
	gAlt   []gnode
	gClass string // any one of these characters (ASCII)
	gRef   string // a named rule
	gRep   struct {
		n        gnode
		min, max int
	}
)

func (gLit) isGNode()   {}
func (gSeq) isGNode()   {}
func (gAlt) isGNode()   {}
func (gClass) isGNode() {}
func (gRef) isGNode()   {}
func (gRep) isGNode()   {}

type grammar struct {
	names []string // rule order; names[0] is "root"
	rules map[string]gnode
}

func newGrammar() *grammar { return &grammar{rules: make(map[string]gnode)} }

func (g *grammar) rule(name string, n gnode) {
	if _, ok := g.rules[name]; !ok {
		g.names = append(g.names, name)
	}
	g.rules[name] = n
}

// gbnf renders the grammar in llama.cpp's GBNF syntax.
func (g *grammar) gbnf() string {
	var sb strings.Builder
	for _, name := range g.names {
		fmt.Fprintf(&sb, "%s ::= %s\n", name, renderGNode(g.rules[name], false))
	}
	return sb.String()
}

func renderGNode(n gnode, nested bool) string {
	switch x := n.(type) {
	case gLit:
		return gbnfQuote(string(x))
	case gRef:
		return string(x)
	case gClass:
		// llama.cpp accepts only \\ \" \[ \] \t \n \r \x \u \U escapes;
		// "-" is literal only right before "]" and "^" only after the first
		// position, so they are moved there rather than escaped.
		var sb strings.Builder
		sb.WriteByte('[')
		chars := string(x)
		dash := strings.Contains(chars, "-")
		chars = strings.ReplaceAll(chars, "-", "")
		if strings.HasPrefix(chars, "^") && len(chars) > 1 {
			chars = chars[1:] + "^"
		}
		for _, c := range chars {
			if c == '\\' || c == ']' || c == '[' {
				sb.WriteByte('\\')
			}
			sb.WriteRune(c)
		}
		if dash {
			sb.WriteByte('-')
		}
		sb.WriteByte(']')
		return sb.String()
	case gSeq:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = renderGNode(e, true)
		}
		s := strings.Join(parts, " ")
		if nested && len(x) > 1 {
			return "(" + s + ")"
		}
		return s
	case gAlt:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = renderGNode(e, true)
		}
		s := strings.Join(parts, " | ")
		if nested && len(x) > 1 {
			return "(" + s + ")"
		}
		return s
	case gRep:
		inner := renderGNode(x.n, true)
		if _, ok := x.n.(gSeq); ok && !strings.HasPrefix(inner, "(") {
			inner = "(" + inner + ")"
		}
		switch {
		case x.min == 0 && x.max == 1:
			return inner + "?"
		default:
			return fmt.Sprintf("%s{%d,%d}", inner, x.min, x.max)
		}
	}
	panic(fmt.Sprintf("vm: unknown grammar node %T", n))
}

func gbnfQuote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range s {
		switch c {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\t':
			sb.WriteString(`\t`)
		default:
			sb.WriteRune(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// sample draws one string of the grammar's language.
func (g *grammar) sample(r *rand.Rand) string {
	var sb strings.Builder
	g.sampleNode(&sb, r, gRef("root"))
	return sb.String()
}

func (g *grammar) sampleNode(sb *strings.Builder, r *rand.Rand, n gnode) {
	switch x := n.(type) {
	case gLit:
		sb.WriteString(string(x))
	case gRef:
		g.sampleNode(sb, r, g.rules[string(x)])
	case gClass:
		sb.WriteByte(x[r.IntN(len(x))])
	case gSeq:
		for _, e := range x {
			g.sampleNode(sb, r, e)
		}
	case gAlt:
		g.sampleNode(sb, r, x[r.IntN(len(x))])
	case gRep:
		k := x.min + r.IntN(x.max-x.min+1)
		for range k {
			g.sampleNode(sb, r, x.n)
		}
	}
}

// maxLen is the length in bytes of the longest string of the language; the
// grammars are not recursive, so it is finite.
func (g *grammar) maxLen() int { return g.maxLenNode(gRef("root")) }

func (g *grammar) maxLenNode(n gnode) int {
	switch x := n.(type) {
	case gLit:
		return len(x)
	case gRef:
		return g.maxLenNode(g.rules[string(x)])
	case gClass:
		return 1
	case gSeq:
		t := 0
		for _, e := range x {
			t += g.maxLenNode(e)
		}
		return t
	case gAlt:
		m := 0
		for _, e := range x {
			m = max(m, g.maxLenNode(e))
		}
		return m
	case gRep:
		return x.max * g.maxLenNode(x.n)
	}
	return 0
}

// textChars are the characters allowed inside generated string literals,
// docstrings and plan queries: no quotes' closer, no backslash, no newline,
// so no escape sequence can ever be needed.
const textChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?()'-_"

// methodGrammar builds the grammar of MethodGrammar.
func methodGrammar(selector string, params []string) *grammar {
	g := newGrammar()
	header := "def " + selector + "(self"
	for _, p := range params {
		header += ", " + p
	}
	header += "):\n"
	g.rule("root", gSeq{gLit(header), gRep{gRef("doc"), 0, 1}, gRef("body")})
	g.rule("doc", gSeq{gLit(`    """`), gRep{gRef("char"), 1, 64}, gLit(`"""` + "\n")})
	g.rule("body", gSeq{gLit("    return "), gRef("expr"), gLit("\n")})
	g.rule("expr", gSeq{gRef("term"), gRep{gSeq{gLit(" + "), gRef("term")}, 0, 5}})
	terms := gAlt{
		gLit("self.repr()"),
		gLit("str(self.oid())"),
		gLit("str(self.slot_names())"),
		gRef("str"),
	}
	for _, p := range params {
		terms = append(terms, gLit("str("+p+")"))
	}
	g.rule("term", terms)
	g.rule("str", gSeq{gLit(`"`), gRep{gRef("char"), 0, 48}, gLit(`"`)})
	g.rule("char", gClass(textChars))
	return g
}

// MethodGrammar returns the GBNF grammar (start rule "root") under which
// ALFRED writes a method for selector. params are the names of the
// parameters after self (the VM passes arg0, arg1, ... for the positional
// arguments of the failed message and the keyword names, sorted).
//
// The grammar admits exactly one function,
//
//	def <selector>(self[, params]):
//	    """<optional docstring>"""
//	    return <term> [+ <term>]...
//
// where a term is self.repr(), str(self.oid()), str(self.slot_names()),
// str(<param>) or a string literal of at most 48 safe characters, and at
// most six terms are joined. Every admitted program is therefore read-only:
// it never assigns to self, so the Persistence Covenant holds trivially,
// it has no loops, no calls other than those listed, no attribute starting
// with an underscore, and its length is bounded (MethodMaxTokens). A model
// sampling under it, even one with random weights, cannot produce a method
// the guardian rejects, and the simplest program it admits,
// "return self.repr()", is the blueprint's display_yourself. The names
// repr, oid and slot_names are primitives every object inherits from
// traits_obj.
func MethodGrammar(selector string, params ...string) string {
	return methodGrammar(selector, params).gbnf()
}

// MethodMaxTokens returns an upper bound on the length, in tokens, of any
// program MethodGrammar admits (one token is at least one byte).
func MethodMaxTokens(selector string, params ...string) int {
	return methodGrammar(selector, params).maxLen()
}

// planGrammar builds the grammar of PlanGrammar.
func planGrammar(personas []string) *grammar {
	g := newGrammar()
	g.rule("root", gSeq{gLit(`{"facets":[`), gRef("facet"), gRep{gSeq{gLit(","), gRef("facet")}, 0, maxFacets - 1}, gLit("]}")})
	g.rule("facet", gSeq{gLit(`{"persona":"`), gRef("persona"), gLit(`","query":"`), gRep{gRef("char"), 1, maxQueryLen}, gLit(`"}`)})
	alt := gAlt{}
	for _, p := range personas {
		alt = append(alt, gLit(p))
	}
	g.rule("persona", alt)
	g.rule("char", gClass(textChars))
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
func PlanGrammar(personas []string) string { return planGrammar(personas).gbnf() }

// PlanMaxTokens returns an upper bound on the length, in tokens, of any
// plan PlanGrammar(personas) admits.
func PlanMaxTokens(personas []string) int { return planGrammar(personas).maxLen() }

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
						"query":   map[string]any{"type": "string", "minLength": 1, "maxLength": maxQueryLen},
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
