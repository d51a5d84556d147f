package gbnf_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/batos/batos/gbnf"
)

func Example() {
	g := gbnf.New()
	g.Rule("root", gbnf.Seq{gbnf.Lit("count = "), gbnf.Ref("num"), gbnf.Opt(gbnf.Lit(" + 1")), gbnf.Lit("\n")})
	g.Rule("num", gbnf.Alt{gbnf.Lit("0"), gbnf.Seq{gbnf.Class("123456789"), gbnf.Rep{Node: gbnf.Class("0123456789"), Min: 0, Max: 2}}})
	fmt.Print(g)
	fmt.Println(g.MaxLen())
	fmt.Println(g.Match("count = 42 + 1\n"), g.Match("count = 042\n"))
	s := g.Sample(rand.New(rand.NewPCG(1, 2)))
	fmt.Println(g.Match(s) && len(s) <= g.MaxLen())
	// Output:
	// root ::= "count = " num " + 1"? "\n"
	// num ::= "0" | [123456789] [0123456789]{0,2}
	// 16
	// true false
	// true
}
