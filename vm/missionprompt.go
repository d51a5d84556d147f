package vm

import (
	"fmt"
	"strings"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/plan"
	"github.com/batos/batos/vm/prompt"
)

// missionView is what the prompts of one cycle attempt say about the
// mission, read once in the cycle's transaction.
type missionView struct {
	Brief    string             // what was asked, arguments previewed (a fixed part)
	Object   *prompt.ObjectView // the target
	Passages []string           // catalog passages (may be empty)
	Selector string             // for unhandled_message missions
	Params   []string           // the method's parameters after self
	Args     []object.Value     // one per Params entry
	Caps     []heldCapability   // for acquire_capability missions
	Proxy    bool               // the method must be a proxy of one of Caps
}

// Shares of the foldable room, by part; prompt.Assemble gives what one leaves to
// the next in priority order.
const (
	shareObject   = 0.5
	sharePartials = 0.5
	sharePassages = 0.3
	shareAttempts = 0.5
)

func (mv *missionView) objectPart(count func(string) int, share float64) prompt.Part {
	return prompt.Part{Fit: prompt.Spaced(mv.Object.Describe(count)), Prio: 1, Share: share}
}

func (mv *missionView) passagesPart(count func(string) int) prompt.Part {
	items := make([]prompt.Item, len(mv.Passages))
	for i, p := range mv.Passages {
		items[i] = prompt.Item{Prefix: "- ", Body: p, Suffix: "\n"}
	}
	return prompt.Part{Fit: prompt.Spaced(prompt.FitEach("Relevant knowledge from the catalog:\n", items, count)), Prio: 3, Share: sharePassages}
}

func partialsPart(partials []facetAnswer, count func(string) int) prompt.Part {
	items := make([]prompt.Item, len(partials))
	for i, p := range partials {
		items[i] = prompt.Item{
			Prefix: fmt.Sprintf("- %s (%s): ", p.Persona, p.Query),
			Body:   strings.TrimSpace(p.Response),
			Suffix: "\n",
		}
	}
	return prompt.Part{Fit: prompt.Spaced(prompt.FitEach("Perspectives of the facets:\n", items, count)), Prio: 2, Share: sharePartials}
}

// decomposeParts is BRICK's meta-prompt in DECOMPOSING.
func decomposeParts(mv *missionView, personas []string, count func(string) int) []prompt.Part {
	return []prompt.Part{
		prompt.Fixed(fmt.Sprintf(`Deconstruct the following mission into a structured plan. Identify the relevant cognitive facets among the personas %s and formulate one short sub-query for each (one to three facets). Output JSON only: {"facets":[{"persona":"...","query":"..."}]}.

Mission: %s

`, strings.Join(personas, ", "), mv.Brief)),
		mv.objectPart(count, shareObject),
		mv.passagesPart(count),
	}
}

// facetParts is a facet's request in DELEGATING.
func facetParts(mv *missionView, f plan.Facet, count func(string) int) []prompt.Part {
	return []prompt.Part{
		prompt.Fixed("Mission: " + mv.Brief + "\n\n"),
		mv.objectPart(count, shareObject),
		mv.passagesPart(count),
		prompt.Fixed("Your sub-query: " + f.Query + "\n\nAnswer briefly, from your own perspective."),
	}
}

// weaveParts is ROBIN's synthesis meta-prompt in SYNTHESIZING.
func weaveParts(mv *missionView, partials []facetAnswer, count func(string) int) []prompt.Part {
	return []prompt.Part{
		prompt.Fixed("Synthesize a final response for this mission using these perspectives. Weave them into a single, coherent output.\n\nMission: " + mv.Brief + "\n\n"),
		mv.objectPart(count, 0.4),
		partialsPart(partials, count),
		mv.passagesPart(count),
	}
}

// previewArgs renders a message's arguments, each folded.
func previewArgs(args object.List, kw object.Map) (string, string) {
	var a []string
	for i, v := range args {
		if i == 8 {
			a = append(a, fmt.Sprintf("...%d more", len(args)-i))
			break
		}
		a = append(a, prompt.Preview(v, 160, 2))
	}
	var k []string
	for i, name := range sortedKeys(kw) {
		if i == 8 {
			k = append(k, fmt.Sprintf("...%d more", len(kw)-i))
			break
		}
		k = append(k, prompt.SafeName(name)+": "+prompt.Preview(kw[name], 160, 2))
	}
	return "[" + strings.Join(a, ", ") + "]", "{" + strings.Join(k, ", ") + "}"
}
