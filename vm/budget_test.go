package vm

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/plan"
	"github.com/batos/batos/vm/prompt"
)

// words is the tests' tokenizer: the fake model's (vmtest.Model), one
// token per up-to-four bytes of a word and per line break.
func words(s string) int {
	n := strings.Count(s, "\n")
	for _, w := range strings.Fields(s) {
		n += (len(w) + 3) / 4
	}
	return n
}

func bigObject(slots int, huge int) *prompt.ObjectView {
	v := &prompt.ObjectView{OID: 42, Relevant: map[string]bool{"color": true}}
	for i := range slots {
		v.Own = append(v.Own, prompt.Slot{Name: fmt.Sprintf("slot_%04d", i), Value: object.Int(i)})
	}
	if huge > 0 {
		v.Own = append(v.Own, prompt.Slot{Name: "essay", Value: object.String(strings.Repeat("lorem ipsum ", huge/12))})
	}
	v.Own = append(v.Own, prompt.Slot{Name: "color", Value: object.String("red")})
	v.Own = append(v.Own, prompt.Slot{Name: "greet", Value: &object.Method{Source: "def greet(self, arg0):\n    return arg0\n", Author: "ALFRED"}})
	return v
}

func BenchmarkBudgetPrompt(b *testing.B) {
	for _, size := range []int{10, 5000} {
		obj := bigObject(size, 1<<20)
		mv := &missionView{Brief: "The object 42 received the message 'remember_color' with args=[\"red\"].", Object: obj, Selector: "remember_color", Params: []string{"arg0"}}
		partials := []facetAnswer{{plan.Facet{Persona: "BABS", Query: "q1"}, strings.Repeat("answer ", 300)}, {plan.Facet{Persona: "ROBIN", Query: "q2"}, strings.Repeat("answer ", 300)}}
		b.Run(fmt.Sprintf("slots=%d", size), func(b *testing.B) {
			for b.Loop() {
				if _, err := prompt.Assemble(words, 3000, covenantParts(mv, partials, nil, words)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A repair prompt keeps the refused attempt and its findings even when
// the object, the facets and the passages would fill a tight window.
func TestRepairPromptKeepsTheAttempt(t *testing.T) {
	obj := bigObject(50, 0)
	long := strings.Repeat("word ", 256)
	mv := &missionView{Brief: "The object 42 received the message 'increment'.", Object: obj, Selector: "increment",
		Passages: []string{strings.Repeat("passage ", 300)}}
	partials := []facetAnswer{{plan.Facet{Persona: "BABS", Query: "q1"}, long}, {plan.Facet{Persona: "ROBIN", Query: "q2"}, long}, {plan.Facet{Persona: "BRICK", Query: "q3"}, long}}
	attempts := []MethodAttempt{{Attempt: 1, Verdict: VerdictRejected, Findings: []string{"3:5: covenant: a change to self.count is not followed by self._p_changed = True"},
		Source: "def increment(self):\n    self.count += 1\n    return self.count\n"}}
	parts := covenantParts(mv, partials, attempts, words)
	for _, window := range []int{900, 1200, 1500, 2000} {
		out, err := prompt.Assemble(words, window, parts)
		if err != nil {
			t.Fatalf("window %d: %v", window, err)
		}
		if !strings.Contains(out, "Attempt 1 was refused") || !strings.Contains(out, "self._p_changed = True") {
			t.Errorf("window %d: the refused attempt or its finding is missing", window)
		}
		if n := words(out); n > window {
			t.Errorf("window %d: %d tokens", window, n)
		}
	}
}
