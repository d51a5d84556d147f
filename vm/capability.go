package vm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/methodspec"
	"github.com/batos/batos/vm/prompt"
	"github.com/batos/batos/vm/sandbox"
)

// Kinds of capability parameters and results.
const (
	KindStr  = "str"
	KindNum  = "num" // an int or a float
	KindBool = "bool"
	KindList = "list"
	KindDict = "dict"
	KindAny  = "any"
)

// Param is one parameter of a capability.
type Param struct {
	Name     string // an identifier: the keyword a method passes it by
	Kind     string // KindStr, KindNum, ...; "" is KindAny
	Optional bool   // may be left out (the function then finds no entry)
	// Prefixes, for a KindStr parameter, are what the method grammar
	// makes its values begin with (an http capability's allowed hosts);
	// the capability must still check its arguments itself.
	Prefixes []string
	// JSON, for a KindStr result field, says it may hold JSON text (the
	// grammar then offers json.decode of it).
	JSON bool
}

// CapabilityFunc is a capability's Go function: it gets the arguments by
// parameter name, already checked against the parameters' kinds, and the
// transaction of the method that called it (what it writes there commits
// or rolls back with the method; what it does outside does not).
type CapabilityFunc func(ctx context.Context, tx *object.Tx, args map[string]object.Value) (object.Value, error)

// Budget bounds the calls of one capability made by one method call (a
// dispatch or a trial run, nested method calls included). The zero value
// of each field means its default.
type Budget struct {
	MaxCalls    int           // calls (default 8)
	MaxBytesIn  int           // encoded arguments of one call (default 64 KiB)
	MaxBytesOut int           // encoded result of one call (default 1 MiB)
	Timeout     time.Duration // wall time of one call (default 5 s)
}

// Default capability budget.
const (
	DefaultCapabilityCalls    = 8
	DefaultCapabilityBytesIn  = 64 << 10
	DefaultCapabilityBytesOut = 1 << 20
	DefaultCapabilityTimeout  = 5 * time.Second
)

func (b Budget) withDefaults() Budget {
	if b.MaxCalls <= 0 {
		b.MaxCalls = DefaultCapabilityCalls
	}
	if b.MaxBytesIn <= 0 {
		b.MaxBytesIn = DefaultCapabilityBytesIn
	}
	if b.MaxBytesOut <= 0 {
		b.MaxBytesOut = DefaultCapabilityBytesOut
	}
	if b.Timeout <= 0 {
		b.Timeout = DefaultCapabilityTimeout
	}
	return b
}

// Capability is a tool the host grants: a Go function that objects
// holding a capability object for it can call from their methods as
// self.SLOT.call(param=value, ...).
type Capability struct {
	// Name identifies the capability (an identifier); capability objects
	// name it in their capability slot, so it persists.
	Name string
	// Doc is one line saying what it does, for the prompts.
	Doc string
	// Params are its parameters, in the order positional arguments bind.
	Params []Param
	// Result is the kind of what it returns.
	Result string
	// ResultJSON says a KindStr result is JSON text.
	ResultJSON bool
	// Fields are the fields of a KindDict result a method may read
	// (their Kind says what they hold), for the prompts and the grammar.
	Fields []Param
	// ReadOnly says it has no effect on the world: only read-only
	// capabilities run during a method's trial run.
	ReadOnly bool
	// Func runs a call.
	Func CapabilityFunc
	// DryRun, for a capability that is not ReadOnly, answers in its place
	// during a trial run (it must have no effect). Without it the trial
	// run stops at the call, which is recorded as skipped.
	DryRun CapabilityFunc
	// Budget bounds its calls per method call.
	Budget Budget
}

// Signature renders the capability as a method calls it:
// "call(url: str, body: str = None) -> dict".
func (c *Capability) Signature() string {
	var ps []string
	for _, p := range c.Params {
		s := p.Name + ": " + kindOr(p.Kind)
		if p.Optional {
			s += " = None"
		}
		ps = append(ps, s)
	}
	return "call(" + strings.Join(ps, ", ") + ") -> " + kindOr(c.Result)
}

func kindOr(k string) string {
	if k == "" {
		return KindAny
	}
	return k
}

// Slots of a capability object, besides sandbox.CapabilitySlot.
const (
	slotCapability = "capability" // the capability's name
	slotCapDoc     = "doc"
	slotCapSig     = "signature"
)

// RegisterCapability registers c under c.Name, replacing any earlier one.
// Register before Start; capability objects that name it (made by
// GrantCapability) then run it.
func (v *VM) RegisterCapability(c Capability) error {
	if !guardian.ValidSelector(c.Name) || c.Func == nil {
		return fmt.Errorf("%w: capability %q needs an identifier name and a function", ErrCapabilityArgs, c.Name)
	}
	for _, p := range c.Params {
		if !guardian.ValidSelector(p.Name) {
			return fmt.Errorf("%w: capability %s: parameter %q is not an identifier", ErrCapabilityArgs, c.Name, p.Name)
		}
	}
	c.Params = slices.Clone(c.Params)
	c.Budget = c.Budget.withDefaults()
	v.primMu.Lock()
	v.caps[c.Name] = &c
	v.primMu.Unlock()
	return nil
}

func (v *VM) capability(name string) (*Capability, error) {
	v.primMu.RLock()
	c, ok := v.caps[name]
	v.primMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownCapability, name)
	}
	return c, nil
}

// NewCapability makes a capability object for the registered capability
// name in tx; place a Ref to it in a slot of the objects that may use it.
func (v *VM) NewCapability(tx *object.Tx, name string) (object.OID, error) {
	c, err := v.capability(name)
	if err != nil {
		return 0, err
	}
	o, err := tx.New(map[string]object.Value{
		slotCapability:         object.String(c.Name),
		slotCapDoc:             object.String(c.Doc),
		slotCapSig:             object.String(c.Signature()),
		sandbox.CapabilitySlot: object.Primitive(sandbox.CapabilityPrimitive),
	})
	if err != nil {
		return 0, err
	}
	return o.OID, nil
}

// GrantCapability makes a capability object for the registered capability
// name and places a Ref to it in slot of target (a root name or an OID),
// in one transaction. It returns the capability object's OID.
func (v *VM) GrantCapability(ctx context.Context, target, slot, name string) (object.OID, error) {
	if !guardian.ValidSelector(slot) || strings.HasPrefix(slot, "_") {
		return 0, fmt.Errorf("%w: slot %q", ErrBadSelector, slot)
	}
	var oid object.OID
	err := v.store.Update(ctx, func(tx *object.Tx) error {
		o, err := tx.GetTarget(target)
		if err != nil {
			return err
		}
		if oid, err = v.NewCapability(tx, name); err != nil {
			return err
		}
		o.Set(slot, object.Ref(oid))
		return tx.Put(o)
	})
	if err != nil {
		return 0, fmt.Errorf("vm: grant %s to %s: %w", name, target, err)
	}
	return oid, nil
}

// CapabilityRecord is one capability call, in a Result or a cycle's log.
type CapabilityRecord struct {
	Capability string        `json:"capability"`
	Object     uint64        `json:"object"`           // the capability object
	Holder     uint64        `json:"holder,omitempty"` // whose slot granted it (0: an argument)
	Slot       string        `json:"slot,omitempty"`
	Args       string        `json:"args"` // previewed
	BytesIn    int           `json:"bytes_in"`
	BytesOut   int           `json:"bytes_out"`
	Duration   time.Duration `json:"duration"`
	Trial      bool          `json:"trial,omitempty"`   // made by a trial run
	DryRun     bool          `json:"dry_run,omitempty"` // answered by the capability's DryRun
	Skipped    bool          `json:"skipped,omitempty"` // not performed: state-changing, in a trial run
	Error      string        `json:"error,omitempty"`
}

// capScope is what a method call's capability calls are recorded into,
// and whether it is a trial run; it travels in the call's context
// because the MethodRunner interface does not know capabilities.
type capScope struct {
	trial bool
	note  func(CapabilityRecord)
}

type capScopeKey struct{}

func withCapScope(ctx context.Context, s *capScope) context.Context {
	return context.WithValue(ctx, capScopeKey{}, s)
}

func scopeOf(ctx context.Context) *capScope {
	s, _ := ctx.Value(capScopeKey{}).(*capScope)
	return s
}

// callCapability is the sandbox's CapabilityFunc: the sandbox has checked
// the grant; this checks the arguments and the budget, refuses effects in
// a trial run, runs the function and records the call.
func (v *VM) callCapability(ctx context.Context, tx *object.Tx, c *sandbox.CapabilityCall) (object.Value, error) {
	o, err := tx.Get(c.Capability)
	if err != nil {
		return nil, err
	}
	name, _ := o.Slots[slotCapability].(object.String)
	cp, err := v.capability(string(name))
	if err != nil {
		return nil, err
	}
	scope := scopeOf(ctx)
	rec := CapabilityRecord{Capability: cp.Name, Object: uint64(c.Capability), Holder: uint64(c.Holder), Slot: c.Slot}
	if scope != nil {
		rec.Trial = scope.trial
	}
	res, err := v.runCapability(ctx, tx, cp, c, scope, &rec)
	rec.Error = errString(err)
	if rec.Skipped {
		rec.Error = ""
	}
	v.line(fmt.Sprintf("[Capability] %s(%s) on object %d: %d bytes in, %d out%s", cp.Name, rec.Args, rec.Object, rec.BytesIn, rec.BytesOut, recNote(rec)))
	if scope != nil && scope.note != nil {
		scope.note(rec)
	}
	return res, err
}

func recNote(r CapabilityRecord) string {
	switch {
	case r.Skipped:
		return " (trial run: not performed)"
	case r.DryRun:
		return " (trial run: dry-run answer)"
	case r.Error != "":
		return ": " + r.Error
	}
	return ""
}

func (v *VM) runCapability(ctx context.Context, tx *object.Tx, cp *Capability, c *sandbox.CapabilityCall, scope *capScope, rec *CapabilityRecord) (object.Value, error) {
	b := cp.Budget
	if c.N > b.MaxCalls {
		return nil, fmt.Errorf("%w: more than %d calls of %s in one method call", ErrCapabilityBudget, b.MaxCalls, cp.Name)
	}
	args, err := cp.bind(c.Args, c.Kwargs)
	if err != nil {
		return nil, err
	}
	rec.Args = previewCapArgs(cp, args)
	in, err := object.AppendValue(nil, object.Map(args))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCapabilityArgs, cp.Name, err)
	}
	rec.BytesIn = len(in)
	if len(in) > b.MaxBytesIn {
		return nil, fmt.Errorf("%w: %s: %d bytes of arguments, over %d", ErrCapabilityBudget, cp.Name, len(in), b.MaxBytesIn)
	}
	fn := cp.Func
	if scope != nil && scope.trial && !cp.ReadOnly {
		if cp.DryRun == nil {
			rec.Skipped = true
			return nil, fmt.Errorf("%w: %s", ErrCapabilitySkipped, cp.Name)
		}
		fn, rec.DryRun = cp.DryRun, true
	}
	cctx, cancel := context.WithTimeout(ctx, b.Timeout)
	defer cancel()
	start := time.Now()
	res, err := fn(cctx, tx, args)
	rec.Duration = time.Since(start)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: %s ran past %v", ErrCapabilityBudget, cp.Name, b.Timeout)
		}
		return nil, fmt.Errorf("vm: capability %s: %w", cp.Name, err)
	}
	out, err := object.AppendValue(nil, res)
	if err != nil {
		return nil, fmt.Errorf("vm: capability %s: result: %w", cp.Name, err)
	}
	rec.BytesOut = len(out)
	if len(out) > b.MaxBytesOut {
		return nil, fmt.Errorf("%w: %s: %d bytes of result, over %d", ErrCapabilityBudget, cp.Name, len(out), b.MaxBytesOut)
	}
	return res, nil
}

// bind matches a call's arguments to the parameters and checks their
// kinds.
func (c *Capability) bind(args []object.Value, kwargs map[string]object.Value) (map[string]object.Value, error) {
	if len(args) > len(c.Params) {
		return nil, fmt.Errorf("%w: %s takes %d arguments, got %d", ErrCapabilityArgs, c.Name, len(c.Params), len(args))
	}
	out := make(map[string]object.Value, len(c.Params))
	for i, a := range args {
		out[c.Params[i].Name] = a
	}
	for k, a := range kwargs {
		if !slices.ContainsFunc(c.Params, func(p Param) bool { return p.Name == k }) {
			return nil, fmt.Errorf("%w: %s has no parameter %q", ErrCapabilityArgs, c.Name, k)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%w: %s: %s given twice", ErrCapabilityArgs, c.Name, k)
		}
		out[k] = a
	}
	for _, p := range c.Params {
		a, ok := out[p.Name]
		if !ok || a == nil {
			if !p.Optional {
				return nil, fmt.Errorf("%w: %s: missing %s", ErrCapabilityArgs, c.Name, p.Name)
			}
			delete(out, p.Name)
			continue
		}
		if !kindMatches(p.Kind, a) {
			return nil, fmt.Errorf("%w: %s: %s must be %s, got %s", ErrCapabilityArgs, c.Name, p.Name, p.Kind, object.Format(a))
		}
	}
	return out, nil
}

func kindMatches(k string, v object.Value) bool {
	switch v.(type) {
	case object.String:
		return k == KindStr || k == KindAny || k == ""
	case object.Int, object.Float:
		return k == KindNum || k == KindAny || k == ""
	case object.Bool:
		return k == KindBool || k == KindAny || k == ""
	case object.List:
		return k == KindList || k == KindAny || k == ""
	case object.Map:
		return k == KindDict || k == KindAny || k == ""
	}
	return k == KindAny || k == ""
}

func previewCapArgs(c *Capability, args map[string]object.Value) string {
	var parts []string
	for _, p := range c.Params {
		if a, ok := args[p.Name]; ok {
			parts = append(parts, p.Name+"="+prompt.Preview(a, 80, 1))
		}
	}
	return strings.Join(parts, ", ")
}

// heldCapability is a capability the object holds in a slot (own or
// inherited).
type heldCapability struct {
	Slot string
	OID  object.OID
	Cap  *Capability
}

// heldCapabilities returns the registered capabilities oid holds, by
// slot name, first found through delegation wins; only slot's when
// slot is not empty.
func (v *VM) heldCapabilities(tx *object.Tx, oid object.OID, slot string) ([]heldCapability, error) {
	var out []heldCapability
	seen := map[string]bool{}
	var refs []heldCapability
	err := tx.Delegates(oid, 64, func(o *object.Object) {
		for _, name := range o.Names() {
			if seen[name] || object.IsParentSlot(name) {
				continue
			}
			seen[name] = true
			if r, ok := o.Slots[name].(object.Ref); ok && (slot == "" || slot == name) {
				refs = append(refs, heldCapability{Slot: name, OID: object.OID(r)})
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, h := range refs {
		o, err := tx.Get(h.OID)
		if err != nil || !sandbox.IsCapability(o) {
			continue
		}
		name, _ := o.Slots[slotCapability].(object.String)
		if h.Cap, err = v.capability(string(name)); err != nil {
			continue // granted once, no longer registered: not offered
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b heldCapability) int { return strings.Compare(a.Slot, b.Slot) })
	return out, nil
}

// holdsCapabilities reports whether oid holds a registered capability.
func (v *VM) holdsCapabilities(ctx context.Context, oid object.OID) bool {
	v.primMu.RLock()
	none := len(v.caps) == 0
	v.primMu.RUnlock()
	if none {
		return false
	}
	var held []heldCapability
	err := v.store.View(ctx, func(tx *object.Tx) error {
		var err error
		held, err = v.heldCapabilities(tx, oid, "")
		return err
	})
	return err == nil && len(held) > 0
}

// specCapabilities are held capabilities as the method grammar calls them.
func specCapabilities(hs []heldCapability) []methodspec.Capability {
	conv := func(ps []Param) []methodspec.CapParam {
		var out []methodspec.CapParam
		for _, p := range ps {
			out = append(out, methodspec.CapParam{Name: p.Name, Kind: kindOr(p.Kind), Optional: p.Optional, Prefixes: p.Prefixes, JSON: p.JSON})
		}
		return out
	}
	var out []methodspec.Capability
	for _, h := range hs {
		out = append(out, methodspec.Capability{Slot: h.Slot, Params: conv(h.Cap.Params), Result: kindOr(h.Cap.Result), ResultJSON: h.Cap.ResultJSON, Fields: conv(h.Cap.Fields)})
	}
	return out
}

// describeCapability is a held capability as the prompt shows it.
func describeCapability(h heldCapability) string {
	s := fmt.Sprintf("- self.%s (capability %s, %s): %s. Call it as self.%s.%s", h.Slot, h.Cap.Name, readOnlyWord(h.Cap.ReadOnly), prompt.Printable(h.Cap.Doc, 200), h.Slot, h.Cap.Signature())
	if len(h.Cap.Fields) > 0 {
		var fs []string
		for _, f := range h.Cap.Fields {
			fs = append(fs, fmt.Sprintf("%q: %s", f.Name, kindOr(f.Kind)))
		}
		s += "; the result has the fields {" + strings.Join(fs, ", ") + "}"
	}
	for _, p := range h.Cap.Params {
		if len(p.Prefixes) > 0 {
			s += fmt.Sprintf("; %s must begin with one of %s", p.Name, strings.Join(quoteAll(p.Prefixes), ", "))
		}
	}
	return s + ".\n"
}

func readOnlyWord(ro bool) string {
	if ro {
		return "read-only"
	}
	return "state-changing: not performed in trial runs"
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// primCapability runs a capability object's call when it is dispatched
// to directly (by the host or the architect, not by a method: the
// sandbox sends those to callCapability with their grant).
func (v *VM) primCapability(ctx context.Context, c *Call) (object.Value, error) {
	return v.callCapability(ctx, c.Tx, &sandbox.CapabilityCall{Capability: c.Self, Receiver: c.Self, Args: c.Args, Kwargs: c.Kwargs, N: 1})
}
