package vm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/methodspec"
	"github.com/batos/batos/vm/prompt"
)

// personaInfo is what a model call needs from a persona object, read in
// the cycle's transaction so that facets can be asked concurrently.
type personaInfo struct {
	Name        string
	System      string
	Adapter     string
	AdapterBlob object.BlobRef
	Temperature float64
	MaxTokens   int
}

// persona reads the persona object name (a slot of personas_obj).
func (r *cycleRun) persona(tx *object.Tx, name string) (personaInfo, error) {
	ps, err := tx.Get(r.v.r.personas)
	if err != nil {
		return personaInfo{}, err
	}
	ref, ok := ps.Slots[name].(object.Ref)
	if !ok {
		return personaInfo{}, fmt.Errorf("vm: no persona %q", name)
	}
	p, err := tx.Get(object.OID(ref))
	if err != nil {
		return personaInfo{}, err
	}
	info := personaInfo{Name: name, Temperature: 0.6, MaxTokens: 256}
	if s, ok := p.Slots["system_prompt"].(object.String); ok {
		info.System = string(s)
	}
	if s, ok := p.Slots["adapter"].(object.String); ok {
		info.Adapter = string(s)
	}
	switch t := p.Slots["temperature"].(type) {
	case object.Float:
		info.Temperature = float64(t)
	case object.Int:
		info.Temperature = float64(t)
	}
	if n, ok := p.Slots["max_tokens"].(object.Int); ok && n > 0 {
		info.MaxTokens = int(n)
	}
	if info.Adapter != "" {
		pllm, err := tx.Get(r.v.r.pLLM)
		if err != nil {
			return personaInfo{}, err
		}
		repo, _ := pllm.Slots["lora_repository"].(object.Map)
		ref, ok := repo[info.Adapter].(object.Ref)
		if !ok {
			return personaInfo{}, fmt.Errorf("vm: persona %s: adapter %q is not in the lora_repository", name, info.Adapter)
		}
		proxy, err := tx.Get(object.OID(ref))
		if err != nil {
			return personaInfo{}, err
		}
		if info.AdapterBlob, ok = proxy.Slots["model_blob"].(object.BlobRef); !ok {
			return personaInfo{}, fmt.Errorf("vm: adapter %q has no blob", info.Adapter)
		}
	}
	return info, nil
}

// personaNames lists the personas (the reference slots of personas_obj).
func (r *cycleRun) personaNames(tx *object.Tx) ([]string, error) {
	ps, err := tx.Get(r.v.r.personas)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range ps.Names() {
		if _, ok := ps.Slots[n].(object.Ref); ok && !object.IsParentSlot(n) && guardian.ValidSelector(n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("vm: %s holds no personas", RootPersonas)
	}
	return out, nil
}

// genSpec is what a state asks of a generation besides the persona's
// defaults.
type genSpec struct {
	Grammar, JSONSchema string
	MaxTokens           int    // at least this many tokens (0: the persona's)
	Tag                 string // tells apart the calls of one state (facet index)
}

// generate asks the model to speak as persona p, with the prompt
// assembled from parts within the request's window (see budget.go).
// Outputs are memoized per cycle and step so that a rerun after a
// conflict replays them.
func (r *cycleRun) generate(ctx context.Context, p personaInfo, parts []prompt.Part, spec genSpec) (string, error) {
	c, err := r.prepare(p, parts, spec)
	if err != nil {
		return "", err
	}
	return r.call(ctx, c)
}

// modelCall is one model call of a cycle, its prompt assembled.
type modelCall struct {
	p              personaInfo
	g              Generation
	text           string // the prompt
	tokens, window int
	budget         time.Duration
	state, key     string
	out            string // the first attempt's output, when cached
	cached         bool
}

// prepare numbers the next model call of the cycle and assembles its
// prompt; a prompt that does not fit is recorded as a failed step.
func (r *cycleRun) prepare(p personaInfo, parts []prompt.Part, spec genSpec) (*modelCall, error) {
	r.addLine("[pLLM] Activated expert: %s", p.Name)
	r.mu.Lock()
	r.step++
	step := r.step
	state := r.state
	r.mu.Unlock()
	g := Generation{
		Persona:     p.Name,
		Adapter:     p.Adapter,
		System:      p.System,
		Grammar:     spec.Grammar,
		JSONSchema:  spec.JSONSchema,
		MaxTokens:   max(p.MaxTokens, spec.MaxTokens),
		Temperature: float32(p.Temperature),
		Seed:        int64(r.m.id)<<8 | int64(step&0xff),
	}
	t0 := time.Now()
	text, tokens, window, err := r.fit(&g, parts, spec.Grammar != "" || spec.JSONSchema != "")
	budget := time.Since(t0)
	if err != nil {
		r.mu.Lock()
		r.rec.Steps = append(r.rec.Steps, Step{State: state, Persona: p.Name, Adapter: p.Adapter, Error: errString(err), MaxTokens: g.MaxTokens})
		r.mu.Unlock()
		return nil, err
	}
	// A rerun after a conflict replays the first attempt's answers step by
	// step, even though the prompts may now describe a changed image: the
	// thought is kept, and the audit and install run again on the new state.
	// (The method grammar is built from the target's slots, so it may
	// differ on the rerun; the replayed method is audited and tried again.)
	c := &modelCall{p: p, g: g, text: text, tokens: tokens, window: window, budget: budget, state: state,
		key: fmt.Sprintf("%s\x00%s\x00%s", state, spec.Tag, p.Name)}
	r.mu.Lock()
	c.out, c.cached = r.memo[c.key]
	r.mu.Unlock()
	return c, nil
}

// call makes a prepared call (or replays it) and records it.
func (r *cycleRun) call(ctx context.Context, c *modelCall) (string, error) {
	start := time.Now()
	out := c.out
	var usage Usage
	var err error
	if !c.cached {
		r.v.writeProgress(ctx, r.snapshot())
		out, usage, err = r.v.generate(ctx, c.p, c.g)
	}
	return r.record(c, out, usage, time.Since(start), err)
}

// callBatch makes prepared calls that name one adapter as one
// BatchGenerator call (replaying the cached ones) and records each; with
// fewer than two to make it makes them as call does.
func (r *cycleRun) callBatch(ctx context.Context, cs []*modelCall) ([]string, error) {
	res := make([]string, len(cs))
	var live []*modelCall
	for _, c := range cs {
		if !c.cached {
			live = append(live, c)
		}
	}
	if len(live) < 2 {
		var errs []error
		for i, c := range cs {
			var err error
			if res[i], err = r.call(ctx, c); err != nil {
				errs = append(errs, err)
			}
		}
		return res, errors.Join(errs...)
	}
	gs := make([]Generation, len(live))
	for i, c := range live {
		gs[i] = c.g
	}
	r.v.writeProgress(ctx, r.snapshot())
	start := time.Now()
	outs, us, err := r.v.generateBatch(ctx, live[0].p, gs)
	took := time.Since(start)
	// The batch's steps go into the trace together (under one hold of
	// r.mu: calls running at the same time do not come between them), so
	// that CycleRecord.Batches finds them.
	outcome := make([]string, len(cs))
	errs := make([]error, len(cs))
	k := 0 // the next live call's index in outs and us
	r.mu.Lock()
	for i, c := range cs {
		out, u, t := c.out, Usage{}, time.Duration(0)
		if !c.cached {
			if err == nil {
				out, u = outs[k], us[k]
			}
			t, errs[i] = took, err
			k++
		}
		outcome[i] = out
		r.addStep(c, out, u, t, errs[i])
	}
	r.mu.Unlock()
	var first error
	for i, c := range cs {
		var e error
		if res[i], e = r.recorded(c, outcome[i], errs[i]); e != nil && first == nil {
			first = e
		}
	}
	return res, first
}

// record puts a call's outcome into the cycle's trace and memo.
func (r *cycleRun) record(c *modelCall, out string, usage Usage, took time.Duration, err error) (string, error) {
	r.mu.Lock()
	r.addStep(c, out, usage, took, err)
	r.mu.Unlock()
	return r.recorded(c, out, err)
}

// addStep appends a call's step to the trace and, when it succeeded,
// memoizes its output; r.mu is held.
func (r *cycleRun) addStep(c *modelCall, out string, usage Usage, took time.Duration, err error) {
	lim := r.v.opts.TraceLimit
	outTokens := usage.OutputTokens
	if outTokens == 0 && out != "" {
		outTokens = r.count(out) // the model did not say: counted again
	}
	if err == nil {
		r.memo[c.key] = out
	}
	r.rec.Steps = append(r.rec.Steps, Step{
		State: c.state, Persona: c.p.Name, Adapter: c.p.Adapter,
		Prompt: prompt.Bound(c.text, lim), Output: prompt.Bound(out, lim), Error: errString(err),
		Duration:     took,
		PromptTokens: c.tokens, Window: c.window, MaxTokens: c.g.MaxTokens, Budget: c.budget,
		OutputTokens: outTokens, Prefill: usage.Prefill, Decode: usage.Decode, Replayed: c.cached,
		Sample: usage.Sample, ForcedTokens: usage.ForcedTokens, Batch: usage.Batch,
	})
}

// recorded announces a recorded step and returns the call's result.
func (r *cycleRun) recorded(c *modelCall, out string, err error) (string, error) {
	r.v.event(CycleEvent{Kind: EventStep, Cycle: r.m.id, State: c.state})
	if err != nil {
		return "", fmt.Errorf("vm: %s: %w", c.p.Name, err)
	}
	return out, nil
}

// minFreeTokens is the smallest output bound a free-text request (no
// grammar) is lowered to, to make room for its prompt's fixed parts.
const minFreeTokens = 64

// fit assembles the prompt of g from parts within the model's context and
// sets it as g's request. It returns the prompt, its length in tokens as
// the model counts it (chat format included) and the window it had. A
// free-text request's output bound is lowered (to minFreeTokens at least)
// when the fixed parts need the room; a grammar's never is.
func (r *cycleRun) fit(g *Generation, parts []prompt.Part, constrained bool) (string, int, int, error) {
	tc := r.tok
	ctxSize := tc.ContextSize()
	g.Messages = []Message{{Role: "user", Content: ""}}
	overhead, err := tc.PromptTokens(*g)
	if err != nil {
		return "", 0, 0, fmt.Errorf("vm: %s: counting tokens: %w", g.Persona, err)
	}
	fixedNeed := 0
	for _, p := range parts {
		if p.Fit == nil {
			fixedNeed += tc.CountTokens(p.Text)
		}
	}
	if !constrained && overhead+fixedNeed+g.MaxTokens > ctxSize {
		g.MaxTokens = max(minFreeTokens, ctxSize-overhead-fixedNeed)
	}
	window := ctxSize - g.MaxTokens - overhead
	shrunk := 0 // how much the window was narrowed for joins that count more than their parts
	for range 4 {
		text, err := prompt.Assemble(tc.CountTokens, window, parts)
		var nr *prompt.NoRoomError
		if errors.As(err, &nr) {
			return "", 0, window, &ContextError{Persona: g.Persona, Need: overhead + nr.Need + shrunk + g.MaxTokens, Context: ctxSize}
		}
		if err != nil {
			return "", 0, window, err
		}
		g.Messages = []Message{{Role: "user", Content: text}}
		n, err := tc.PromptTokens(*g)
		if err != nil {
			return "", 0, window, fmt.Errorf("vm: %s: counting tokens: %w", g.Persona, err)
		}
		if over := n + g.MaxTokens - ctxSize; over > 0 {
			// The parts' tokens joined differ from their sum: shrink the
			// window by the overflow and assemble again.
			window -= over + 8
			shrunk += over + 8
			continue
		}
		return text, n, ctxSize - g.MaxTokens, nil
	}
	return "", 0, window, fmt.Errorf("vm: %s: no prompt within the context of %d tokens after 4 tries (its parts count %d tokens fewer than the whole)", g.Persona, ctxSize, shrunk)
}

// generate makes the persona's adapter hot when the model can hold
// adapters, then calls the model under the concurrency bound.
func (v *VM) generate(ctx context.Context, p personaInfo, g Generation) (string, Usage, error) {
	m, release, err := v.useModel(ctx, p)
	if err != nil {
		return "", Usage{}, err
	}
	defer release()
	var (
		out string
		u   Usage
	)
	if ur, ok := m.(UsageReporter); ok {
		out, u, err = ur.GenerateUsage(ctx, g)
	} else {
		out, err = m.Generate(ctx, g)
	}
	if err != nil {
		return "", u, err
	}
	return strings.ToValidUTF8(out, "\uFFFD"), u, nil
}

// generateBatch is generate for several Generations under p's adapter,
// decoded together by the model's BatchGenerator.
func (v *VM) generateBatch(ctx context.Context, p personaInfo, gs []Generation) ([]string, []Usage, error) {
	m, release, err := v.useModel(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	bg, ok := m.(BatchGenerator)
	if !ok {
		// The model was replaced since the state chose to batch.
		return nil, nil, fmt.Errorf("%w: the model is no BatchGenerator", ErrBatchMismatch)
	}
	outs, us, err := bg.GenerateBatch(ctx, gs)
	if err == nil && (len(outs) != len(gs) || len(us) != len(gs)) {
		err = fmt.Errorf("%w: GenerateBatch returned %d outputs and %d usages for %d requests", ErrBatchMismatch, len(outs), len(us), len(gs))
	}
	if err != nil {
		return nil, nil, err
	}
	for i := range outs {
		outs[i] = strings.ToValidUTF8(outs[i], "\uFFFD")
	}
	return outs, us, nil
}

// useModel returns the current model with p's adapter hot and one of
// Options.ModelConcurrency's slots taken; release gives both back.
func (v *VM) useModel(ctx context.Context, p personaInfo) (Model, func(), error) {
	m := v.currentModel()
	if m == nil {
		return nil, nil, ErrNoModel
	}
	release, err := v.tiers.Acquire(ctx, m, p.Adapter, p.AdapterBlob)
	if err != nil {
		return nil, nil, err
	}
	select {
	case v.modelSem <- struct{}{}:
	case <-ctx.Done():
		release()
		return nil, nil, ctx.Err()
	}
	return m, func() { <-v.modelSem; release() }, nil
}

// view reads what the prompts say about the mission, once per attempt
// (the states share it): the brief, the target and, when a Retriever is
// set, relevant passages.
func (r *cycleRun) view(ctx context.Context, tx *object.Tx) (*missionView, error) {
	if r.mv != nil {
		return r.mv, nil
	}
	mv := &missionView{}
	var query string
	var err error
	relevant := map[string]bool{}
	switch r.missionType() {
	case MissionUnhandledMessage, MissionAcquireCapability:
		sel, _ := r.m.brief["selector"].(object.String)
		args, _ := r.m.brief["args"].(object.List)
		kw, _ := r.m.brief["kwargs"].(object.Map)
		a, k := previewArgs(args, kw)
		mv.Brief = fmt.Sprintf("The object %d received the message '%s' with args=%s and kwargs=%s, which neither it nor its parents understand. Create a method named '%s' that handles it.",
			uint64(r.m.target), sel, a, k, sel)
		query = string(sel)
		if r.missionType() == MissionAcquireCapability {
			purpose := prompt.Bound(briefString(r.m.brief, "purpose", "handle the message '"+string(sel)+"'"), 1024)
			if r.fromMiss() {
				mv.Brief += " The object holds capabilities that reach the outside world (listed below); the method may call one of them."
			} else {
				mv.Proxy = true
				mv.Brief = fmt.Sprintf("The object %d holds capabilities that reach the outside world. Write its method '%s' (trial arguments args=%s and kwargs=%s) as a proxy that calls one of them for this purpose: %s",
					uint64(r.m.target), sel, a, k, purpose)
				query = purpose
			}
			if mv.Caps, err = r.v.heldCapabilities(tx, r.m.target, briefString(r.m.brief, "capability", "")); err != nil {
				return nil, err
			}
		}
		relevant = methodspec.RelevantNames(string(sel), args, kw)
		selector, params, err := r.methodSignature()
		if err != nil {
			return nil, err
		}
		mv.Selector, mv.Params = selector, params
		mv.Args = append(mv.Args, args...)
		for _, name := range sortedKeys(kw) {
			mv.Args = append(mv.Args, kw[name])
		}
	case MissionSelfAudit:
		mv.Brief = fmt.Sprintf("Perform a %s audit of BAT OS (the orchestrator is object %d). Statistics from the cycle log: %s",
			prompt.Printable(briefString(r.m.brief, "audit_type", "cognitive_efficiency"), 64), uint64(r.m.target), prompt.Bound(briefString(r.m.brief, "statistics", "none"), 2048))
		query = "cognitive efficiency audit"
	default:
		text := briefString(r.m.brief, "text", object.Format(r.m.brief))
		mv.Brief = fmt.Sprintf("Answer this request about object %d: %s", uint64(r.m.target), prompt.Bound(text, 4096))
		query = prompt.Bound(text, 1024)
	}
	if mv.Object, err = prompt.ViewObject(tx, r.m.target, relevant); err != nil {
		return nil, err
	}
	if r.v.opts.Retriever != nil && query != "" {
		if mv.Passages, err = r.v.opts.Retriever.Retrieve(ctx, tx, query, 3); err != nil {
			return nil, fmt.Errorf("vm: retrieval: %w", err)
		}
	}
	r.mv = mv
	return mv, nil
}

func briefString(b object.Map, key, def string) string {
	if s, ok := b[key].(object.String); ok {
		return string(s)
	}
	return def
}

func sortedKeys(m object.Map) []string { return slices.Sorted(maps.Keys(m)) }
