package vm

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/batos/batos/guardian"
)

// parseGBNF parses the GBNF subset the VM renders, following llama.cpp's
// parser (llama-grammar.cpp) where it is strict: only the escapes \x \u
// \U \t \r \n \\ \" \[ \] exist, "-" inside a class makes a range unless
// it comes right before "]", rule names are [a-zA-Z0-9-]. The result is a
// grammar of the package's own combinators, so it can be sampled: the
// tests sample what llama.cpp would constrain the model to, not only the
// Go value the text was rendered from.
func parseGBNF(text string) (*grammar, error) {
	g := newGrammar()
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		name, body, ok := strings.Cut(line, " ::= ")
		if !ok {
			return nil, fmt.Errorf("no ::= in %q", line)
		}
		for _, c := range name {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return nil, fmt.Errorf("bad rule name %q", name)
			}
		}
		p := &gbnfParser{s: body}
		n, err := p.alternates()
		if err != nil {
			return nil, fmt.Errorf("rule %s: %v", name, err)
		}
		if p.i != len(p.s) {
			return nil, fmt.Errorf("rule %s: trailing %q", name, p.s[p.i:])
		}
		g.rule(name, n)
	}
	for _, name := range g.names {
		if err := checkRefs(g, g.rules[name]); err != nil {
			return nil, err
		}
	}
	if _, ok := g.rules["root"]; !ok {
		return nil, fmt.Errorf("no root rule")
	}
	return g, nil
}

func checkRefs(g *grammar, n gnode) error {
	switch x := n.(type) {
	case gRef:
		if _, ok := g.rules[string(x)]; !ok {
			return fmt.Errorf("undefined rule %s", x)
		}
	case gSeq:
		for _, e := range x {
			if err := checkRefs(g, e); err != nil {
				return err
			}
		}
	case gAlt:
		for _, e := range x {
			if err := checkRefs(g, e); err != nil {
				return err
			}
		}
	case gRep:
		return checkRefs(g, x.n)
	}
	return nil
}

type gbnfParser struct {
	s string
	i int
}

func (p *gbnfParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *gbnfParser) alternates() (gnode, error) {
	var alts gAlt
	for {
		seq, err := p.sequence()
		if err != nil {
			return nil, err
		}
		alts = append(alts, seq)
		p.space()
		if p.i < len(p.s) && p.s[p.i] == '|' {
			p.i++
			continue
		}
		break
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return alts, nil
}

func (p *gbnfParser) sequence() (gnode, error) {
	var seq gSeq
	for {
		p.space()
		if p.i >= len(p.s) || p.s[p.i] == '|' || p.s[p.i] == ')' {
			break
		}
		var item gnode
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			var sb strings.Builder
			for {
				if p.i >= len(p.s) {
					return nil, fmt.Errorf("unterminated literal")
				}
				if p.s[p.i] == '"' {
					p.i++
					break
				}
				r, err := p.char()
				if err != nil {
					return nil, err
				}
				sb.WriteRune(r)
			}
			item = gLit(sb.String())
		case c == '[':
			p.i++
			if p.i < len(p.s) && p.s[p.i] == '^' {
				return nil, fmt.Errorf("negated class not expected")
			}
			var chars []rune
			for {
				if p.i >= len(p.s) {
					return nil, fmt.Errorf("unterminated class")
				}
				if p.s[p.i] == ']' {
					p.i++
					break
				}
				r, err := p.char()
				if err != nil {
					return nil, err
				}
				chars = append(chars, r)
				if p.i+1 < len(p.s) && p.s[p.i] == '-' && p.s[p.i+1] != ']' {
					p.i++
					hi, err := p.char()
					if err != nil {
						return nil, err
					}
					for c := r + 1; c <= hi; c++ {
						chars = append(chars, c)
					}
				}
			}
			item = gClass(string(chars))
		case c == '(':
			p.i++
			n, err := p.alternates()
			if err != nil {
				return nil, err
			}
			if p.i >= len(p.s) || p.s[p.i] != ')' {
				return nil, fmt.Errorf("expecting )")
			}
			p.i++
			item = n
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-':
			j := p.i
			for j < len(p.s) && (p.s[j] >= 'a' && p.s[j] <= 'z' || p.s[j] >= 'A' && p.s[j] <= 'Z' || p.s[j] >= '0' && p.s[j] <= '9' || p.s[j] == '-') {
				j++
			}
			item = gRef(p.s[p.i:j])
			p.i = j
		default:
			return nil, fmt.Errorf("unexpected %q at %d", c, p.i)
		}
		// postfix operators
		for p.i < len(p.s) {
			switch p.s[p.i] {
			case '?':
				item = gRep{item, 0, 1}
				p.i++
				continue
			case '{':
				end := strings.IndexByte(p.s[p.i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("unterminated {")
				}
				lo, hi, ok := strings.Cut(p.s[p.i+1:p.i+end], ",")
				min, err1 := strconv.Atoi(lo)
				max := min
				var err2 error
				if ok {
					max, err2 = strconv.Atoi(hi)
				}
				if err1 != nil || err2 != nil || max < min {
					return nil, fmt.Errorf("bad repetition %q (unbounded repetition not expected)", p.s[p.i:p.i+end+1])
				}
				item = gRep{item, min, max}
				p.i += end + 1
				continue
			case '*', '+':
				return nil, fmt.Errorf("unbounded repetition not expected")
			}
			break
		}
		seq = append(seq, item)
	}
	if len(seq) == 1 {
		return seq[0], nil
	}
	return seq, nil
}

func (p *gbnfParser) char() (rune, error) {
	if p.s[p.i] != '\\' {
		r := rune(p.s[p.i])
		p.i++
		return r, nil
	}
	if p.i+1 >= len(p.s) {
		return 0, fmt.Errorf("dangling escape")
	}
	c := p.s[p.i+1]
	p.i += 2
	switch c {
	case 't':
		return '\t', nil
	case 'r':
		return '\r', nil
	case 'n':
		return '\n', nil
	case '\\', '"', '[', ']':
		return rune(c), nil
	}
	return 0, fmt.Errorf("unknown escape \\%c (llama.cpp rejects it)", c)
}

// The rendered GBNF, as llama.cpp reads it, admits only programs the
// guardian passes and plans that parse, within the token bounds.
func TestRenderedGrammarsAsLlamaReadsThem(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, params := range [][]string{nil, {"arg0", "tone"}} {
		text := MethodGrammar("display_yourself", params...)
		g, err := parseGBNF(text)
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		if got, want := g.maxLen(), MethodMaxTokens("display_yourself", params...); got != want {
			t.Errorf("parsed grammar's max length %d, MethodMaxTokens %d", got, want)
		}
		pol := guardian.DefaultPolicy("display_yourself")
		pol.Params = params
		for range 1000 {
			src := g.sample(r)
			if err := guardian.Check(src, pol); err != nil {
				t.Fatalf("guardian rejects:\n%s\n%v", src, err)
			}
		}
	}
	personas := []string{"ALFRED", "BABS", "BRICK", "ROBIN"}
	g, err := parseGBNF(PlanGrammar(personas))
	if err != nil {
		t.Fatalf("%v\n%s", err, PlanGrammar(personas))
	}
	for range 1000 {
		s := g.sample(r)
		if _, err := ParsePlan(s, personas); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if len(s) > PlanMaxTokens(personas) {
			t.Fatalf("plan longer than PlanMaxTokens: %s", s)
		}
	}
}

func TestGBNFParserRejectsWhatLlamaRejects(t *testing.T) {
	for _, bad := range []string{
		`root ::= [a\-b]`,
		`root ::= "x\q"`,
		`root ::= x_y`,
		`root ::= "a"*`,
		`root ::= missing`,
	} {
		if _, err := parseGBNF(bad); err == nil {
			t.Errorf("parsed %s", bad)
		}
	}
}
