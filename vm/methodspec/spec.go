package methodspec

import (
	"maps"
	"slices"
	"strings"

	"go.starlark.net/syntax"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
)

// Spec is what ALFRED's grammar is built from: the mission's
// selector and arguments and the target as the cycle sees it.
type Spec struct {
	// Selector is the name of the method to write.
	Selector string
	// Params are the parameter names after self: arg0, arg1, ... then
	// the keyword names sorted (as the cycle's method signature makes
	// them).
	Params []string
	// Args are the message's argument values, one per Params entry; a
	// nil entry (or a missing one) is of unknown kind.
	Args []object.Value
	// Slots are the target's readable data slots, own and inherited
	// (methods, primitives and parent slots excluded).
	Slots map[string]object.Value
	// Methods are the methods self understands, name -> number of
	// parameters after self (-1: unknown), the primitives repr, oid,
	// slot_names and clone included. An entry "slot.name" is a method
	// of the object the reference slot "slot" refers to.
	Methods map[string]int
	// Capabilities are the capabilities the target holds that the
	// method may wrap: the grammar admits proxies, a call of one of them
	// and a return of what it answered (see Capability), besides the
	// ordinary bodies, or instead of them with ProxyOnly.
	Capabilities []Capability
	// ProxyOnly makes the grammar admit only proxies (when Capabilities
	// has one it can call).
	ProxyOnly bool
	// Change says which kind of body the grammar admits: ChangeEither
	// (the zero value), ChangeNever (read-only) or ChangeAlways (state-
	// changing, ending with the covenant's flag). New derives it
	// from the selector's first word (see SelectorChange).
	Change Change
}

// Change is the kind of method body a Spec's grammar admits.
type Change uint8

// Kinds of method body.
const (
	ChangeEither Change = iota // read-only or state-changing
	ChangeNever                // read-only: nothing assigns to or mutates self
	ChangeAlways               // state-changing, ending with self._p_changed = True
)

// changeVerbs and readVerbs are the first words of selectors that ask
// for a state change or for a read.
var (
	changeVerbs = map[string]bool{"set": true, "remove": true, "increment": true, "decrement": true,
		"update": true, "remember": true, "reset": true, "clear": true, "record": true, "store": true, "save": true,
		"change": true, "toggle": true, "append": true, "put": true, "delete": true, "track": true, "register": true,
		"push": true, "pop": true, "inc": true, "dec": true, "bump": true, "learn": true, "rename": true}
	readVerbs = map[string]bool{"get": true, "show": true, "display": true, "describe": true, "list": true,
		"print": true, "report": true, "is": true, "has": true, "compute": true, "calculate": true,
		"summarize": true, "greet": true, "find": true, "total": true, "sum": true, "how": true, "what": true}
)

// SelectorChange returns the kind of body a selector asks for by its
// first word: set_name, remember_color, increment_counter change state;
// get_name, display_yourself, describe_items read; others (add_numbers or
// add_item, count_items or count_visit) may do either.
func SelectorChange(selector string) Change {
	first, _, _ := strings.Cut(strings.ToLower(selector), "_")
	switch {
	case changeVerbs[first]:
		return ChangeAlways
	case readVerbs[first]:
		return ChangeNever
	}
	return ChangeEither
}

// Builtins are the primitives every object inherits from traits_obj
// and the number of arguments they take.
// Builtins are the primitives every object inherits from vm's traits_obj
// that the grammar types, with their number of parameters after self:
// vm registers them under these names (a vm test checks), and the
// grammar knows what each returns.
var Builtins = map[string]int{"repr": 0, "display": 0, "oid": 0, "slot_names": 0, "clone": 0}

// The grammar grows with every slot and method it may name (a 5,000-slot
// object gave a 19 MB grammar that llama.cpp samples at a crawl), so
// New keeps the slots the mission names first, then the others
// by name, up to maxGrammarSlots; and up to maxGrammarMethods methods.
// The prompt lists the object in the same order.
const (
	maxGrammarSlots   = 12
	maxGrammarMethods = 24
)

// keepSlots returns at most n of slots: the usable names in relevant
// first, then the other usable names in order.
func keepSlots(slots map[string]object.Value, relevant map[string]bool, n int) map[string]object.Value {
	var names []string
	for name := range slots {
		if usableName(name) {
			names = append(names, name)
		}
	}
	if len(names) <= n {
		return slots
	}
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := relevant[a], relevant[b]; ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	out := make(map[string]object.Value, n)
	for _, name := range names[:n] {
		out[name] = slots[name]
	}
	return out
}

// keepMethods returns at most n methods: the builtin primitives, then the
// others by name.
func keepMethods(methods map[string]int, n int) map[string]int {
	if len(methods) <= n {
		return methods
	}
	out := map[string]int{}
	for name := range Builtins {
		if a, ok := methods[name]; ok {
			out[name] = a
		}
	}
	for _, name := range slices.Sorted(maps.Keys(methods)) {
		if len(out) >= n {
			break
		}
		out[name] = methods[name]
	}
	return out
}

// maxParentWalk bounds the objects New visits through delegation.
const maxParentWalk = 64

// maxRefMethods bounds the "slot.name" entries New reads per
// reference slot.
const maxRefMethods = 16

// New reads the target's slots (own and through parent*
// delegation, first found wins, in the order of object.Tx.Lookup) and
// methods inside tx, and the methods of the objects its reference slots
// refer to (as "slot.name" entries).
func New(tx *object.Tx, target object.OID, selector string, params []string, args []object.Value) (Spec, error) {
	s := Spec{
		Selector: selector,
		Params:   slices.Clone(params),
		Args:     slices.Clone(args),
		Slots:    map[string]object.Value{},
		Methods:  map[string]int{},
		Change:   SelectorChange(selector),
	}
	if err := collect(tx, target, s.Slots, s.Methods); err != nil {
		return Spec{}, err
	}
	relevant := RelevantNames(selector, object.List(args), nil)
	for _, p := range params {
		relevant[p] = true // keyword names, as the prompt ranks them
	}
	s.Slots = keepSlots(s.Slots, relevant, maxGrammarSlots)
	for name, v := range s.Slots {
		s.Slots[name] = object.CloneValue(v)
	}
	s.Methods = keepMethods(s.Methods, maxGrammarMethods)
	for _, name := range slices.Sorted(maps.Keys(s.Slots)) {
		ref, ok := s.Slots[name].(object.Ref)
		if !ok || !usableName(name) {
			continue
		}
		methods := map[string]int{}
		if err := collect(tx, object.OID(ref), map[string]object.Value{}, methods); err != nil {
			continue // a dangling reference: no methods to call
		}
		for i, m := range slices.Sorted(maps.Keys(methods)) {
			if i == maxRefMethods {
				break
			}
			s.Methods[name+"."+m] = methods[m]
		}
	}
	return s, nil
}

// collect adds the slots of oid and its parents, depth-first, first found
// wins.
func collect(tx *object.Tx, oid object.OID, slots map[string]object.Value, methods map[string]int) error {
	seen := map[string]bool{}
	return tx.Delegates(oid, maxParentWalk, func(o *object.Object) {
		for _, name := range o.Names() {
			if seen[name] || object.IsParentSlot(name) {
				continue
			}
			seen[name] = true
			switch v := o.Slots[name].(type) {
			case *object.Method:
				methods[name] = methodArity(v)
			case object.Primitive:
				if n, ok := Builtins[name]; ok && string(v) == name {
					methods[name] = n
				} else {
					methods[name] = -1
				}
			default:
				slots[name] = v // cloned by New for the slots it keeps
			}
		}
	})
}

// methodArity counts the plain parameters after self of a method's def,
// or -1 when it cannot tell (no parse, defaults, *args, **kwargs).
func methodArity(m *object.Method) int {
	if m == nil {
		return -1
	}
	f, err := guardian.FileOptions().Parse("method.star", m.Source, 0)
	if err != nil || len(f.Stmts) != 1 {
		return -1
	}
	d, ok := f.Stmts[0].(*syntax.DefStmt)
	if !ok || len(d.Params) == 0 {
		return -1
	}
	for _, p := range d.Params {
		if _, ok := p.(*syntax.Ident); !ok {
			return -1
		}
	}
	return len(d.Params) - 1
}

// usableName reports whether a slot or method name can be written as
// self.NAME in generated code: a Starlark identifier, not a keyword, not
// private (leading underscore), at most maxNameLen bytes.
func usableName(name string) bool {
	return guardian.ValidSelector(name) && !strings.HasPrefix(name, "_") && len(name) <= maxNameLen
}

// maxNameLen bounds the slot, method and parameter names the method
// grammar writes, which bounds its lines.
const maxNameLen = 24

// RelevantNames are the slot names a message names: the words of the
// selector (and the selector minus a verb prefix such as get_ or set_),
// the keyword names and short string arguments.
func RelevantNames(selector string, args object.List, kw object.Map) map[string]bool {
	out := map[string]bool{}
	add := func(s string) {
		if s != "" && len(s) <= 64 {
			out[s] = true
		}
	}
	add(selector)
	words := strings.Split(selector, "_")
	for i, w := range words {
		add(w)
		if i > 0 {
			add(strings.Join(words[i:], "_"))
		}
		add(w + "s") // count -> counts, item -> items
		add(strings.TrimSuffix(w, "s"))
	}
	for k := range kw {
		add(k)
	}
	for _, a := range args {
		if s, ok := a.(object.String); ok {
			add(string(s))
		}
	}
	return out
}
