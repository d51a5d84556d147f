package vm

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestTextCharsNeedNoEscape(t *testing.T) {
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
		s := g.Sample(r)
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
