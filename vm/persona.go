package vm

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/batos/batos/object"
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
		if _, ok := ps.Slots[n].(object.Ref); ok && !object.IsParentSlot(n) && ValidSelector(n) {
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

// generate asks the model to speak as persona p. Outputs are memoized per
// cycle and step so that a rerun after a conflict replays them.
func (r *cycleRun) generate(ctx context.Context, p personaInfo, prompt string, spec genSpec) (string, error) {
	r.addLine("[pLLM] Activated expert: %s", p.Name)
	r.mu.Lock()
	r.step++
	step := r.step
	state := r.state
	r.mu.Unlock()
	// A rerun after a conflict replays the first attempt's answers step by
	// step, even though the prompts may now describe a changed image: the
	// thought is kept, and the audit and install run again on the new state.
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%s", state, spec.Tag, p.Name, spec.Grammar)
	r.mu.Lock()
	out, cached := r.memo[key]
	r.mu.Unlock()
	start := time.Now()
	var err error
	if !cached {
		r.v.writeProgress(ctx, r.snapshot())
		out, err = r.v.generate(ctx, p, Generation{
			Persona:     p.Name,
			Adapter:     p.Adapter,
			System:      p.System,
			Messages:    []Message{{Role: "user", Content: prompt}},
			Grammar:     spec.Grammar,
			JSONSchema:  spec.JSONSchema,
			MaxTokens:   max(p.MaxTokens, spec.MaxTokens),
			Temperature: float32(p.Temperature),
			Seed:        int64(r.m.id)<<8 | int64(step&0xff),
		})
	}
	lim := r.v.opts.TraceLimit
	r.mu.Lock()
	if err == nil {
		r.memo[key] = out
	}
	r.rec.Steps = append(r.rec.Steps, Step{
		State: state, Persona: p.Name, Adapter: p.Adapter,
		Prompt: bound(prompt, lim), Output: bound(out, lim), Error: errString(err),
		Duration: time.Since(start),
	})
	r.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("vm: %s: %w", p.Name, err)
	}
	return out, nil
}

// generate makes the persona's adapter hot when the model can hold
// adapters, then calls the model under the concurrency bound.
func (v *VM) generate(ctx context.Context, p personaInfo, g Generation) (string, error) {
	m := v.currentModel()
	if m == nil {
		return "", ErrNoModel
	}
	release, err := v.tiers.acquire(ctx, m, p.Adapter, p.AdapterBlob)
	if err != nil {
		return "", err
	}
	defer release()
	select {
	case v.modelSem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-v.modelSem }()
	out, err := m.Generate(ctx, g)
	if err != nil {
		return "", err
	}
	return strings.ToValidUTF8(out, "\uFFFD"), nil
}

// describeMission renders the mission for the prompts: the brief, the
// target and, when a Retriever is set, relevant passages.
func (r *cycleRun) describeMission(ctx context.Context, tx *object.Tx) (string, error) {
	if r.mission != "" {
		return r.mission, nil // once per attempt: the states share it
	}
	var sb strings.Builder
	target, err := tx.Get(r.m.target)
	if err != nil {
		return "", err
	}
	var query string
	switch r.missionType() {
	case MissionUnhandledMessage:
		sel, _ := r.m.brief["selector"].(object.String)
		args, _ := r.m.brief["args"].(object.List)
		kw, _ := r.m.brief["kwargs"].(object.Map)
		fmt.Fprintf(&sb, "The object %s received the message '%s' with args=%s and kwargs=%s, which neither it nor its parents understand. Create a method named '%s' that handles it.",
			target.String(), sel, object.Format(args), object.Format(kw), sel)
		query = string(sel)
	case MissionSelfAudit:
		fmt.Fprintf(&sb, "Perform a %s audit of BAT OS (the orchestrator is %s). Statistics from the cycle log: %s",
			briefString(r.m.brief, "audit_type", "cognitive_efficiency"), target.String(), briefString(r.m.brief, "statistics", "none"))
		query = "cognitive efficiency audit"
	default:
		text := briefString(r.m.brief, "text", object.Format(r.m.brief))
		fmt.Fprintf(&sb, "Answer this request about %s: %s", target.String(), text)
		query = text
	}
	if r.v.opts.Retriever != nil && query != "" {
		passages, err := r.v.opts.Retriever.Retrieve(ctx, tx, query, 3)
		if err != nil {
			return "", fmt.Errorf("vm: retrieval: %w", err)
		}
		if len(passages) > 0 {
			sb.WriteString("\n\nRelevant knowledge from the catalog:")
			for _, p := range passages {
				sb.WriteString("\n- ")
				sb.WriteString(bound(p, 600))
			}
		}
	}
	r.mission = sb.String()
	return r.mission, nil
}

func briefString(b object.Map, key, def string) string {
	if s, ok := b[key].(object.String); ok {
		return string(s)
	}
	return def
}

func sortedKeys(m object.Map) []string { return slices.Sorted(maps.Keys(m)) }
