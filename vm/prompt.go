package vm

import (
	"fmt"
	"strings"

	"github.com/batos/batos/object"
)

// missionView is what the prompts of one cycle attempt say about the
// mission, read once in the cycle's transaction.
type missionView struct {
	Brief    string         // what was asked, arguments previewed (fixed part)
	Object   *objectView    // the target
	Passages []string       // catalog passages (may be empty)
	Selector string         // for unhandled_message missions
	Params   []string       // the method's parameters after self
	Args     []object.Value // one per Params entry
}

// Shares of the foldable room, by part; assemble gives what one leaves to
// the next in priority order.
const (
	shareObject   = 0.5
	sharePartials = 0.5
	sharePassages = 0.3
	shareAttempts = 0.5
)

func (mv *missionView) objectPart(count func(string) int, share float64) part {
	return part{Fit: spaced(mv.Object.describe(count)), Prio: 1, Share: share}
}

func (mv *missionView) passagesPart(count func(string) int) part {
	items := make([]item, len(mv.Passages))
	for i, p := range mv.Passages {
		items[i] = item{Prefix: "- ", Body: p, Suffix: "\n"}
	}
	return part{Fit: spaced(fitEach("Relevant knowledge from the catalog:\n", items, count)), Prio: 3, Share: sharePassages}
}

func partialsPart(partials []facetAnswer, count func(string) int) part {
	items := make([]item, len(partials))
	for i, p := range partials {
		items[i] = item{
			Prefix: fmt.Sprintf("- %s (%s): ", p.Persona, p.Query),
			Body:   strings.TrimSpace(p.Response),
			Suffix: "\n",
		}
	}
	return part{Fit: spaced(fitEach("Perspectives of the facets:\n", items, count)), Prio: 2, Share: sharePartials}
}

// decomposeParts is BRICK's meta-prompt in DECOMPOSING.
func decomposeParts(mv *missionView, personas []string, count func(string) int) []part {
	return []part{
		fixed(fmt.Sprintf(`Deconstruct the following mission into a structured plan. Identify the relevant cognitive facets among the personas %s and formulate one short sub-query for each (one to three facets). Output JSON only: {"facets":[{"persona":"...","query":"..."}]}.

Mission: %s

`, strings.Join(personas, ", "), mv.Brief)),
		mv.objectPart(count, shareObject),
		mv.passagesPart(count),
	}
}

// facetParts is a facet's request in DELEGATING.
func facetParts(mv *missionView, f Facet, count func(string) int) []part {
	return []part{
		fixed("Mission: " + mv.Brief + "\n\n"),
		mv.objectPart(count, shareObject),
		mv.passagesPart(count),
		fixed("Your sub-query: " + f.Query + "\n\nAnswer briefly, from your own perspective."),
	}
}

// weaveParts is ROBIN's synthesis meta-prompt in SYNTHESIZING.
func weaveParts(mv *missionView, partials []facetAnswer, count func(string) int) []part {
	return []part{
		fixed("Synthesize a final response for this mission using these perspectives. Weave them into a single, coherent output.\n\nMission: " + mv.Brief + "\n\n"),
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
		a = append(a, preview(v, 160, 2))
	}
	var k []string
	for i, name := range sortedKeys(kw) {
		if i == 8 {
			k = append(k, fmt.Sprintf("...%d more", len(kw)-i))
			break
		}
		k = append(k, safeName(name)+": "+preview(kw[name], 160, 2))
	}
	return "[" + strings.Join(a, ", ") + "]", "{" + strings.Join(k, ", ") + "}"
}
