package plan

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
	g := grammar(personas)
	limit := MaxTokens(personas)
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		s := g.Sample(r)
		if len(s) > limit {
			t.Fatalf("plan of %d bytes over MaxTokens %d", len(s), limit)
		}
		p, err := Parse(s, personas)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if len(p.Facets) < 1 || len(p.Facets) > maxFacets {
			t.Fatalf("%d facets", len(p.Facets))
		}
	}
	for _, bad := range []string{"", "{}", `{"facets":[]}`, `{"facets":[{"persona":"JOKER","query":"x"}]}`, `{"facets":[{"persona":"BRICK","query":" "}]}`, "nope"} {
		if _, err := Parse(bad, personas); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
	if s := Schema(personas); !strings.Contains(s, `"enum":["ALFRED","BABS","BRICK","ROBIN"]`) || !strings.Contains(s, `"maxItems":3`) {
		t.Errorf("schema = %s", s)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`{"facets":[{"persona":"BRICK","query":"why"}]}`)
	f.Add(`{"facets":[]}`)
	f.Add(`nope`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s, []string{"BRICK", "ROBIN"})
		if err == nil && (len(p.Facets) == 0 || len(p.Facets) > maxFacets) {
			t.Fatalf("accepted %d facets", len(p.Facets))
		}
	})
}
