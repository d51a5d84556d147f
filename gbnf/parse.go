package gbnf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Parse reads a grammar in the GBNF subset String renders: one
// "name ::= body" rule per line, literals, classes (no negation), groups,
// alternatives, references and bounded repetitions (?, {n}, {m,n}). It
// follows llama.cpp's parser (llama-grammar.cpp) where that is strict:
// only the escapes \t \r \n \\ \" \[ \] are read, "-" inside a class makes
// a range unless it comes right before "]", and rule names are
// [a-zA-Z0-9-]. Text outside the subset (comments, multi-line rules, *, +,
// unbounded {m,}) is an ErrSyntax; a reference to a rule that does not
// exist, or no rule "root", is an ErrUndefined. Recursive grammars parse
// (Check reports them).
func Parse(text string) (*Grammar, error) {
	g := New()
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		name, body, ok := strings.Cut(line, " ::= ")
		if !ok {
			return nil, fmt.Errorf("%w: line %d: no ::=", ErrSyntax, i+1)
		}
		if name == "" || strings.IndexFunc(name, func(c rune) bool { return !isNameChar(byte(c)) || c > 127 }) >= 0 {
			return nil, fmt.Errorf("%w: line %d: bad rule name %q", ErrSyntax, i+1, name)
		}
		p := &parser{s: body}
		n, err := p.alternates()
		if err == nil && p.i != len(p.s) {
			err = fmt.Errorf("unexpected %q", p.s[p.i:])
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: rule %s: %v", ErrSyntax, i+1, name, err)
		}
		if _, dup := g.rules[name]; dup {
			return nil, fmt.Errorf("%w: line %d: rule %s defined twice", ErrSyntax, i+1, name)
		}
		g.Rule(name, n)
	}
	if err := g.Check(); err != nil && !errors.Is(err, ErrRecursive) {
		return nil, err
	}
	return g, nil
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

type parser struct {
	s     string
	i     int
	depth int
}

// maxDepth bounds group nesting, so hostile input cannot exhaust the stack.
const maxDepth = 100

func (p *parser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *parser) alternates() (Node, error) {
	var alts Alt
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

func (p *parser) sequence() (Node, error) {
	var seq Seq
	for {
		p.space()
		if p.i >= len(p.s) || p.s[p.i] == '|' || p.s[p.i] == ')' {
			break
		}
		item, err := p.item()
		if err != nil {
			return nil, err
		}
		if item, err = p.postfix(item); err != nil {
			return nil, err
		}
		if l, ok := item.(Lit); ok && l == "" {
			continue // "" matches nothing
		}
		seq = append(seq, item)
	}
	if len(seq) == 1 {
		return seq[0], nil
	}
	return seq, nil
}

func (p *parser) item() (Node, error) {
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
				return Lit(sb.String()), nil
			}
			b, err := p.char()
			if err != nil {
				return nil, err
			}
			sb.WriteByte(b)
		}
	case c == '[':
		p.i++
		if p.i < len(p.s) && p.s[p.i] == '^' {
			return nil, fmt.Errorf("negated class")
		}
		var chars []byte
		for {
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("unterminated class")
			}
			if p.s[p.i] == ']' {
				p.i++
				break
			}
			lo, err := p.char()
			if err != nil {
				return nil, err
			}
			chars = append(chars, lo)
			if p.i+1 < len(p.s) && p.s[p.i] == '-' && p.s[p.i+1] != ']' {
				p.i++
				hi, err := p.char()
				if err != nil {
					return nil, err
				}
				for c := int(lo) + 1; c <= int(hi); c++ {
					chars = append(chars, byte(c))
				}
			}
		}
		if len(chars) == 0 {
			return nil, fmt.Errorf("empty class")
		}
		return Class(chars), nil
	case c == '(':
		p.i++
		p.depth++
		if p.depth > maxDepth {
			return nil, fmt.Errorf("groups nested deeper than %d", maxDepth)
		}
		n, err := p.alternates()
		if err != nil {
			return nil, err
		}
		p.depth--
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, fmt.Errorf("expecting )")
		}
		p.i++
		return n, nil
	case isNameChar(c):
		j := p.i
		for j < len(p.s) && isNameChar(p.s[j]) {
			j++
		}
		name := p.s[p.i:j]
		p.i = j
		return Ref(name), nil
	default:
		return nil, fmt.Errorf("unexpected %q at %d", c, p.i)
	}
}

// maxRep bounds a repetition count, as a guard against hostile input.
const maxRep = 1 << 16

func (p *parser) postfix(item Node) (Node, error) {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '?':
			item = Opt(item)
			p.i++
			continue
		case '{':
			end := strings.IndexByte(p.s[p.i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unterminated {")
			}
			lo, hi, ok := strings.Cut(p.s[p.i+1:p.i+end], ",")
			minN, err1 := strconv.Atoi(lo)
			maxN := minN
			var err2 error
			if ok {
				maxN, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil || minN < 0 || maxN < minN || maxN > maxRep {
				return nil, fmt.Errorf("bad repetition %q (unbounded repetition not read)", p.s[p.i:p.i+end+1])
			}
			item = Rep{Node: item, Min: minN, Max: maxN}
			p.i += end + 1
			continue
		case '*', '+':
			return nil, fmt.Errorf("unbounded repetition %q not read", p.s[p.i])
		}
		break
	}
	return item, nil
}

func (p *parser) char() (byte, error) {
	if p.s[p.i] != '\\' {
		c := p.s[p.i]
		p.i++
		return c, nil
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
		return c, nil
	}
	return 0, fmt.Errorf("escape \\%c not read (llama.cpp reads \\x, \\u and \\U, this parser does not; it rejects others)", c)
}
