package vm

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/batos/batos/guardian"
	"go.starlark.net/syntax"
)

// Every program the method grammar admits passes the guardian: a model
// sampling under it, even with random weights, cannot write a method that
// fails its audit. The test samples the grammar's language directly.
func TestMethodGrammarAdmitsOnlyAuditedMethods(t *testing.T) {
	cases := []struct {
		selector string
		params   []string
	}{
		{"display_yourself", nil},
		{"describe", []string{"arg0"}},
		{"greet", []string{"arg0", "arg1", "name"}},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range cases {
		g := methodGrammar(tc.selector, tc.params)
		limit := MethodMaxTokens(tc.selector, tc.params...)
		pol := guardian.DefaultPolicy(tc.selector)
		pol.Params = append([]string{}, tc.params...)
		n := 1500
		if testing.Short() {
			n = 300
		}
		for range n {
			src := g.sample(r)
			if len(src) > limit {
				t.Fatalf("sample of %d bytes over MethodMaxTokens %d", len(src), limit)
			}
			if CleanSource(src) != src {
				t.Fatalf("CleanSource changed a grammar sample:\n%s", src)
			}
			if err := guardian.Check(src, pol); err != nil {
				t.Fatalf("guardian rejects a program the grammar admits:\n%s\n%v", src, err)
			}
			if _, err := (&syntax.FileOptions{}).Parse("m.star", src, 0); err != nil {
				t.Fatalf("unparseable sample:\n%s\n%v", src, err)
			}
		}
	}
}

// The simplest program of the grammar is the blueprint's display_yourself.
func TestMethodGrammarText(t *testing.T) {
	g := MethodGrammar("display_yourself")
	for _, want := range []string{
		`root ::= "def display_yourself(self):\n" doc? body`,
		`body ::= "    return " expr "\n"`,
		`"self.repr()"`,
		`(" + " term){0,5}`,
	} {
		if !strings.Contains(g, want) {
			t.Errorf("grammar lacks %s:\n%s", want, g)
		}
	}
	if g := MethodGrammar("greet", "arg0", "name"); !strings.Contains(g, `"def greet(self, arg0, name):\n"`) || !strings.Contains(g, `"str(name)"`) {
		t.Errorf("params missing:\n%s", g)
	}
	if strings.ContainsAny(textChars, "\"\\\n") {
		t.Error("textChars admits a character that would need escaping")
	}
}

// Every plan the plan grammar admits parses.
func TestPlanGrammarAlwaysParses(t *testing.T) {
	personas := []string{"ALFRED", "BABS", "BRICK", "ROBIN"}
	g := planGrammar(personas)
	limit := PlanMaxTokens(personas)
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		s := g.sample(r)
		if len(s) > limit {
			t.Fatalf("plan of %d bytes over PlanMaxTokens %d", len(s), limit)
		}
		p, err := ParsePlan(s, personas)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if len(p.Facets) < 1 || len(p.Facets) > maxFacets {
			t.Fatalf("%d facets", len(p.Facets))
		}
	}
	for _, bad := range []string{"", "{}", `{"facets":[]}`, `{"facets":[{"persona":"JOKER","query":"x"}]}`, `{"facets":[{"persona":"BRICK","query":" "}]}`, "nope"} {
		if _, err := ParsePlan(bad, personas); err == nil {
			t.Errorf("ParsePlan(%q) succeeded", bad)
		}
	}
	if s := PlanSchema(personas); !strings.Contains(s, `"enum":["ALFRED","BABS","BRICK","ROBIN"]`) || !strings.Contains(s, `"maxItems":3`) {
		t.Errorf("schema = %s", s)
	}
}

func FuzzParsePlan(f *testing.F) {
	f.Add(`{"facets":[{"persona":"BRICK","query":"why"}]}`)
	f.Add(`{"facets":[]}`)
	f.Add(`nope`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePlan(s, []string{"BRICK", "ROBIN"})
		if err == nil && (len(p.Facets) == 0 || len(p.Facets) > maxFacets) {
			t.Fatalf("accepted %d facets", len(p.Facets))
		}
	})
}

func TestValidSelector(t *testing.T) {
	for s, want := range map[string]bool{
		"display_yourself": true, "_private": true, "x1": true,
		"": false, "1x": false, "parent*": false, "def": false, "self": false, "a-b": false, "é": false,
		strings.Repeat("a", 65): false,
	} {
		if got := ValidSelector(s); got != want {
			t.Errorf("ValidSelector(%q) = %v", s, got)
		}
	}
}
