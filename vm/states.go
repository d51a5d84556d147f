package vm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

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

// A stateFunc is the builtin behaviour of a state prototype: it runs one
// state of the cycle r inside the cycle's transaction tx and returns the
// name of the next state, or "" when the cycle ends. Everything a state
// reads of the cycle so far (the plan, the facets' answers, the artifact)
// is on r; what it hands on to the next state it writes there too.
type stateFunc func(ctx context.Context, r *cycleRun, tx *object.Tx) (next string, err error)

// stateFuncs are the behaviours of the state prototypes by state name.
// Their slots hold them as the primitives psm.idle, psm.decomposing, ...;
// the cycle calls them with its run (see cycleRun.drive), and as plain
// primitives (from a method or a dispatch) they refuse to run.
var stateFuncs = map[string]stateFunc{
	StateIdle:         psmIdle,
	StateDecomposing:  psmDecomposing,
	StateDelegating:   psmDelegating,
	StateSynthesizing: psmSynthesizing,
	StateComplete:     psmComplete,
	StateFailed:       psmFailed,
}

func psmIdle(ctx context.Context, r *cycleRun, tx *object.Tx) (string, error) {
	r.addLine("Cycle %d activated (IDLE).", r.m.id)
	return StateDecomposing, nil
}

func psmDecomposing(ctx context.Context, r *cycleRun, tx *object.Tx) (string, error) {
	r.addLine("Decomposing mission (DECOMPOSING).")
	personas, err := r.personaNames(tx)
	if err != nil {
		return "", err
	}
	mv, err := r.view(ctx, tx)
	if err != nil {
		return "", err
	}
	p, err := r.persona(tx, PersonaPlanner)
	if err != nil {
		return "", err
	}
	out, err := r.generate(ctx, p, decomposeParts(mv, personas, r.count), genSpec{
		Grammar:    plan.Grammar(personas),
		JSONSchema: plan.Schema(personas),
		MaxTokens:  plan.MaxTokens(personas),
	})
	if err != nil {
		return "", err
	}
	pl, err := plan.Parse(out, personas)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadPlan, err)
	}
	r.plan = pl
	facets := object.List{}
	for _, f := range pl.Facets {
		facets = append(facets, object.Map{"persona": object.String(f.Persona), "query": object.String(f.Query)})
	}
	if err := r.setSlots(tx, map[string]object.Value{"plan": facets}); err != nil {
		return "", err
	}
	return StateDelegating, nil
}

func psmDelegating(ctx context.Context, r *cycleRun, tx *object.Tx) (string, error) {
	r.addLine("Delegating to facets (DELEGATING).")
	mv, err := r.view(ctx, tx)
	if err != nil {
		return "", err
	}
	infos := make([]personaInfo, len(r.plan.Facets))
	for i, f := range r.plan.Facets {
		if infos[i], err = r.persona(tx, f.Persona); err != nil {
			return "", err
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
	if _, ok := r.v.currentModel().(BatchGenerator); ok && sharedAdapter(infos) {
		if err := r.askBatched(ctx, mv, infos, answers); err != nil {
			return "", err
		}
	} else if r.v.opts.ModelConcurrency == 1 || len(infos) == 1 {
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
		return "", err
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
	if err := r.setSlots(tx, map[string]object.Value{"partial_responses": list}); err != nil {
		return "", err
	}
	return StateSynthesizing, nil
}

// sharedAdapter reports whether two facets' personas use the same adapter
// (or both none), so that they can decode as one batch.
func sharedAdapter(infos []personaInfo) bool {
	seen := map[string]bool{}
	for _, p := range infos {
		if seen[p.Adapter] {
			return true
		}
		seen[p.Adapter] = true
	}
	return false
}

// askBatched asks a plan's facets through a BatchGenerator: the facets
// whose personas share an adapter decode as one batch, groups one after
// another in the order of their first facet (at the same time when
// Options.ModelConcurrency allows). Steps are numbered (and
// seeded) in the plan's order, as when they are asked one by one.
func (r *cycleRun) askBatched(ctx context.Context, mv *missionView, infos []personaInfo, answers []facetAnswer) error {
	calls := make([]*modelCall, len(infos))
	for i, f := range r.plan.Facets {
		answers[i] = facetAnswer{Facet: f}
		c, err := r.prepare(infos[i], facetParts(mv, f, r.count), genSpec{Tag: fmt.Sprint("facet", i)})
		if err != nil {
			return err
		}
		calls[i] = c
	}
	var order []string
	groups := map[string][]int{}
	for i, p := range infos {
		if _, ok := groups[p.Adapter]; !ok {
			order = append(order, p.Adapter)
		}
		groups[p.Adapter] = append(groups[p.Adapter], i)
	}
	ask := func(a string) error {
		idx := groups[a]
		cs := make([]*modelCall, len(idx))
		for k, i := range idx {
			cs[k] = calls[i]
		}
		outs, err := r.callBatch(ctx, cs)
		for k, i := range idx {
			// Cut to its bound, as ask cuts it.
			answers[i].Response, _ = prompt.Truncate(outs[k], infos[i].MaxTokens, r.count)
		}
		return err
	}
	if r.v.opts.ModelConcurrency == 1 || len(order) == 1 {
		for _, a := range order {
			if err := ask(a); err != nil {
				return err
			}
		}
		return nil
	}
	// Groups under different adapters cannot share a batch; with model
	// concurrency they are asked at the same time (a model that can
	// decode in several contexts at once overlaps them).
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for g, a := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[g] = ask(a)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func psmSynthesizing(ctx context.Context, r *cycleRun, tx *object.Tx) (string, error) {
	r.addLine("Performing Cognitive Weaving (SYNTHESIZING).")
	mv, err := r.view(ctx, tx)
	if err != nil {
		return "", err
	}
	if !r.writesMethod() {
		p, err := r.persona(tx, PersonaWeaver)
		if err != nil {
			return "", err
		}
		out, err := r.generate(ctx, p, weaveParts(mv, r.partials, r.count), genSpec{})
		if err != nil {
			return "", err
		}
		r.artifact, r.kind = out, artifactText
	} else {
		src, err := r.writeMethod(ctx, tx, mv)
		if err != nil {
			return "", err
		}
		r.artifact, r.kind = src, artifactMethod
	}
	if err := r.setSlots(tx, map[string]object.Value{
		"final_artifact": object.String(r.artifact),
		"artifact_type":  object.String(r.kind),
	}); err != nil {
		return "", err
	}
	return StateComplete, nil
}

func psmComplete(ctx context.Context, r *cycleRun, tx *object.Tx) (string, error) {
	r.addLine("Cycle %d completed (COMPLETE).", r.m.id)
	r.mu.Lock()
	r.rec.Result = prompt.Bound(r.artifact, r.v.opts.TraceLimit)
	r.mu.Unlock()
	outcome := "text response"
	switch r.kind {
	case artifactMethod:
		selector, _, err := r.methodSignature()
		if err != nil {
			return "", err
		}
		target, err := tx.Get(r.m.target)
		if err != nil {
			return "", err
		}
		if name := briefString(r.m.brief, "install_as", ""); name != "" && r.missionType() == MissionAcquireCapability {
			// A new named object that delegates to the target, so it
			// holds what the target holds, the capabilities included.
			if target, err = r.proxyObject(tx, name); err != nil {
				return "", err
			}
		}
		if old, ok := target.Slots[selector]; ok {
			// Another cycle (or the architect) answered the message first;
			// one selector gets one method.
			outcome = "method already present"
			r.addLine("[Orchestrator] Slot '%s' already present on OID %d (%s); keeping it.", selector, target.OID, object.Format(old))
			break
		}
		m := &object.Method{
			Source:   r.artifact,
			Author:   PersonaCoder,
			Cycle:    r.m.id,
			Verdict:  VerdictPassed,
			Findings: attemptNotes(r.attempts),
		}
		if err := r.v.installMethod(tx, target, selector, m, fmt.Sprintf("written by %s in cycle %d", PersonaCoder, r.m.id)); err != nil {
			return "", err
		}
		outcome = "method installed"
		oid := target.OID
		tx.OnCommit(func() { r.addLine("New method '%s' installed on OID %d.", selector, oid) })
	case artifactText:
		r.addLine("[Orchestrator] Final synthesized response recorded (%d bytes).", len(r.artifact))
	default:
		return "", errors.New("vm: COMPLETE reached without an artifact")
	}
	r.mu.Lock()
	r.rec.Outcome = outcome
	r.mu.Unlock()
	if err := r.setSlots(tx, map[string]object.Value{"status": object.String(StatusComplete)}); err != nil {
		return "", err
	}
	return "", nil
}

// proxyObject returns the root name's object, made in tx as a child of
// the target when there is none; an existing one must delegate to the
// target.
func (r *cycleRun) proxyObject(tx *object.Tx, name string) (*object.Object, error) {
	if !guardian.ValidSelector(name) {
		return nil, fmt.Errorf("%w: install_as %q", ErrBadSelector, name)
	}
	oid, err := tx.Root(name)
	if err == nil {
		o, err := tx.Get(oid)
		if err != nil {
			return nil, err
		}
		if p, _ := o.Slots["parent*"].(object.Ref); object.OID(p) != r.m.target {
			return nil, fmt.Errorf("%w: %s exists and does not delegate to object %d", object.ErrInvalid, name, uint64(r.m.target))
		}
		return o, nil
	}
	if !errors.Is(err, object.ErrNotFound) {
		return nil, err
	}
	o, err := tx.New(map[string]object.Value{"parent*": object.Ref(r.m.target)})
	if err != nil {
		return nil, err
	}
	if err := tx.SetRoot(name, o.OID); err != nil {
		return nil, err
	}
	r.addLine("[Orchestrator] Proxy object '%s' (OID %d) made, delegating to OID %d.", name, o.OID, r.m.target)
	return o, nil
}

func psmFailed(ctx context.Context, r *cycleRun, tx *object.Tx) (string, error) {
	if r.failure == nil {
		r.failure = errors.New("vm: the cycle entered FAILED")
	}
	r.addLine("Cycle %d has failed. Aborting transaction (FAILED).", r.m.id)
	tx.Doom()
	return "", nil
}

// writesMethod reports whether the mission's artifact is a method.
func (r *cycleRun) writesMethod() bool {
	t := r.missionType()
	return t == MissionUnhandledMessage || t == MissionAcquireCapability
}

// fromMiss reports an acquire_capability mission that doesNotUnderstand
// started (its brief has "proxy": false): its method may be an ordinary
// one or a proxy.
func (r *cycleRun) fromMiss() bool {
	p, ok := r.m.brief["proxy"].(object.Bool)
	return ok && !bool(p)
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
