package plan

import (
	"math/rand/v2"
	"testing"

	"github.com/batos/batos/gbnf"
)

// The rendered plan GBNF, as llama.cpp reads it (gbnf.Parse follows its
// parser), admits only plans that parse, within the token bound: the test
// samples what llama.cpp would constrain the model to, not only the Go
// value the text was rendered from (methodgrammar_test.go does the same
// for the method grammar).
func TestRenderedGrammarsAsLlamaReadsThem(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	personas := []string{"ALFRED", "BABS", "BRICK", "ROBIN"}
	g, err := gbnf.Parse(Grammar(personas))
	if err != nil {
		t.Fatalf("%v\n%s", err, Grammar(personas))
	}
	for range 1000 {
		s := g.Sample(r)
		if _, err := Parse(s, personas); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if len(s) > MaxTokens(personas) {
			t.Fatalf("plan longer than MaxTokens: %s", s)
		}
	}
}
