package vm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/plan"
	"github.com/batos/batos/vm/prompt"
)

// Personas with fixed parts in the cycle.
const (
	PersonaPlanner = "BRICK"  // DECOMPOSING
	PersonaWeaver  = "ROBIN"  // SYNTHESIZING, text missions
	PersonaCoder   = "ALFRED" // SYNTHESIZING, missing methods
)

// stateFuncs are the behaviours of the state prototypes, registered as the
// primitives psm.idle, psm.decomposing, ... Each returns the name of the
// next state, or nil when the cycle ends.
var stateFuncs = map[string]PrimitiveFunc{
	StateIdle:         psmIdle,
	StateDecomposing:  psmDecomposing,
	StateDelegating:   psmDelegating,
	StateSynthesizing: psmSynthesizing,
	StateComplete:     psmComplete,
	StateFailed:       psmFailed,
}

func psmIdle(ctx context.Context, c *Call) (object.Value, error) {
	r, err := runFrom(ctx)
	if err != nil {
		return nil, err
	}
	r.addLine("Cycle %d activated (IDLE).", r.m.id)
	return object.String(StateDecomposing), nil
}

func psmDecomposing(ctx context.Context, c *Call) (object.Value, error) {
	r, err := runFrom(ctx)
	if err != nil {
		return nil, err
	}
	r.addLine("Decomposing mission (DECOMPOSING).")
	personas, err := r.personaNames(c.Tx)
	if err != nil {
		return nil, err
	}
	mv, err := r.view(ctx, c.Tx)
	if err != nil {
		return nil, err
	}
	p, err := r.persona(c.Tx, PersonaPlanner)
	if err != nil {
		return nil, err
	}
	out, err := r.generate(ctx, p, decomposeParts(mv, personas, r.count), genSpec{
		Grammar:    plan.Grammar(personas),
		JSONSchema: plan.Schema(personas),
		MaxTokens:  plan.MaxTokens(personas),
	})
	if err != nil {
		return nil, err
	}
	pl, err := plan.Parse(out, personas)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPlan, err)
	}
	r.plan = pl
	facets := object.List{}
	for _, f := range pl.Facets {
		facets = append(facets, object.Map{"persona": object.String(f.Persona), "query": object.String(f.Query)})
	}
	if err := r.setSlots(c.Tx, map[string]object.Value{"plan": facets}); err != nil {
		return nil, err
	}
	return object.String(StateDelegating), nil
}

func psmDelegating(ctx context.Context, c *Call) (object.Value, error) {
	r, err := runFrom(ctx)
	if err != nil {
		return nil, err
	}
	r.addLine("Delegating to facets (DELEGATING).")
	mv, err := r.view(ctx, c.Tx)
	if err != nil {
		return nil, err
	}
	infos := make([]personaInfo, len(r.plan.Facets))
	for i, f := range r.plan.Facets {
		if infos[i], err = r.persona(c.Tx, f.Persona); err != nil {
			return nil, err
		}
	}
	answers := make([]facetAnswer, len(r.plan.Facets))
	errs := make([]error, len(r.plan.Facets))
	ask := func(i int) {
		f := r.plan.Facets[i]
		answers[i] = facetAnswer{Facet: f}
		out, err := r.generate(ctx, infos[i], facetParts(mv, f, r.count), genSpec{Tag: fmt.Sprint("facet", i)})
		// An answer is cut to its bound before it is passed on (a model
		// may ignore MaxTokens); the prompts that quote it fold it further.
		answers[i].Response, _ = prompt.Truncate(out, infos[i].MaxTokens, r.count)
		errs[i] = err
	}
	if r.v.opts.ModelConcurrency == 1 || len(infos) == 1 {
		for i := range infos {
			if ask(i); errs[i] != nil {
				break
			}
		}
	} else {
		done := make(chan struct{})
		for i := range infos {
			go func() { ask(i); done <- struct{}{} }()
		}
		for range infos {
			<-done
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r.partials = answers
	list := object.List{}
	for _, a := range answers {
		list = append(list, object.Map{
			"persona":  object.String(a.Persona),
			"query":    object.String(a.Query),
			"response": object.String(a.Response),
		})
	}
	if err := r.setSlots(c.Tx, map[string]object.Value{"partial_responses": list}); err != nil {
		return nil, err
	}
	return object.String(StateSynthesizing), nil
}

func psmSynthesizing(ctx context.Context, c *Call) (object.Value, error) {
	r, err := runFrom(ctx)
	if err != nil {
		return nil, err
	}
	r.addLine("Performing Cognitive Weaving (SYNTHESIZING).")
	mv, err := r.view(ctx, c.Tx)
	if err != nil {
		return nil, err
	}
	if r.missionType() != MissionUnhandledMessage {
		p, err := r.persona(c.Tx, PersonaWeaver)
		if err != nil {
			return nil, err
		}
		out, err := r.generate(ctx, p, weaveParts(mv, r.partials, r.count), genSpec{})
		if err != nil {
			return nil, err
		}
		r.artifact, r.kind = out, artifactText
	} else {
		src, err := r.writeMethod(ctx, c.Tx, mv)
		if err != nil {
			return nil, err
		}
		r.artifact, r.kind = src, artifactMethod
	}
	if err := r.setSlots(c.Tx, map[string]object.Value{
		"final_artifact": object.String(r.artifact),
		"artifact_type":  object.String(r.kind),
	}); err != nil {
		return nil, err
	}
	return object.String(StateComplete), nil
}

func psmComplete(ctx context.Context, c *Call) (object.Value, error) {
	r, err := runFrom(ctx)
	if err != nil {
		return nil, err
	}
	r.addLine("Cycle %d completed (COMPLETE).", r.m.id)
	r.mu.Lock()
	r.rec.Result = prompt.Bound(r.artifact, r.v.opts.TraceLimit)
	r.mu.Unlock()
	outcome := "text response"
	switch r.kind {
	case artifactMethod:
		selector, _, err := r.methodSignature()
		if err != nil {
			return nil, err
		}
		target, err := c.Tx.Get(r.m.target)
		if err != nil {
			return nil, err
		}
		if old, ok := target.Slots[selector]; ok {
			// Another cycle (or the architect) answered the message first;
			// one selector gets one method.
			outcome = "method already present"
			r.addLine("[Orchestrator] Slot '%s' already present on OID %d (%s); keeping it.", selector, target.OID, object.Format(old))
			break
		}
		target.Set(selector, &object.Method{
			Selector: selector,
			Source:   r.artifact,
			Author:   PersonaCoder,
			Cycle:    r.m.id,
			Verdict:  "passed",
			Findings: attemptNotes(r.attempts),
			Created:  r.v.opts.Now(),
			Version:  1,
		})
		if err := c.Tx.Put(target); err != nil {
			return nil, err
		}
		outcome = "method installed"
		oid := target.OID
		c.Tx.OnCommit(func() { r.addLine("New method '%s' installed on OID %d.", selector, oid) })
	case artifactText:
		r.addLine("[Orchestrator] Final synthesized response recorded (%d bytes).", len(r.artifact))
	default:
		return nil, errors.New("vm: COMPLETE reached without an artifact")
	}
	r.mu.Lock()
	r.rec.Outcome = outcome
	r.mu.Unlock()
	if err := r.setSlots(c.Tx, map[string]object.Value{"status": object.String(StatusComplete)}); err != nil {
		return nil, err
	}
	return nil, nil
}

func psmFailed(ctx context.Context, c *Call) (object.Value, error) {
	r, err := runFrom(ctx)
	if err != nil {
		return nil, err
	}
	if r.failure == nil {
		r.failure = errors.New("vm: the cycle entered FAILED")
	}
	r.addLine("Cycle %d has failed. Aborting transaction (FAILED).", r.m.id)
	c.Tx.Doom()
	return nil, nil
}

func (r *cycleRun) missionType() string {
	t, _ := r.m.brief["type"].(object.String)
	return string(t)
}

// methodSignature returns the selector of an unhandled_message mission
// and the parameter names its method takes after self: arg0, arg1, ...
// for the positional arguments, then the keyword names, sorted.
func (r *cycleRun) methodSignature() (string, []string, error) {
	sel, _ := r.m.brief["selector"].(object.String)
	if !guardian.ValidSelector(string(sel)) {
		return "", nil, fmt.Errorf("%w: %q", ErrBadSelector, sel)
	}
	var params []string
	args, _ := r.m.brief["args"].(object.List)
	for i := range args {
		params = append(params, fmt.Sprintf("arg%d", i))
	}
	kw, _ := r.m.brief["kwargs"].(object.Map)
	for _, k := range sortedKeys(kw) {
		if !guardian.ValidSelector(k) || strings.HasPrefix(k, "arg") {
			return "", nil, fmt.Errorf("%w: keyword %q", ErrBadSelector, k)
		}
		params = append(params, k)
	}
	return string(sel), params, nil
}

// CleanSource strips what a chatty model wraps code in: Markdown fences,
// prose before the first "def " line and after the function's body, and
// surrounding blank lines. Output produced under the method grammar passes
// through unchanged.
func CleanSource(out string) string {
	s := strings.TrimSpace(out)
	if i := strings.Index(s, "```"); i >= 0 {
		rest := s[i+3:]
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
			rest = rest[nl+1:]
		}
		if j := strings.Index(rest, "```"); j >= 0 {
			rest = rest[:j]
		}
		s = strings.TrimSpace(rest)
	}
	lines := strings.Split(s, "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "def ") })
	if start < 0 {
		return s + "\n"
	}
	end := len(lines)
	for i := start + 1; i < len(lines); i++ {
		l := lines[i]
		if l != "" && l[0] != ' ' && l[0] != '\t' && l[0] != '#' {
			end = i // prose (or a second definition) after the body
			break
		}
	}
	return strings.TrimSpace(strings.Join(lines[start:end], "\n")) + "\n"
}
