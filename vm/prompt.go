package vm

import (
	"fmt"
	"strings"
)

// decomposePrompt is BRICK's meta-prompt in DECOMPOSING.
func decomposePrompt(mission string, personas []string) string {
	return fmt.Sprintf(`Deconstruct the following mission into a structured plan. Identify the relevant cognitive facets among the personas %s and formulate one short sub-query for each (one to three facets). Output JSON only: {"facets":[{"persona":"...","query":"..."}]}.

Mission: %s`, strings.Join(personas, ", "), mission)
}

// facetPrompt is a facet's request in DELEGATING.
func facetPrompt(mission string, f Facet) string {
	return fmt.Sprintf("Mission: %s\n\nYour sub-query: %s\n\nAnswer briefly, from your own perspective.", mission, f.Query)
}

// weavePrompt is ROBIN's synthesis meta-prompt in SYNTHESIZING.
func weavePrompt(mission string, partials []facetAnswer) string {
	return fmt.Sprintf("Synthesize a final response for this mission using these perspectives. Weave them into a single, coherent output.\n\nMission: %s\n\nPerspectives:\n%s",
		mission, formatPartials(partials))
}

func formatPartials(partials []facetAnswer) string {
	var sb strings.Builder
	for _, p := range partials {
		fmt.Fprintf(&sb, "- %s (%s): %s\n", p.Persona, p.Query, strings.TrimSpace(p.Response))
	}
	return sb.String()
}

// covenantPrompt is the blueprint's architectural covenant prompt, for
// Starlark, given to ALFRED in SYNTHESIZING for a missing method.
func covenantPrompt(mission, selector string, params []string, partials []facetAnswer) string {
	sig := "self"
	for _, p := range params {
		sig += ", " + p
	}
	return fmt.Sprintf(`You are the BAT OS Universal Virtual Machine's Just-in-Time (JIT) Compiler for Intent. An object has received a message it does not understand. Your task is to generate the complete, syntactically correct Starlark code for a new method to handle this message.

**Mission Intent:** %s
**Method Name:** `+"`%s`"+`
**Perspectives of the other facets:**
%s
**Architectural Covenants (Non-Negotiable):**
1. The code must be a single, complete function definition (`+"`def %s(%s):`"+`).
2. The function MUST accept `+"`self`"+` as its first argument.
3. The function can access the object's state ONLY through `+"`self.slot_name`"+`. Direct access to `+"`self._slots`"+` is forbidden.
4. If the function modifies the object's state (e.g., `+"`self.some_slot = new_value`"+`), it MUST conclude with the line `+"`self._p_changed = True`"+`. This is The Persistence Covenant.
5. Every object understands self.repr(), self.oid() and self.slot_names().
6. Do NOT include any conversational text, explanations, or markdown formatting. Output ONLY the raw code for the function.

**BEGIN CODE GENERATION:**
`, mission, selector, formatPartials(partials), selector, sig)
}
