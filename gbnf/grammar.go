package gbnf

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Grammar is a set of named rules; the rule named "root" is where
// llama.cpp, Sample, MaxLen and Match start. The zero value is an empty
// grammar ready for Rule.
type Grammar struct {
	names []string // in the order added
	rules map[string]Node
}

// New returns an empty grammar.
func New() *Grammar { return &Grammar{} }

// Rule sets the body of the rule name (rule names are [a-zA-Z0-9-]).
// A rule set twice keeps its first position and its last body.
func (g *Grammar) Rule(name string, n Node) {
	if g.rules == nil {
		g.rules = make(map[string]Node)
	}
	if _, ok := g.rules[name]; !ok {
		g.names = append(g.names, name)
	}
	g.rules[name] = n
}

// Names returns the rule names in the order they were added.
func (g *Grammar) Names() []string { return append([]string(nil), g.names...) }

// Lookup returns the body of rule name.
func (g *Grammar) Lookup(name string) (Node, bool) {
	n, ok := g.rules[name]
	return n, ok
}

// String renders the grammar in GBNF, one "name ::= body" line per rule.
func (g *Grammar) String() string {
	var sb strings.Builder
	for _, name := range g.names {
		sb.WriteString(name)
		sb.WriteString(" ::= ")
		sb.WriteString(Render(g.rules[name]))
		sb.WriteByte('\n')
	}
	return sb.String()
}

// Render renders one node as a GBNF rule body.
func Render(n Node) string { return render(n, false) }

func render(n Node, nested bool) string {
	switch x := n.(type) {
	case Lit:
		return Quote(string(x))
	case Ref:
		return string(x)
	case Class:
		return renderClass(string(x))
	case Seq:
		if len(x) == 0 {
			return `""`
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = render(e, true)
		}
		s := strings.Join(parts, " ")
		if nested && len(x) > 1 {
			return "(" + s + ")"
		}
		return s
	case Alt:
		if len(x) == 0 {
			panic("gbnf: empty Alt")
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = render(e, false)
		}
		s := strings.Join(parts, " | ")
		if nested && len(x) > 1 {
			return "(" + s + ")"
		}
		return s
	case Rep:
		inner := render(x.Node, true)
		if s, ok := x.Node.(Seq); ok && len(s) > 1 && !strings.HasPrefix(inner, "(") {
			inner = "(" + inner + ")"
		}
		switch {
		case x.Min == 0 && x.Max == 1:
			return inner + "?"
		case x.Min == x.Max:
			return fmt.Sprintf("%s{%d}", inner, x.Min)
		default:
			return fmt.Sprintf("%s{%d,%d}", inner, x.Min, x.Max)
		}
	}
	panic(fmt.Sprintf("gbnf: unknown node %T", n))
}

// renderClass writes a character class. llama.cpp accepts only \\ \" \[
// \] \t \n \r \x \u \U escapes; "-" is literal only right before "]" and
// "^" only after the first position, so they are moved there rather than
// escaped.
func renderClass(chars string) string {
	var sb strings.Builder
	sb.WriteByte('[')
	dash := strings.Contains(chars, "-")
	chars = strings.ReplaceAll(chars, "-", "")
	if strings.HasPrefix(chars, "^") && len(chars) > 1 {
		chars = chars[1:] + "^"
	}
	for i := 0; i < len(chars); i++ {
		switch c := chars[i]; c {
		case '\\', ']', '[':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case '\n':
			sb.WriteString(`\n`)
		case '\t':
			sb.WriteString(`\t`)
		case '\r':
			sb.WriteString(`\r`)
		default:
			sb.WriteByte(c)
		}
	}
	if dash {
		sb.WriteByte('-')
	}
	sb.WriteByte(']')
	return sb.String()
}

// Quote writes s as a GBNF string literal, byte by byte.
func Quote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// Check reports an ErrUndefined if there is no rule "root" or a rule
// refers to an undefined one, and an ErrRecursive if a rule refers to
// itself.
func (g *Grammar) Check() error {
	if _, ok := g.rules["root"]; !ok {
		return fmt.Errorf("%w: no rule root", ErrUndefined)
	}
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var visit func(name string) error
	var walk func(n Node) error
	visit = func(name string) error {
		switch state[name] {
		case visiting:
			return fmt.Errorf("%w: %s", ErrRecursive, name)
		case done:
			return nil
		}
		body, ok := g.rules[name]
		if !ok {
			return fmt.Errorf("%w: %s", ErrUndefined, name)
		}
		state[name] = visiting
		if err := walk(body); err != nil {
			return err
		}
		state[name] = done
		return nil
	}
	walk = func(n Node) error {
		switch x := n.(type) {
		case Ref:
			return visit(string(x))
		case Seq:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		case Alt:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		case Rep:
			return walk(x.Node)
		}
		return nil
	}
	for _, name := range g.names {
		if err := visit(name); err != nil {
			return err
		}
	}
	return nil
}

// Sample draws one string of the language from rule "root", choosing
// every alternative and repetition count uniformly with r.
func (g *Grammar) Sample(r *rand.Rand) string {
	var sb strings.Builder
	g.sample(&sb, r, Ref("root"))
	return sb.String()
}

func (g *Grammar) sample(sb *strings.Builder, r *rand.Rand, n Node) {
	switch x := n.(type) {
	case Lit:
		sb.WriteString(string(x))
	case Ref:
		g.sample(sb, r, g.rules[string(x)])
	case Class:
		sb.WriteByte(x[r.IntN(len(x))])
	case Seq:
		for _, e := range x {
			g.sample(sb, r, e)
		}
	case Alt:
		g.sample(sb, r, x[r.IntN(len(x))])
	case Rep:
		k := x.Min + r.IntN(x.Max-x.Min+1)
		for range k {
			g.sample(sb, r, x.Node)
		}
	}
}

// MaxLen returns the length in bytes of the longest string of the
// language, or -1 when the grammar fails Check.
func (g *Grammar) MaxLen() int {
	if g.Check() != nil {
		return -1
	}
	memo := map[string]int{}
	return g.maxLen(Ref("root"), memo)
}

func (g *Grammar) maxLen(n Node, memo map[string]int) int {
	switch x := n.(type) {
	case Lit:
		return len(x)
	case Ref:
		if m, ok := memo[string(x)]; ok {
			return m
		}
		m := g.maxLen(g.rules[string(x)], memo)
		memo[string(x)] = m
		return m
	case Class:
		return 1
	case Seq:
		t := 0
		for _, e := range x {
			t += g.maxLen(e, memo)
		}
		return t
	case Alt:
		m := 0
		for _, e := range x {
			m = max(m, g.maxLen(e, memo))
		}
		return m
	case Rep:
		return x.Max * g.maxLen(x.Node, memo)
	}
	return 0
}
