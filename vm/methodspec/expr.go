package methodspec

import (
	"strings"

	"github.com/batos/batos/gbnf"
	"github.com/batos/batos/guardian"
)

// exprs are the typed expressions of the method grammar over one env;
// a nil field means no such expression exists there.
type exprs struct {
	v0        gbnf.Node // any name or literal
	scalar    gbnf.Node // a name or literal that is not a container
	num1      gbnf.Node // a number atom
	numTerm   gbnf.Node
	numExpr   gbnf.Node
	str1      gbnf.Node // a string atom
	strA      gbnf.Node // a string literal or name
	s0        gbnf.Node // a short string
	strExpr   gbnf.Node
	strList   gbnf.Node // a list of strings
	strFresh  gbnf.Node // a new list of strings
	listFresh gbnf.Node // a new list
	listExpr  gbnf.Node
	dictFresh gbnf.Node
	dictExpr  gbnf.Node
	cond      gbnf.Node
	any       gbnf.Node
	calls     gbnf.Node // self.<method>(...)
	strCalls  gbnf.Node // calls that may return a string
}

// singular names the loop variable over a container: the slot's name
// without its plural s, else item, else x; never a local of the
// vocabulary or a parameter.
func (b *mbuilder) singular(container string) string {
	base := container
	if i := lastDot(base); i >= 0 {
		base = base[i+1:]
	}
	cand := []string{}
	if len(base) > 3 && base[len(base)-1] == 's' && base[len(base)-2] != 's' {
		cand = append(cand, base[:len(base)-1])
	}
	cand = append(cand, "item", "x")
	for _, c := range cand {
		if b.free(c) {
			return c
		}
	}
	return "x"
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

// free reports whether a loop variable may be called name.
func (b *mbuilder) free(name string) bool {
	if !guardian.ValidSelector(name) {
		return false
	}
	for _, l := range localVocab {
		if l.text == name {
			return false
		}
	}
	for _, p := range b.params {
		if p.text == name {
			return false
		}
	}
	return name != "key" && name != "value" && name != "i"
}

func (b *mbuilder) ex(e *env) *exprs {
	if x, ok := b.exprs[e.key]; ok {
		return x
	}
	x := &exprs{}
	b.exprs[e.key] = x // set first: nothing below refers back to e
	all := litAlt(e.names)
	nums := litAlt(e.of(isKind(kNum)))
	strs := litAlt(e.of(isKind(kStr)))
	bools := litAlt(e.of(isKind(kBool)))
	lists := litAlt(e.of(isKind(kList)))
	dicts := litAlt(e.of(isKind(kDict)))
	sized := alt(lists, dicts, strs)
	strLit, numLit, posLit := b.strLit(), b.numLit(), b.posLit()

	x.v0 = b.def("v", alt(all, numLit, strLit, lit("True"), lit("False"), lit("None")))
	scalars := litAlt(e.of(func(n vname) bool { return n.t.k != kList && n.t.k != kDict }))
	x.scalar = b.def("vs", alt(scalars, numLit, strLit, lit("True"), lit("False"), lit("None")))

	// Calls of methods of self and of referenced objects.
	var calls, strCalls []gbnf.Node
	for _, m := range b.methods {
		arity := b.s.Methods[m]
		call := gbnf.Seq{lit("self." + m + "(")}
		for i := range arity {
			if i > 0 {
				call = append(call, lit(", "))
			}
			call = append(call, x.v0)
		}
		call = append(call, lit(")"))
		calls = append(calls, call)
		// A method of unknown result, as the string it most often is.
		if _, prim := Builtins[m[strings.LastIndexByte(m, '.')+1:]]; !prim {
			strCalls = append(strCalls, call)
		}
	}
	x.calls = b.def("call", alt(calls...))
	x.strCalls = b.def("scall", alt(strCalls...))

	// Numbers.
	numA := b.def("na", alt(numLit, nums))
	var numAtoms []gbnf.Node
	numAtoms = append(numAtoms, numLit, nums, seq(lit("len("), sized, lit(")")))
	if strs != nil {
		numAtoms = append(numAtoms, seq(lit("len("), strs, lit(".split())")))
	}
	if b.has("slot_names") {
		numAtoms = append(numAtoms, lit("len(self.slot_names())"))
	}
	if nums != nil {
		numAtoms = append(numAtoms, seq(alt(lit("int("), lit("abs(")), nums, lit(")")),
			seq(alt(lit("max("), lit("min(")), numA, lit(", "), numA, lit(")")))
	}
	strA := b.def("sa", alt(strLit, strs))
	x.strA = strA
	var strAtoms []gbnf.Node
	for _, d := range e.of(isKind(kDict)) {
		var def gbnf.Node
		var keyed []gbnf.Node
		for _, k := range d.keys {
			keyed = append(keyed, lit(d.text+`["`+k+`"]`))
		}
		switch d.t.elem {
		case kNum:
			def = b.def("get", seq(lit(d.text+".get("), strA, lit(", 0)")))
			numAtoms = append(numAtoms, def, alt(keyed...))
		case kStr:
			def = b.def("get", seq(lit(d.text+".get("), strA, lit(`, "")`)))
			strAtoms = append(strAtoms, def, alt(keyed...))
		}
	}
	for _, l := range e.of(func(n vname) bool { return n.t.k == kList && n.nonEmpty }) {
		idx := alt(lit(l.text+"[0]"), lit(l.text+"[-1]"))
		switch l.t.elem {
		case kNum:
			numAtoms = append(numAtoms, idx)
		case kStr:
			strAtoms = append(strAtoms, idx)
		}
	}
	if b.has("oid") {
		numAtoms = append(numAtoms, lit("self.oid()"))
	}
	x.num1 = b.def("n1", alt(numAtoms...))
	numOp := alt(lit(" + "), lit(" - "), lit(" * "))
	paren := b.def("np", seq(lit("("), numA, numOp, numA, lit(")")))
	x.numTerm = b.def("nt", alt(x.num1, paren))
	divisor := alt(posLit, seq(lit("len("), litAlt(e.of(func(n vname) bool { return n.t.k == kList && n.nonEmpty && !n.local })), lit(")")))
	numTail := b.def("nx", alt(seq(numOp, numA), seq(alt(lit(" / "), lit(" // "), lit(" % ")), divisor)))
	x.numExpr = b.def("ne", alt(seq(x.num1, gbnf.Rep{Node: numTail, Min: 0, Max: 3}), seq(paren, gbnf.Rep{Node: numTail, Min: 0, Max: 2})))

	// Lists of strings (for join and sorted), comprehensions.
	var strListAtoms, comps, freshStr []gbnf.Node
	strListNames := litAlt(e.of(func(n vname) bool { return n.t.k == kList && n.t.elem == kStr }))
	strListAtoms = append(strListAtoms, strListNames)
	var dictKeys []gbnf.Node
	for _, d := range e.of(isKind(kDict)) {
		dictKeys = append(dictKeys, lit(d.text+".keys()"))
	}
	sortable := alt(litAlt(e.of(func(n vname) bool { return n.t.k == kList && n.t.elem != kAny })), dicts, alt(dictKeys...))
	freshStr = append(freshStr, lit("[]"), seq(lit("sorted("), alt(strListNames, dicts), lit(")")))
	for _, d := range e.of(isKind(kDict)) {
		freshStr = append(freshStr, lit(d.text+".keys()"))
	}
	if b.has("slot_names") {
		freshStr = append(freshStr, lit("self.slot_names()"))
	}
	for _, src := range e.of(func(n vname) bool { return n.t.k == kList || n.t.k == kDict }) {
		cv := b.singular(src.text)
		elem := src.t.elem
		in := " for " + cv + " in " + src.text
		if src.t.k == kDict {
			elem = kStr // iterating a dict gives its keys
			cv = "key"
			in = " for key in " + src.text
		}
		var el, filt gbnf.Node
		switch elem {
		case kNum:
			el = alt(lit(cv), seq(lit(cv), alt(lit(" * "), lit(" + ")), posLit))
			filt = seq(lit(" if "+cv), alt(lit(" > "), lit(" < "), lit(" != ")), numLit)
		case kStr:
			el = alt(lit(cv), lit(cv+".upper()"), lit(cv+".lower()"), lit(cv+".strip()"))
			filt = alt(lit(" if "+cv+` != ""`), seq(lit(" if "+cv+".startswith("), strLit, lit(")")))
		default:
			el = lit(cv)
			filt = lit(" if " + cv + " != None")
		}
		strComp := lit("[str(" + cv + ")" + in + "]")
		freshStr = append(freshStr, strComp)
		if elem == kStr {
			freshStr = append(freshStr, b.def("comp", seq(lit("["+cv+in), filt, lit("]"))))
		}
		comps = append(comps, b.def("comp", seq(lit("["), el, lit(in), opt(filt), lit("]"))), strComp)
	}
	for _, s := range e.of(isKind(kStr)) {
		freshStr = append(freshStr, lit(s.text+".split()"), seq(lit(s.text+".split("), b.sepLit(), lit(")")))
	}
	x.strFresh = b.def("sf", alt(freshStr...))
	x.strList = b.def("sl", alt(alt(strListAtoms...), x.strFresh))

	// Strings.
	fmt8 := gbnf.Rep{Node: b.textClass(), Min: 0, Max: 12}
	fmt4 := gbnf.Rep{Node: b.textClass(), Min: 0, Max: 8}
	fmtArg := b.def("fa", alt(x.v0, seq(lit("len("), sized, lit(")"))))
	joinSep := alt(lit(`", "`), lit(`" "`), lit(`""`), lit(`"; "`), lit(`" | "`), lit(`"-"`))
	s0 := b.def("s0", alt(strLit, strs, seq(lit("str("), alt(all, numLit), lit(")")), seq(lit("str(len("), sized, lit("))"))))
	strAtoms = append(strAtoms, s0,
		seq(lit("str("), x.num1, lit(")")),
		seq(joinSep, lit(".join("), x.strList, lit(")")),
		b.def("fmt", alt(seq(lit(`"`), fmt8, lit("{}"), fmt8, lit(`".format(`), fmtArg, lit(")")),
			seq(lit(`"`), fmt4, lit("{}"), fmt4, lit("{}"), fmt4, lit(`".format(`), fmtArg, lit(", "), fmtArg, lit(")")))),
		x.strCalls, seq(lit("str("), x.strCalls, lit(")")), seq(lit("str("), x.calls, lit(")")),
	)
	if strs != nil {
		strAtoms = append(strAtoms,
			seq(strs, alt(lit(".upper()"), lit(".lower()"), lit(".strip()"), lit(".title()"), lit(".capitalize()"))),
			seq(strs, lit(".replace("), b.sepLit(), lit(", "), b.sepLit(), lit(")")),
			seq(strs, lit("["), alt(seq(lit(":"), posLit), seq(posLit, lit(":"))), lit("]")))
	}
	for _, m := range []string{"repr", "display"} {
		if b.has(m) {
			strAtoms = append(strAtoms, lit("self."+m+"()"))
		}
	}
	for _, o := range e.of(isKind(kObj)) {
		if b.has(o.slot + "." + "repr") {
			strAtoms = append(strAtoms, lit(o.text+".repr()"))
		}
	}
	x.str1 = b.def("s1", alt(strAtoms...))
	x.s0 = s0
	plus := seq(lit(" + "), s0)
	// At most four terms, one of them long; four only when the others
	// are names or literals.
	x.strExpr = b.def("se", alt(seq(x.str1, gbnf.Rep{Node: plus, Min: 0, Max: 2}), seq(s0, lit(" + "), x.str1, opt(plus)),
		seq(s0, plus, plus, plus)))

	// Lists and dicts.
	items := seq(x.v0, gbnf.Rep{Node: seq(lit(", "), x.v0), Min: 0, Max: 2})
	slice := alt(seq(lit(":"), posLit), seq(posLit, lit(":")), seq(lit("-"), posLit, lit(":")))
	var fresh []gbnf.Node
	fresh = append(fresh, lit("[]"), seq(lit("["), items, lit("]")),
		seq(lit("sorted("), sortable, lit(")")),
		seq(lit("list("), alt(lists, dicts), lit(")")),
		seq(lits(lists), lit("["), slice, lit("]")),
		seq(lit("reversed("), lists, lit(")")))
	for _, d := range e.of(isKind(kDict)) {
		fresh = append(fresh, lit(d.text+".keys()"), lit(d.text+".values()"))
	}
	fresh = append(fresh, comps...)
	x.listFresh = b.def("lf", alt(fresh...))
	x.listExpr = b.def("le", alt(x.listFresh, lists, seq(lists, lit(" + "), alt(lists, seq(lit("["), x.v0, lit("]"))))))
	entry := seq(strLit, lit(": "), x.scalar)
	x.dictFresh = b.def("df", alt(lit("{}"), seq(lit("{"), entry, opt(seq(lit(", "), entry)), lit("}")),
		seq(lit("dict("), dicts, lit(")"))))
	x.dictExpr = b.def("de", alt(x.dictFresh, dicts))

	// Conditions.
	cmpOp := alt(lit(" < "), lit(" > "), lit(" <= "), lit(" >= "), lit(" == "), lit(" != "))
	inOp := alt(lit(" in "), lit(" not in "))
	truthy := alt(lists, dicts, strs)
	cmp := alt(
		seq(x.num1, opt(numTail), cmpOp, numA),
		lit("True"), lit("False"),
		seq(strA, alt(lit(" == "), lit(" != ")), strA),
		seq(x.v0, inOp, lists),
		seq(strA, inOp, alt(dicts, strs)),
		bools, seq(lit("not "), bools),
		truthy, seq(lit("not "), truthy),
		seq(strs, alt(lit(".startswith("), lit(".endswith(")), strA, lit(")")),
		seq(litAlt(e.of(func(n vname) bool { return n.t.k == kAny || n.t.k == kObj })), alt(lit(" == None"), lit(" != None"))),
	)
	c := b.def("c1", cmp)
	short := b.def("c0", alt(bools, seq(lit("not "), bools), truthy, seq(lit("not "), truthy), seq(alt(nums, numLit), cmpOp, numA)))
	x.cond = b.def("cond", seq(c, opt(seq(alt(lit(" and "), lit(" or ")), short))))

	x.any = b.def("any", alt(x.numExpr, x.strExpr, x.listExpr, x.dictExpr, x.cond, x.v0, x.calls))
	return x
}

// lits is n, for symmetry with seq's nil handling.
func lits(n gbnf.Node) gbnf.Node { return n }

// elem is an expression of the element kind k, to put into a
// container: never a container name, so no container holds itself.
func (x *exprs) elem(k kind) gbnf.Node {
	switch k {
	case kNum:
		return x.numExpr
	case kStr:
		return x.strExpr
	}
	return alt(x.numExpr, x.strExpr, x.scalar)
}

// ofType is an expression of type t for assigning a slot or a local: a
// fresh value for containers, so nothing aliases a slot.
func (x *exprs) ofType(t vtype) gbnf.Node {
	switch t.k {
	case kNum:
		return x.numExpr
	case kStr:
		return x.strExpr
	case kBool:
		return x.cond
	case kList:
		if t.elem == kStr {
			return x.strFresh
		}
		if t.elem == kNum {
			return lit("[]")
		}
		return x.listFresh
	case kDict:
		if t.elem == kAny {
			return x.dictFresh
		}
		return lit("{}")
	case kObj:
		return nil
	}
	return x.any
}
