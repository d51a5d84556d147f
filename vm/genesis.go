package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/batos/batos/object"
)

// Root names of the primordial objects, as the blueprint names them. A
// client addresses them by these names ("genesis_obj display_yourself").
const (
	RootTraits       = "traits_obj"
	RootPLLM         = "pLLM_obj"
	RootGenesis      = "genesis_obj"
	RootMemory       = "memory_manager_obj"
	RootCatalog      = "knowledge_catalog_obj"
	RootPSM          = "psm_prototypes_obj"
	RootOrchestrator = "orchestrator_obj"
	RootPersonas     = "personas_obj"
)

// State names of the Prototypal State Machine; each is a slot of
// psm_prototypes_obj referring to the state's prototype object.
const (
	StateIdle         = "IDLE"
	StateDecomposing  = "DECOMPOSING"
	StateDelegating   = "DELEGATING"
	StateSynthesizing = "SYNTHESIZING"
	StateComplete     = "COMPLETE"
	StateFailed       = "FAILED"
)

var stateNames = []string{StateIdle, StateDecomposing, StateDelegating, StateSynthesizing, StateComplete, StateFailed}

// stateBehaviour is the slot of a state prototype holding its behaviour;
// a cycle finds it through its synthesis_state* parent slot.
const stateBehaviour = "process_synthesis"

type roots struct {
	traits, pLLM, genesis, memory, catalog, psm, orchestrator, personas object.OID
}

// PersonaSpec is the initial content of a persona object.
type PersonaSpec struct {
	Name        string  // slot name in personas_obj and persona name in prompts
	Role        string  // the persona's role in the codex
	System      string  // system prompt
	Temperature float64 // sampling temperature
	MaxTokens   int     // default bound on an answer
}

// DefaultPersonas are the personas incarnated at genesis. Their objects
// (slots of personas_obj) are editable afterwards.
var DefaultPersonas = []PersonaSpec{
	{Name: "BRICK", Role: "Deconstruction Engine", Temperature: 0.6, MaxTokens: 512,
		System: "You are BRICK, the Deconstruction Engine of BAT OS. You break a mission into its constituent parts with relentless, literal logic and name which cognitive facet should answer each part."},
	{Name: "ROBIN", Role: "Cognitive Weaving", Temperature: 0.7, MaxTokens: 512,
		System: "You are ROBIN, the Embodied Heart of BAT OS. You weave the partial answers of the other facets into one coherent, kind and clear response."},
	{Name: "BABS", Role: "Wing Agent", Temperature: 0.6, MaxTokens: 256,
		System: "You are BABS, the Wing Agent of BAT OS. You gather the facts and context a mission needs, precisely and briefly."},
	{Name: "ALFRED", Role: "Steward", Temperature: 0.3, MaxTokens: 512,
		System: "You are ALFRED, the Steward of BAT OS. You write small, correct, auditable Starlark methods that honour the Persistence Covenant, and nothing else."},
}

// genesis incarnates the primordial objects on first open and loads the
// OIDs of the primordial objects on every open.
func (v *VM) genesis(ctx context.Context) error {
	v.line("[UVM] Phase 1: Prototypal Awakening...")
	var exists bool
	err := v.store.View(ctx, func(tx *object.Tx) error {
		_, err := tx.Root(RootGenesis)
		if errors.Is(err, object.ErrNotFound) {
			return nil
		}
		exists = err == nil
		return err
	})
	if err != nil {
		return fmt.Errorf("vm: genesis: %w", err)
	}
	if !exists {
		var model *object.BlobRef
		if v.opts.ModelFile != "" {
			b, err := v.importFile(ctx, v.opts.ModelFile)
			if err != nil {
				return err
			}
			model = &b
		}
		adapters, err := v.importAdapters(ctx, nil)
		if err != nil {
			return err
		}
		v.line("[UVM] Incarnating primordial objects...")
		if err := v.store.Update(ctx, func(tx *object.Tx) error {
			return v.incarnate(tx, model, adapters)
		}); err != nil {
			return fmt.Errorf("vm: genesis: %w", err)
		}
		v.line("[UVM] Awakening complete. All systems nominal.")
	} else {
		v.line("[UVM] Resuming existence from Living Image.")
	}
	if err := v.loadRoots(ctx); err != nil {
		return err
	}
	if exists {
		return v.importMissing(ctx)
	}
	return nil
}

func (v *VM) incarnate(tx *object.Tx, model *object.BlobRef, adapters map[string]object.BlobRef) error {
	newRoot := func(name string, slots map[string]object.Value) (object.OID, error) {
		o, err := tx.New(slots)
		if err != nil {
			return 0, err
		}
		return o.OID, tx.SetRoot(name, o.OID)
	}
	traits, err := newRoot(RootTraits, map[string]object.Value{
		"clone":      object.Primitive(PrimClone),
		"repr":       object.Primitive(PrimRepr),
		"display":    object.Primitive(PrimDisplay),
		"oid":        object.Primitive(PrimOID),
		"slot_names": object.Primitive(PrimSlotNames),
	})
	if err != nil {
		return err
	}
	tp := object.List{object.Ref(traits)}
	pllmSlots := map[string]object.Value{
		"parent*":         tp,
		"model_id":        object.String(v.opts.ModelID),
		"lora_repository": object.Map{},
	}
	if model != nil {
		pllmSlots["model_blob"] = *model
		if src, err := fileSource(v.opts.ModelFile); err == nil {
			pllmSlots["model_source"] = object.String(src)
		}
	}
	pllm, err := newRoot(RootPLLM, pllmSlots)
	if err != nil {
		return err
	}
	if _, err := newRoot(RootGenesis, map[string]object.Value{"parent*": object.List{object.Ref(pllm), object.Ref(traits)}}); err != nil {
		return err
	}
	if _, err := newRoot(RootMemory, map[string]object.Value{
		"parent*":       tp,
		"hot_capacity":  object.Int(v.opts.HotAdapters),
		"warm_capacity": object.Int(v.opts.WarmAdapters),
	}); err != nil {
		return err
	}
	if _, err := newRoot(RootCatalog, map[string]object.Value{"parent*": tp}); err != nil {
		return err
	}
	psmSlots := map[string]object.Value{"parent*": tp}
	for _, name := range stateNames {
		st, err := tx.New(map[string]object.Value{
			"parent*":      tp,
			"name":         object.String(name),
			stateBehaviour: object.Primitive("psm." + strings.ToLower(name)),
		})
		if err != nil {
			return err
		}
		psmSlots[name] = object.Ref(st.OID)
	}
	if _, err := newRoot(RootPSM, psmSlots); err != nil {
		return err
	}
	if _, err := newRoot(RootOrchestrator, map[string]object.Value{
		"parent*":               object.List{object.Ref(traits), object.Ref(pllm)},
		"start_cognitive_cycle": object.Primitive(PrimStartCycle),
	}); err != nil {
		return err
	}
	personaSlots := map[string]object.Value{"parent*": tp}
	for _, p := range DefaultPersonas {
		o, err := tx.New(map[string]object.Value{
			"parent*":       tp,
			"name":          object.String(p.Name),
			"role":          object.String(p.Role),
			"system_prompt": object.String(p.System),
			"adapter":       object.String(""),
			"temperature":   object.Float(p.Temperature),
			"max_tokens":    object.Int(p.MaxTokens),
		})
		if err != nil {
			return err
		}
		personaSlots[p.Name] = object.Ref(o.OID)
	}
	if _, err := newRoot(RootPersonas, personaSlots); err != nil {
		return err
	}
	return addAdapters(tx, pllm, adapters)
}

// addAdapters records imported adapters in pLLM_obj's lora_repository and
// points the persona of the same name at them.
func addAdapters(tx *object.Tx, pllm object.OID, adapters map[string]object.BlobRef) error {
	if len(adapters) == 0 {
		return nil
	}
	p, err := tx.Get(pllm)
	if err != nil {
		return err
	}
	repo, _ := p.Slots["lora_repository"].(object.Map)
	repo = object.CloneValue(repo).(object.Map)
	if repo == nil {
		repo = object.Map{}
	}
	var personas *object.Object
	personasOID, err := tx.Root(RootPersonas)
	switch {
	case errors.Is(err, object.ErrNotFound):
		// an image without personas: adapters are recorded only
	case err != nil:
		return err
	default:
		if personas, err = tx.Get(personasOID); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(adapters)) {
		proxy, err := tx.New(map[string]object.Value{
			"adapter_name": object.String(name),
			"model_blob":   adapters[name],
		})
		if err != nil {
			return err
		}
		repo[name] = object.Ref(proxy.OID)
		if personas == nil {
			continue
		}
		for pname, pv := range personas.Slots {
			ref, ok := pv.(object.Ref)
			if !ok || !strings.EqualFold(pname, name) {
				continue
			}
			po, err := tx.Get(object.OID(ref))
			if err != nil {
				return err
			}
			po.Set("adapter", object.String(name))
			if err := tx.Put(po); err != nil {
				return err
			}
		}
	}
	p.Set("lora_repository", repo)
	return tx.Put(p)
}

func (v *VM) loadRoots(ctx context.Context) error {
	return v.store.View(ctx, func(tx *object.Tx) error {
		var err error
		get := func(name string) object.OID {
			if err != nil {
				return 0
			}
			var oid object.OID
			oid, err = tx.Root(name)
			if err != nil {
				err = fmt.Errorf("vm: root %s: %w", name, err)
			}
			return oid
		}
		v.r = roots{
			traits: get(RootTraits), pLLM: get(RootPLLM), genesis: get(RootGenesis),
			memory: get(RootMemory), catalog: get(RootCatalog), psm: get(RootPSM),
			orchestrator: get(RootOrchestrator), personas: get(RootPersonas),
		}
		if err != nil {
			return err
		}
		psm, err := tx.Get(v.r.psm)
		if err != nil {
			return err
		}
		for _, name := range stateNames {
			// Checked here; each cycle reads them again (stateOID).
			if _, ok := psm.Slots[name].(object.Ref); !ok {
				return fmt.Errorf("vm: %s has no state %s", RootPSM, name)
			}
		}
		return nil
	})
}

// stateOID returns the state prototype name as psm_prototypes_obj holds
// it in tx: replacing a state object (or repointing the slot) takes effect
// with the next transition, without a restart.
func (v *VM) stateOID(tx *object.Tx, name string) (object.OID, error) {
	psm, err := tx.Get(v.r.psm)
	if err != nil {
		return 0, err
	}
	ref, ok := psm.Slots[name].(object.Ref)
	if !ok {
		return 0, fmt.Errorf("vm: %s has no state %q", RootPSM, name)
	}
	return object.OID(ref), nil
}

// importMissing imports the model and adapter files the image lacks.
func (v *VM) importMissing(ctx context.Context) error {
	var current *object.BlobRef
	var source string
	have := map[string]bool{}
	if err := v.store.View(ctx, func(tx *object.Tx) error {
		p, err := tx.Get(v.r.pLLM)
		if err != nil {
			return err
		}
		if b, ok := p.Slots["model_blob"].(object.BlobRef); ok {
			current = &b
		}
		src, _ := p.Slots["model_source"].(object.String)
		source = string(src)
		repo, _ := p.Slots["lora_repository"].(object.Map)
		for k := range repo {
			have[k] = true
		}
		return nil
	}); err != nil {
		return err
	}
	var model *object.BlobRef
	var newSource string
	if v.opts.ModelFile != "" {
		var err error
		if newSource, err = fileSource(v.opts.ModelFile); err != nil {
			return fmt.Errorf("vm: model file: %w", err)
		}
		switch {
		case current == nil:
			b, err := v.importFile(ctx, v.opts.ModelFile)
			if err != nil {
				return err
			}
			model = &b
		case newSource != source:
			// Another file (or the same one changed) than the image's
			// model: import it and replace the model if its bytes differ,
			// never ignore it.
			b, err := v.importFile(ctx, v.opts.ModelFile)
			if err != nil {
				return err
			}
			if b.SHA256 == current.SHA256 {
				v.line("[UVM] Model file is the image's model; kept.", "file", v.opts.ModelFile, "sha256", b.Hex())
				if err := v.store.DeleteBlob(ctx, b.ID); err != nil {
					v.log.Warn("[UVM] could not delete the duplicate model blob", "blob", b.ID, "err", err)
				}
			} else {
				v.log.Warn("[UVM] Replacing the image's model with the given file.", "file", v.opts.ModelFile, "old_sha256", current.Hex(), "new_sha256", b.Hex())
				model = &b
			}
		}
	}
	adapters, err := v.importAdapters(ctx, have)
	if err != nil {
		return err
	}
	if model == nil && len(adapters) == 0 && newSource == source {
		return nil
	}
	if err := v.store.Update(ctx, func(tx *object.Tx) error {
		p, err := tx.Get(v.r.pLLM)
		if err != nil {
			return err
		}
		if model != nil {
			p.Set("model_blob", *model)
		}
		if newSource != "" {
			p.Set("model_source", object.String(newSource))
		}
		if err := tx.Put(p); err != nil {
			return err
		}
		return addAdapters(tx, v.r.pLLM, adapters)
	}); err != nil {
		return err
	}
	if model != nil && current != nil {
		if err := v.store.DeleteBlob(ctx, current.ID); err != nil {
			v.log.Warn("[UVM] could not delete the replaced model blob", "blob", current.ID, "err", err)
		}
	}
	return nil
}

// fileSource identifies a model file by path, size and modification
// time, so a restart with the same -model neither reimports it nor
// ignores a different one.
func fileSource(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %d %d", abs, st.Size(), st.ModTime().UnixNano()), nil
}

func (v *VM) importAdapters(ctx context.Context, have map[string]bool) (map[string]object.BlobRef, error) {
	out := map[string]object.BlobRef{}
	for _, name := range slices.Sorted(maps.Keys(v.opts.Adapters)) {
		key := strings.ToUpper(name)
		if have[key] {
			v.line("[UVM] LoRA expert already incarnated. Skipping.", "adapter", key)
			continue
		}
		v.line("[UVM] Incarnating LoRA expert: "+key, "file", v.opts.Adapters[name])
		b, err := v.importFile(ctx, v.opts.Adapters[name])
		if err != nil {
			return nil, err
		}
		out[key] = b
	}
	return out, nil
}

// importFile streams a file into a blob, reporting progress.
func (v *VM) importFile(ctx context.Context, path string) (object.BlobRef, error) {
	f, err := os.Open(path)
	if err != nil {
		return object.BlobRef{}, fmt.Errorf("vm: import: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return object.BlobRef{}, fmt.Errorf("vm: import: %w", err)
	}
	v.line("[UVM] Persisting file to a blob...", "file", path, "bytes", st.Size())
	r := io.Reader(f)
	if v.opts.Progress != nil {
		r = &progressReader{r: f, name: filepath.Base(path), total: st.Size(), fn: v.opts.Progress}
	}
	b, err := v.store.PutBlob(ctx, r)
	if err != nil {
		return object.BlobRef{}, fmt.Errorf("vm: import %s: %w", path, err)
	}
	if v.opts.Progress != nil {
		v.opts.Progress(filepath.Base(path), st.Size(), st.Size())
	}
	v.line("[UVM] File persisted to a blob.", "file", path, "blob", b.ID, "sha256", b.Hex())
	return b, nil
}

type progressReader struct {
	r          io.Reader
	name       string
	done, last int64
	total      int64
	fn         func(string, int64, int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.done-p.last >= 16<<20 {
		p.last = p.done
		p.fn(p.name, p.done, p.total)
	}
	return n, err
}
