package methodspec

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/batos/batos/gbnf"
	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
)

// The method grammar: the bounded, typed Starlark subset ALFRED writes in,
// built per mission from a Spec.
//
// A body is a sequence of at most maxUnits top-level units (a simple
// statement, a local binding, or one of at most maxCompound if/for
// blocks), then a tail. It is one of two kinds, chosen after the
// docstring:
//
//   - read-only: nothing assigns to or mutates self; the tail is
//     "return <expr>" and an if block may return early;
//   - state-changing: slots of self may be assigned, augmented and
//     mutated (list and dict methods, item assignment); there is no return
//     but the tail "self._p_changed = True" then "return <expr>".
//
// So every admitted method keeps the Persistence Covenant by
// construction. Expressions are typed by the current values of the slots
// and arguments (num, str, bool, list and dict with their element kinds,
// object references, unknown), so an int slot is added to, a list slot
// appended to and iterated, a str slot concatenated. Reads of self.<slot>
// name only slots the target has; new slots (words of the selector) can
// only be assigned. Locals come from a fixed vocabulary with fixed kinds
// (total, count, result, text, message, parts, names, counts, found), at
// most maxLocals of them, bound by top-level assignments and readable
// only after that; loop variables (item or the singular of the iterated
// slot, key and value, i) are readable inside their loop, and loop
// bodies read no locals and only grow accumulators by +=, append and
// item assignment, so no program grows exponentially. A loop never
// mutates the container it iterates; list.remove is only written under
// "if x in self.l:", list.pop only on a list that is not empty now, and
// division only by a literal. Every repetition is bounded, so MaxTokens
// is the grammar's exact maximum length.

const (
	maxLines    = 7  // lines of the body after the docstring
	maxCompound = 2  // if/for blocks among them
	maxLocals   = 1  // locals bound per method
	maxStrLit   = 20 // characters of a string literal
	maxDocLen   = 48 // characters of the docstring
	maxComment  = 40 // characters of a comment line
	maxDictKeys = 16 // literal keys of a dict slot the grammar names
)

// textChars are the characters allowed inside generated string literals,
// docstrings and comments: no quote, no backslash, no newline, so no
// escape sequence can ever be needed.
const textChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?()'-_"

// kind is the kind of a value as the grammar types it.
type kind uint8

const (
	kAny kind = iota // unknown
	kNum             // int or float
	kStr
	kBool
	kList
	kDict
	kObj // a reference to an object
)

// vtype is a kind and, for lists and dicts, the kind of the elements
// (values): kNum, kStr or kAny.
type vtype struct{ k, elem kind }

// typeOf types a slot or argument value; ok is false for values a method
// cannot usefully read (bytes, blobs, methods).
func typeOf(v object.Value) (vtype, bool) {
	switch x := v.(type) {
	case nil:
		return vtype{k: kAny}, true
	case object.Int, object.Float:
		return vtype{k: kNum}, true
	case object.String:
		return vtype{k: kStr}, true
	case object.Bool:
		return vtype{k: kBool}, true
	case object.List:
		return vtype{k: kList, elem: elemKind(x)}, true
	case object.Map:
		vals := make([]object.Value, 0, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			vals = append(vals, x[k])
		}
		return vtype{k: kDict, elem: elemKind(vals)}, true
	case object.Ref:
		return vtype{k: kObj}, true
	}
	return vtype{}, false
}

// elemKind is kNum or kStr when every element is one, else kAny.
func elemKind(vs []object.Value) kind {
	if len(vs) == 0 {
		return kAny
	}
	k := kAny
	for i, v := range vs {
		var ek kind
		switch v.(type) {
		case object.Int, object.Float:
			ek = kNum
		case object.String:
			ek = kStr
		default:
			return kAny
		}
		if i > 0 && ek != k {
			return kAny
		}
		k = ek
	}
	return k
}

// vname is one readable name: a slot (self.x), a parameter, a local or a
// loop variable.
type vname struct {
	text     string // as written
	t        vtype
	slot     string   // the slot's name for self.<slot>
	local    bool     // a bound local (assignable)
	nonEmpty bool     // a list that is not empty now: [0] and pop() are safe
	keys     []string // a dict's keys now, usable as literals
}

// localVocab are the locals a method may bind, with their kinds.
var localVocab = []vname{
	{text: "total", t: vtype{k: kNum}},
	{text: "count", t: vtype{k: kNum}},
	{text: "result", t: vtype{k: kStr}},
	{text: "result", t: vtype{k: kList, elem: kAny}},
	{text: "text", t: vtype{k: kStr}},
	{text: "message", t: vtype{k: kStr}},
	{text: "parts", t: vtype{k: kList, elem: kStr}},
	{text: "names", t: vtype{k: kList, elem: kStr}},
	{text: "counts", t: vtype{k: kDict, elem: kNum}},
	{text: "found", t: vtype{k: kBool}},
}

// env is what an expression may read.
type env struct {
	names []vname
	key   string
}

func newEnv(names []vname) *env {
	var sb strings.Builder
	for _, n := range names {
		fmt.Fprintf(&sb, "%s:%d:%d;", n.text, n.t.k, n.t.elem)
	}
	return &env{names: names, key: sb.String()}
}

func (e *env) of(pred func(vname) bool) []vname {
	var out []vname
	for _, n := range e.names {
		if pred(n) {
			out = append(out, n)
		}
	}
	return out
}

func isKind(k kind) func(vname) bool { return func(n vname) bool { return n.t.k == k } }

// litAlt is the alternative of the names' texts, or nil when there are
// none.
func litAlt(ns []vname) gbnf.Node {
	var a []gbnf.Node
	for _, n := range ns {
		a = append(a, gbnf.Lit(n.text))
	}
	return alt(a...)
}

// alt is the alternative of the non-nil nodes, nil when there are none.
func alt(ns ...gbnf.Node) gbnf.Node {
	var a gbnf.Alt
	for _, n := range ns {
		if n == nil {
			continue
		}
		if inner, ok := n.(gbnf.Alt); ok {
			a = append(a, inner...)
			continue
		}
		a = append(a, n)
	}
	switch len(a) {
	case 0:
		return nil
	case 1:
		return a[0]
	}
	return a
}

// seq is the sequence of the nodes, nil when any is nil (unavailable).
func seq(ns ...gbnf.Node) gbnf.Node {
	out := make(gbnf.Seq, 0, len(ns))
	for _, n := range ns {
		if n == nil {
			return nil
		}
		out = append(out, n)
	}
	return out
}

func lit(s string) gbnf.Node { return gbnf.Lit(s) }

func opt(n gbnf.Node) gbnf.Node {
	if n == nil {
		return nil
	}
	return gbnf.Opt(n)
}

func ind(depth int) string { return strings.Repeat("    ", depth) }

// mbuilder builds the grammar of one Spec.
type mbuilder struct {
	s        Spec
	g        *gbnf.Grammar
	bodies   map[string]string // rendered body -> rule name
	n        int
	exprs    map[string]*exprs
	memo     map[string]gbnf.Node
	slots    []vname
	params   []vname
	newSlots []string
	methods  []string // callable selectors, sorted
}

// Grammar returns the GBNF grammar (start rule "root", one rule per line,
// bounded repetitions only) under which ALFRED writes the method of s.
// The text begins with root ::= "def <selector>(self[, params]):\n".
func (s Spec) Grammar() string { return s.Build().String() }

// MaxTokens returns the length in bytes of the longest program Grammar
// admits, an upper bound on its length in tokens.
func (s Spec) MaxTokens() int { return s.Build().MaxLen() }

// Build builds the grammar of Grammar, to render it and measure it once
// (it is tens of kilobytes of GBNF).
func (s Spec) Build() *gbnf.Grammar {
	b := &mbuilder{s: s, g: gbnf.New(), bodies: map[string]string{}, exprs: map[string]*exprs{}, memo: map[string]gbnf.Node{}}
	b.g.Rule("root", lit("")) // first, whatever rules the body needs
	b.init()
	header := "def " + s.Selector + "(self"
	for _, p := range s.Params {
		header += ", " + p
	}
	header += "):\n"
	doc := seq(lit(`    """`), gbnf.Rep{Node: b.textClass(), Min: 1, Max: maxDocLen}, lit(`"""`+"\n"))
	var bodies gbnf.Alt
	if len(s.Capabilities) > 0 {
		if p := b.proxy(); p != nil {
			if s.ProxyOnly {
				b.g.Rule("root", gbnf.Seq{lit(header), opt(b.def("doc", doc)), p})
				return b.g
			}
			bodies = append(bodies, p)
		}
	}
	for _, mut := range []bool{false, true} {
		if mut && s.Change == ChangeNever || !mut && s.Change == ChangeAlways {
			continue
		}
		var alts []gbnf.Node
		for k := 1; k <= maxLines; k++ {
			alts = append(alts, b.seq(mut, nil, k, maxCompound))
		}
		bodies = append(bodies, b.def("body", alt(alts...)))
	}
	b.g.Rule("root", gbnf.Seq{lit(header), opt(b.def("doc", doc)), bodies})
	return b.g
}

// def names n as a rule (one rule per distinct body) and returns its
// reference; literals and references are returned as they are.
func (b *mbuilder) def(prefix string, n gbnf.Node) gbnf.Node {
	switch n.(type) {
	case nil:
		return nil
	case gbnf.Lit, gbnf.Ref, gbnf.Class:
		return n
	}
	body := gbnf.Render(n)
	if name, ok := b.bodies[body]; ok {
		return gbnf.Ref(name)
	}
	b.n++
	name := fmt.Sprintf("%s-%d", prefix, b.n)
	b.bodies[body] = name
	b.g.Rule(name, n)
	return gbnf.Ref(name)
}

// once memoizes a node under key.
func (b *mbuilder) once(key string, f func() gbnf.Node) gbnf.Node {
	if n, ok := b.memo[key]; ok {
		return n
	}
	n := f()
	b.memo[key] = n
	return n
}

// verbs are selector words that do not name a slot.
var verbs = map[string]bool{
	"get": true, "set": true, "add": true, "remove": true, "increment": true, "decrement": true,
	"update": true, "remember": true, "reset": true, "clear": true, "show": true, "display": true,
	"describe": true, "make": true, "compute": true, "calculate": true, "record": true, "store": true,
	"save": true, "change": true, "toggle": true, "append": true, "put": true, "delete": true,
	"list": true, "print": true, "report": true, "to": true, "the": true, "a": true, "an": true,
	"of": true, "new": true, "my": true, "and": true, "with": true, "for": true, "from": true,
	"by": true, "is": true, "has": true, "do": true, "track": true, "log": true, "register": true,
}

func (b *mbuilder) init() {
	s := b.s
	for _, name := range slices.Sorted(maps.Keys(s.Slots)) {
		if !usableName(name) {
			continue
		}
		v := s.Slots[name]
		t, ok := typeOf(v)
		if !ok {
			continue
		}
		n := vname{text: "self." + name, t: t, slot: name}
		switch x := v.(type) {
		case object.List:
			n.nonEmpty = len(x) > 0
		case object.Map:
			// A dict's literal keys are bounded too: each adds rules.
			for _, k := range x.FirstKeys(4 * maxDictKeys) {
				if safeText(k) && len(k) <= maxStrLit && len(n.keys) < maxDictKeys {
					n.keys = append(n.keys, k)
				}
			}
		}
		b.slots = append(b.slots, n)
	}
	for i, p := range s.Params {
		if !guardian.ValidSelector(p) {
			continue
		}
		var v object.Value
		if i < len(s.Args) {
			v = s.Args[i]
		}
		t, ok := typeOf(v)
		if !ok {
			t = vtype{k: kAny}
		}
		n := vname{text: p, t: t}
		if l, ok := v.(object.List); ok {
			n.nonEmpty = len(l) > 0
		}
		b.params = append(b.params, n)
	}
	// New slots: the words of the selector that are not verbs, and
	// their join ("set_favorite_color": favorite, color, favorite_color).
	var words []string
	for _, w := range strings.Split(s.Selector, "_") {
		if w != "" && !verbs[w] && usableName(w) && !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	if len(words) > 1 {
		if j := strings.Join(words, "_"); usableName(j) {
			words = append(words, j)
		}
	}
	for _, w := range words {
		if _, exists := s.Slots[w]; !exists && !slices.Contains(b.newSlots, w) {
			b.newSlots = append(b.newSlots, w)
		}
	}
	for _, m := range slices.Sorted(maps.Keys(s.Methods)) {
		n := s.Methods[m]
		if m == s.Selector || n < 0 || n > 3 || m == "clone" && s.Change == ChangeNever {
			continue // a read-only method makes no objects either
		}
		ok := true
		for _, part := range strings.Split(m, ".") {
			ok = ok && usableName(part)
		}
		if ok && strings.Count(m, ".") <= 1 {
			b.methods = append(b.methods, m)
		}
	}
}

// safeText reports whether s can be written inside a string literal of
// the grammar.
func safeText(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(textChars, s[i]) < 0 {
			return false
		}
	}
	return true
}

func (b *mbuilder) has(method string) bool { return slices.Contains(b.methods, method) }

// Literals, shared by every context.

func (b *mbuilder) textClass() gbnf.Node { return gbnf.Class(textChars) }

func (b *mbuilder) strLit() gbnf.Node {
	return b.once("strlit", func() gbnf.Node {
		return b.def("str", seq(lit(`"`), gbnf.Rep{Node: b.textClass(), Min: 0, Max: maxStrLit}, lit(`"`)))
	})
}

// sepLit is a non-empty string literal of at most 8 characters (split
// rejects an empty separator).
func (b *mbuilder) sepLit() gbnf.Node {
	return b.once("seplit", func() gbnf.Node {
		return b.def("sep", seq(lit(`"`), gbnf.Rep{Node: b.textClass(), Min: 1, Max: 8}, lit(`"`)))
	})
}

func (b *mbuilder) numLit() gbnf.Node {
	return b.once("numlit", func() gbnf.Node {
		digits := gbnf.Class("0123456789")
		intLit := alt(lit("0"), seq(gbnf.Class("123456789"), gbnf.Rep{Node: digits, Min: 0, Max: 2}))
		i := b.def("int", intLit)
		return b.def("num", alt(i, seq(i, lit("."), gbnf.Rep{Node: digits, Min: 1, Max: 2})))
	})
}

// posLit is 1 to 99: a divisor, a slice bound.
func (b *mbuilder) posLit() gbnf.Node {
	return b.once("poslit", func() gbnf.Node {
		return b.def("pos", seq(gbnf.Class("123456789"), opt(gbnf.Class("0123456789"))))
	})
}

func (b *mbuilder) comment(depth int) gbnf.Node {
	return b.once(fmt.Sprintf("comment%d", depth), func() gbnf.Node {
		return b.def("comment", seq(lit(ind(depth)+"# "), gbnf.Rep{Node: b.textClass(), Min: 1, Max: maxComment}, lit("\n")))
	})
}

// sctx is where a statement is written.
type sctx struct {
	e      *env    // what it reads
	locals []vname // bound locals it may update
	mut    bool    // it may change self
	excl   string  // a container it must not mutate (being iterated)
	depth  int     // indentation level; the def body is 1
	inLoop bool    // inside a for: accumulators only grow linearly
	key    string  // memo key
}

func (c sctx) with(f func(*sctx)) sctx {
	f(&c)
	c.key = fmt.Sprintf("%s|%v|%v|%s|%d|%v", c.e.key, localsKey(c.locals), c.mut, c.excl, c.depth, c.inLoop)
	return c
}

func localsKey(ls []vname) string {
	var sb strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&sb, "%s:%d:%d,", l.text, l.t.k, l.t.elem)
	}
	return sb.String()
}

// topEnv is what the def body reads with the given locals bound.
func (b *mbuilder) topEnv(locals []vname) *env {
	names := append(append(slices.Clone(b.params), locals...), b.slots...)
	return newEnv(names)
}

// simple is one simple statement at c.depth.
func (b *mbuilder) simple(c sctx) gbnf.Node {
	return b.once("simple|"+c.key, func() gbnf.Node {
		return b.def("st", seq(lit(ind(c.depth)), b.stmt(c), lit("\n")))
	})
}

// stmt is one simple statement, without indentation and newline: the
// part that does not depend on the bound locals (shared by every set of
// locals), then the updates of each local.
func (b *mbuilder) stmt(c sctx) gbnf.Node {
	x := b.ex(c.e)
	common := b.once(fmt.Sprintf("common|%s|%v|%s|%v", c.e.key, c.mut, c.excl, c.inLoop), func() gbnf.Node {
		out := []gbnf.Node{seq(lit("print("), x.strExpr, lit(")")), x.calls}
		if c.mut {
			for _, sl := range b.slots {
				if sl.slot != c.excl {
					out = append(out, b.def("up", alt(b.update(c, x, sl)...)))
				}
			}
			for _, n := range b.newSlots {
				out = append(out, b.def("new", seq(lit("self."+n+" = "), x.any)))
			}
		}
		return b.def("cs", alt(out...))
	})
	out := []gbnf.Node{common}
	for _, l := range c.locals {
		if l.text != c.excl {
			out = append(out, b.def("up", alt(b.update(c, x, l)...)))
		}
	}
	return b.def("stmt", alt(out...))
}

// update are the statements (without indentation) that change the local
// or slot n.
func (b *mbuilder) update(c sctx, x *exprs, n vname) []gbnf.Node {
	line := func(ns ...gbnf.Node) gbnf.Node { return seq(ns...) }
	t := n.text
	var out []gbnf.Node
	if !c.inLoop {
		out = append(out, line(lit(t+" = "), x.ofType(n.t)))
	}
	switch n.t.k {
	case kNum:
		out = append(out, line(lit(t), alt(lit(" += "), lit(" -= ")), x.numExpr))
	case kStr:
		out = append(out, line(lit(t+" += "), x.strExpr))
	case kBool:
		if c.inLoop {
			out = append(out, line(lit(t+" = "), alt(lit("True"), lit("False"))))
		}
	case kList:
		out = append(out, line(lit(t+".append("), x.elem(n.t.elem), lit(")")))
		if !c.inLoop {
			out = append(out, line(lit(t+" += "), alt(b.params0(kList), lit("[]"), seq(lit("["), x.elem(n.t.elem), lit("]")))))
			if n.t.elem == kAny {
				out = append(out, line(lit(t+".extend("), x.listExpr, lit(")")))
			}
			out = append(out, line(lit(t+".insert(0, "), x.elem(n.t.elem), lit(")")), line(lit(t+".clear()")))
			if n.nonEmpty && !n.local {
				out = append(out, line(lit(t+".pop()")))
			}
		}
	case kDict:
		out = append(out,
			line(lit(t+"["), x.s0, lit("] = "), x.elem(n.t.elem)),
			line(lit(t+".pop("), x.strA, lit(", None)")),
			line(lit(t+".setdefault("), x.strA, lit(", "), x.elem(n.t.elem), lit(")")))
		if n.t.elem == kAny {
			out = append(out, line(lit(t+".update("), x.dictFresh, lit(")")))
		}
		if ps := b.params0(kDict); ps != nil {
			out = append(out, line(lit(t+".update("), ps, lit(")")))
		}
		if n.t.elem == kNum {
			for _, k := range c.e.of(isKind(kStr)) {
				out = append(out, line(lit(t+"["+k.text+"] = "+t+".get("+k.text+", 0) + "), x.num1))
			}
		}
		if !c.inLoop {
			out = append(out, line(lit(t+".clear()")))
		}
	case kAny:
		if c.inLoop {
			out = append(out, line(lit(t+" = "), x.v0))
		}
	}
	return out
}

// body is exactly n lines of statements at c.depth: simple statements,
// if blocks when nested, and, last, a return (read-only methods) or a
// break (in a loop).
func (b *mbuilder) body(c sctx, n int, nested bool) gbnf.Node {
	return b.once(fmt.Sprintf("body|%s|%d|%v", c.key, n, nested), func() gbnf.Node {
		st := b.simple(c)
		var out []gbnf.Node
		if n == 1 {
			out = append(out, st)
			x := b.ex(c.e)
			if !c.mut {
				out = append(out, seq(lit(ind(c.depth)+"return "), x.any, lit("\n")))
			}
			if c.inLoop && c.depth > 2 {
				out = append(out, lit(ind(c.depth)+"break\n"))
			}
		} else {
			out = append(out, seq(st, b.body(c, n-1, nested)))
		}
		if nested {
			for m := 2; m <= n; m++ {
				if m == n {
					out = append(out, b.ifBlock(c, m))
				} else {
					out = append(out, seq(b.ifBlock(c, m), b.body(c, n-m, nested)))
				}
			}
		}
		return b.def("body", alt(out...))
	})
}

// ifBlock is an if statement of exactly n lines (if/elif/else), whose
// blocks hold simple statements one level deeper.
func (b *mbuilder) ifBlock(c sctx, n int) gbnf.Node {
	return b.once(fmt.Sprintf("if|%s|%d", c.key, n), func() gbnf.Node {
		x := b.ex(c.e)
		pre := ind(c.depth)
		inner := c.with(func(i *sctx) { i.depth++ })
		blk := func(k int) gbnf.Node { return b.body(inner, k, false) }
		head := b.def("ifh", seq(lit(pre+"if "), x.cond, lit(":\n")))
		elif := b.def("elif", seq(lit(pre+"elif "), x.cond, lit(":\n")))
		els := lit(pre + "else:\n")
		var out []gbnf.Node
		// if t | if t else f | if t elif e | if t elif e else f
		for t := 1; t <= n-1; t++ {
			if 1+t == n {
				out = append(out, seq(head, blk(t)))
			}
			for f := 1; 1+t+1+f <= n; f++ {
				if 1+t+1+f == n {
					out = append(out, seq(head, blk(t), els, blk(f)), seq(head, blk(t), elif, blk(f)))
				}
				for g := 1; 1+t+1+f+1+g <= n; g++ {
					if 1+t+1+f+1+g == n {
						out = append(out, seq(head, blk(t), elif, blk(f), els, blk(g)))
					}
				}
			}
		}
		if c.mut {
			// list.remove only under a membership test of the same value.
			vals := c.e.of(func(v vname) bool { return v.slot == "" && (v.t.k == kNum || v.t.k == kStr || v.t.k == kAny) })
			for _, l := range b.slots {
				if l.t.k != kList || l.slot == c.excl {
					continue
				}
				for _, v := range vals {
					rm := lit(pre + "if " + v.text + " in " + l.text + ":\n" + ind(c.depth+1) + l.text + ".remove(" + v.text + ")\n")
					if n == 2 {
						out = append(out, rm)
					} else {
						out = append(out, seq(rm, blk(n-2)))
					}
				}
			}
		}
		return b.def("if", alt(out...))
	})
}

// forBlock is a top-level for loop of exactly n lines over a container or
// a range.
func (b *mbuilder) forBlock(c sctx, n int) gbnf.Node {
	return b.once(fmt.Sprintf("for|%s|%d", c.key, n), func() gbnf.Node {
		var out []gbnf.Node
		loop := func(header gbnf.Node, vars []vname, excl string) {
			e := newEnv(append(append(vars, b.params...), b.slots...))
			inner := c.with(func(i *sctx) { i.e, i.depth, i.inLoop, i.excl = e, c.depth+1, true, excl })
			out = append(out, seq(lit(ind(c.depth)), header, lit(":\n"), b.body(inner, n-1, true)))
		}
		for _, l := range c.e.of(isKind(kList)) {
			v := b.singular(l.text)
			excl := l.slot
			if l.local {
				excl = l.text
			}
			loop(lit("for "+v+" in "+l.text), []vname{{text: v, t: vtype{k: l.t.elem}}}, excl)
		}
		if !b.bound(nil, "key") && !b.bound(nil, "value") {
			for _, d := range c.e.of(isKind(kDict)) {
				excl := d.slot
				if d.local {
					excl = d.text
				}
				key := vname{text: "key", t: vtype{k: kStr}}
				val := vname{text: "value", t: vtype{k: d.t.elem}}
				loop(lit("for key in "+d.text), []vname{key}, excl)
				loop(lit("for key, value in "+d.text+".items()"), []vname{key, val}, "")
			}
		}
		if !b.bound(nil, "i") {
			lens := litAlt(c.e.of(isKind(kList)))
			rng := alt(gbnf.Class("123456789"), seq(lit("len("), lens, lit(")")))
			loop(seq(lit("for i in range("), rng, lit(")")), []vname{{text: "i", t: vtype{k: kNum}}}, "")
		}
		return b.def("for", alt(out...))
	})
}

// seq is the rest of the def body: exactly k more lines, the tail
// included, with at most c more compound statements and locals bound.
func (b *mbuilder) seq(mut bool, locals []vname, k, c int) gbnf.Node {
	key := fmt.Sprintf("seq|%v|%s|%d|%d", mut, localsKey(locals), k, c)
	return b.once(key, func() gbnf.Node {
		e := b.topEnv(locals)
		x := b.ex(e)
		sc := sctx{e: e, locals: locals, mut: mut, depth: 1}.with(func(*sctx) {})
		var out []gbnf.Node
		tail := 1
		flagged := seq(lit("    self._p_changed = True\n    return "), x.any, lit("\n"))
		switch line, guarded := b.change(sc); {
		case mut && line != nil:
			// A selector that asks for a change makes one: the body ends
			// changing a slot (perhaps under an if), flags it and returns.
			tail = 3
			if k == 3 {
				out = append(out, seq(line, flagged))
			}
			if k == 4 {
				out = append(out, seq(guarded, flagged))
			}
		case mut:
			tail = 2
			if k == 2 {
				out = append(out, flagged)
			}
		case k == 1:
			out = append(out, seq(lit("    return "), x.any, lit("\n")))
		}
		if k > tail {
			rest := b.seq(mut, locals, k-1, c)
			out = append(out, seq(alt(b.simple(sc), b.comment(1)), rest))
			if len(locals) < maxLocals {
				var binds []gbnf.Node
				for _, l := range localVocab {
					if b.bound(locals, l.text) {
						continue
					}
					l.local = true
					next := append(slices.Clone(locals), l)
					slices.SortFunc(next, func(a, b vname) int { return strings.Compare(a.text, b.text) })
					binds = append(binds, seq(lit("    "+l.text+" = "), x.ofType(l.t), lit("\n"), b.seq(mut, next, k-1, c)))
				}
				out = append(out, b.def("bind", alt(binds...)))
			}
			if c > 0 && !mut && k >= 2 {
				out = append(out, b.ifBlock(sc, k)) // a read-only body may end with an if
			}
			if c > 0 {
				for m := 2; m <= k-tail; m++ {
					out = append(out, seq(alt(b.ifBlock(sc, m), b.forBlock(sc, m)), b.seq(mut, locals, k-m, c-1)))
				}
			}
		}
		return b.def("seq", alt(out...))
	})
}

// change is what ends a ChangeAlways body before its flag: a line that
// changes a slot of self (an update of an existing slot or the assignment
// of a new one), or, in guarded, the same under an if (list.remove only
// under a membership test of its value). Both are nil for other specs or
// when there is no slot to change.
func (b *mbuilder) change(c sctx) (line, guarded gbnf.Node) {
	if b.s.Change != ChangeAlways || !c.mut {
		return nil, nil
	}
	key := "change|" + localsKey(c.locals)
	if n, ok := b.memo[key]; ok {
		return n, b.memo[key+"|if"]
	}
	x := b.ex(c.e)
	var stmts, removes []gbnf.Node
	for _, sl := range b.slots {
		stmts = append(stmts, b.update(c, x, sl)...)
	}
	for _, n := range b.newSlots {
		stmts = append(stmts, seq(lit("self."+n+" = "), x.any))
	}
	vals := c.e.of(func(v vname) bool { return v.slot == "" && (v.t.k == kNum || v.t.k == kStr || v.t.k == kAny) })
	for _, l := range b.slots {
		if l.t.k != kList {
			continue
		}
		for _, v := range vals {
			removes = append(removes, lit("    if "+v.text+" in "+l.text+":\n        "+l.text+".remove("+v.text+")\n"))
		}
	}
	if len(stmts) > 0 {
		chg := b.def("chg", alt(stmts...))
		line = b.def("chgl", seq(lit("    "), chg, lit("\n")))
		guarded = b.def("chgif", alt(append(removes, seq(lit("    if "), x.cond, lit(":\n        "), chg, lit("\n")))...))
	}
	b.memo[key], b.memo[key+"|if"] = line, guarded
	return line, guarded
}

// params0 is the parameters of kind k, nil if none.
func (b *mbuilder) params0(k kind) gbnf.Node {
	var ps []vname
	for _, p := range b.params {
		if p.t.k == k {
			ps = append(ps, p)
		}
	}
	return litAlt(ps)
}

// bound reports whether name is taken: a bound local or a parameter.
func (b *mbuilder) bound(locals []vname, name string) bool {
	for _, l := range locals {
		if l.text == name {
			return true
		}
	}
	for _, p := range b.params {
		if p.text == name {
			return true
		}
	}
	return false
}
