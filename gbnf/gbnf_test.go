package gbnf_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/batos/batos/gbnf"
)

// textChars are characters a string literal may hold without escapes.
const textChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?()'-_"

func TestRender(t *testing.T) {
	for _, tc := range []struct {
		n    gbnf.Node
		want string
	}{
		{gbnf.Lit("a\"b\\c\n\t"), `"a\"b\\c\n\t"`},
		{gbnf.Class("a-z"), `[az-]`},
		{gbnf.Class("^ab"), `[ab^]`},
		{gbnf.Class("[]\\\n"), `[\[\]\\\n]`},
		{gbnf.Seq{gbnf.Lit("a"), gbnf.Ref("b")}, `"a" b`},
		{gbnf.Seq{}, `""`},
		{gbnf.Alt{gbnf.Seq{gbnf.Lit("a"), gbnf.Lit("b")}, gbnf.Lit("c")}, `"a" "b" | "c"`},
		{gbnf.Seq{gbnf.Alt{gbnf.Lit("a"), gbnf.Lit("b")}, gbnf.Lit("c")}, `("a" | "b") "c"`},
		{gbnf.Opt(gbnf.Seq{gbnf.Lit("a"), gbnf.Lit("b")}), `("a" "b")?`},
		{gbnf.Rep{Node: gbnf.Ref("x"), Min: 2, Max: 2}, `x{2}`},
		{gbnf.Rep{Node: gbnf.Alt{gbnf.Lit("a"), gbnf.Lit("b")}, Min: 0, Max: 3}, `("a" | "b"){0,3}`},
	} {
		if got := gbnf.Render(tc.n); got != tc.want {
			t.Errorf("Render(%#v) = %s, want %s", tc.n, got, tc.want)
		}
	}
}

// sample is a grammar using every node type.
func sample() *gbnf.Grammar {
	g := gbnf.New()
	g.Rule("root", gbnf.Seq{gbnf.Lit("def f(self):\n"), gbnf.Opt(gbnf.Ref("doc")), gbnf.Rep{Node: gbnf.Ref("stmt"), Min: 1, Max: 3}})
	g.Rule("doc", gbnf.Seq{gbnf.Lit(`    """`), gbnf.Rep{Node: gbnf.Class(textChars), Min: 1, Max: 20}, gbnf.Lit(`"""` + "\n")})
	g.Rule("stmt", gbnf.Alt{
		gbnf.Seq{gbnf.Lit("    x = "), gbnf.Ref("num"), gbnf.Lit("\n")},
		gbnf.Seq{gbnf.Lit("    return \""), gbnf.Rep{Node: gbnf.Class(textChars), Min: 0, Max: 8}, gbnf.Lit("\"\n")},
	})
	g.Rule("num", gbnf.Alt{gbnf.Lit("0"), gbnf.Seq{gbnf.Class("123456789"), gbnf.Rep{Node: gbnf.Class("0123456789"), Min: 0, Max: 3}}})
	return g
}

// A rendered grammar parses back to one that renders the same, and both
// accept each other's samples, within MaxLen.
func TestRoundTripSampleMatch(t *testing.T) {
	g := sample()
	text := g.String()
	p, err := gbnf.Parse(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if p.String() != text {
		t.Errorf("round trip:\n%s\nvs\n%s", p.String(), text)
	}
	if g.MaxLen() != p.MaxLen() || g.MaxLen() != len("def f(self):\n")+len(`    """`)+20+4+3*len("    return \"12345678\"\n") {
		t.Errorf("MaxLen %d, parsed %d", g.MaxLen(), p.MaxLen())
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		s := g.Sample(r)
		if !p.Match(s) || len(s) > g.MaxLen() {
			t.Fatalf("sample %q not matched or over MaxLen", s)
		}
	}
}

func TestMatch(t *testing.T) {
	g := sample()
	for s, want := range map[string]bool{
		"def f(self):\n    x = 0\n":                                true,
		"def f(self):\n    \"\"\"doc\"\"\"\n    return \"hi\"\n":   true,
		"def f(self):\n    x = 1234\n    x = 5\n    return \"\"\n": true,
		"def f(self):\n":                                    false,
		"def f(self):\n    x = 01\n":                        false,
		"def f(self):\n    x = 12345\n":                     false,
		"def f(self):\n" + strings.Repeat("    x = 1\n", 4): false,
		"def f(self):\n    x = 1\ntrailing":                 false,
	} {
		if got := g.Match(s); got != want {
			t.Errorf("Match(%q) = %v", s, got)
		}
	}
	// Nullable repetitions reach a fixpoint instead of looping.
	n := gbnf.New()
	n.Rule("root", gbnf.Seq{gbnf.Rep{Node: gbnf.Opt(gbnf.Lit("a")), Min: 2, Max: 1000}, gbnf.Lit("b")})
	if !n.Match("b") || !n.Match("aab") || n.Match("ab!") {
		t.Error("nullable repetition")
	}
}

func TestCheck(t *testing.T) {
	g := gbnf.New()
	g.Rule("x", gbnf.Lit("a"))
	if err := g.Check(); !errors.Is(err, gbnf.ErrUndefined) {
		t.Errorf("no root: %v", err)
	}
	g.Rule("root", gbnf.Seq{gbnf.Ref("x"), gbnf.Ref("y")})
	if err := g.Check(); !errors.Is(err, gbnf.ErrUndefined) {
		t.Errorf("undefined y: %v", err)
	}
	g.Rule("y", gbnf.Opt(gbnf.Ref("root")))
	if err := g.Check(); !errors.Is(err, gbnf.ErrRecursive) {
		t.Errorf("recursive: %v", err)
	}
	if g.MaxLen() != -1 || g.Match("a") {
		t.Error("MaxLen or Match on a recursive grammar")
	}
	if _, err := gbnf.Parse(g.String()); err != nil {
		t.Errorf("a recursive grammar should parse: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		text string
		want error
	}{
		{`root ::= [a\-b]`, gbnf.ErrSyntax},
		{`root ::= "x\q"`, gbnf.ErrSyntax},
		{`root ::= x_y`, gbnf.ErrSyntax},
		{`root ::= "a"*`, gbnf.ErrSyntax},
		{`root ::= "a"+`, gbnf.ErrSyntax},
		{`root ::= "a"{2,}`, gbnf.ErrSyntax},
		{`root ::= "a"{3,2}`, gbnf.ErrSyntax},
		{`root ::= [^a]`, gbnf.ErrSyntax},
		{`root ::= ("a"`, gbnf.ErrSyntax},
		{`root ::= "a`, gbnf.ErrSyntax},
		{"root ::= \"a\"\nroot ::= \"b\"", gbnf.ErrSyntax},
		{`ro_ot ::= "a"`, gbnf.ErrSyntax},
		{`root = "a"`, gbnf.ErrSyntax},
		{`root ::= missing`, gbnf.ErrUndefined},
		{`other ::= "a"`, gbnf.ErrUndefined},
	} {
		if _, err := gbnf.Parse(tc.text); !errors.Is(err, tc.want) {
			t.Errorf("Parse(%q) = %v, want %v", tc.text, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample().String())
	f.Add(`root ::= [a-c] ("x" | "y"){0,3} "\n"?`)
	f.Add(`root ::= ((("a")))`)
	f.Fuzz(func(t *testing.T, text string) {
		g, err := gbnf.Parse(text)
		if err != nil || g.Check() != nil {
			return
		}
		// What parses renders to text that parses to the same language
		// bound, and its samples match.
		p, err := gbnf.Parse(g.String())
		if err != nil {
			t.Fatalf("rendering does not parse: %v\n%s", err, g.String())
		}
		if p.MaxLen() != g.MaxLen() {
			t.Fatalf("MaxLen %d vs %d", p.MaxLen(), g.MaxLen())
		}
		if g.MaxLen() > 1<<12 {
			return
		}
		s := g.Sample(rand.New(rand.NewPCG(1, 1)))
		if !p.Match(s) {
			t.Fatalf("sample %q not matched by\n%s", s, p.String())
		}
	})
}
