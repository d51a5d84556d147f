package methodspec

import (
	"strings"

	"github.com/batos/batos/gbnf"
)

// Capability is a capability the target holds, as a method calls it:
// self.<Slot>.call(<param>=<value>, ...). The vm fills it from the
// capabilities registered with the VM.
type Capability struct {
	// Slot is the target's slot (own or inherited) that holds the
	// capability object.
	Slot string
	// Params are the capability's parameters, passed by keyword.
	Params []CapParam
	// Result is the kind of what the call returns: "str", "num",
	// "bool", "list", "dict" or "any".
	Result string
	// ResultJSON says a "str" result holds JSON text.
	ResultJSON bool
	// Fields are the fields of a "dict" result that a method may read.
	Fields []CapParam
}

// CapParam is a parameter of a capability, or a field of its result.
type CapParam struct {
	Name     string
	Kind     string // as Capability.Result
	Optional bool
	// Prefixes, for a "str" parameter, are what its value must begin
	// with (the hosts an http capability allows, say); empty: anything.
	Prefixes []string
	// JSON, for a "str" field or result, says it holds JSON text: the
	// grammar offers json.decode of it.
	JSON bool
}

// maxCapLit bounds the literal text written after a prefix.
const maxCapLit = 32

// urlChars may follow a prefix in a literal: no quote, no backslash.
const urlChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./?=&"

// proxy is the body of a method that wraps a capability: the call, bound
// to result, then a return of the result, one of its fields, or the JSON
// a string field (or a string result) holds, decoded when it is JSON.
//
//	result = self.weather.call(url="http://127.0.0.1:8080/" + city)
//	return json.decode(result["body"])
func (b *mbuilder) proxy() gbnf.Node {
	var alts []gbnf.Node
	for _, c := range b.s.Capabilities {
		if !usableName(c.Slot) {
			continue
		}
		args := b.capArgs(c)
		if args == nil {
			continue
		}
		call := seq(lit("    result = self."+c.Slot+".call("), args, lit(")\n"))
		rets := []gbnf.Node{lit("    return result\n")}
		if c.Result == "str" && c.ResultJSON {
			rets = append(rets, lit("    return json.decode(result)\n"))
		}
		if c.Result == "dict" {
			for _, f := range c.Fields {
				if !safeText(f.Name) || strings.ContainsAny(f.Name, "'") {
					continue
				}
				rets = append(rets, lit("    return result[\""+f.Name+"\"]\n"))
				if f.Kind == "str" && f.JSON {
					rets = append(rets, lit("    return json.decode(result[\""+f.Name+"\"])\n"))
				}
			}
		}
		alts = append(alts, seq(call, b.def("ret", alt(rets...))))
	}
	return b.def("proxy", alt(alts...))
}

// capArgs are the keyword arguments of a call of c: every required
// parameter, and optional ones perhaps, in order.
func (b *mbuilder) capArgs(c Capability) gbnf.Node {
	out := gbnf.Seq{}
	first := true
	for _, p := range c.Params {
		if !usableName(p.Name) {
			if p.Optional {
				continue
			}
			return nil
		}
		sep := ", "
		if first {
			sep = ""
		}
		v := b.capValue(p)
		if v == nil {
			return nil
		}
		arg := seq(lit(sep+p.Name+"="), v)
		if p.Optional {
			if first {
				continue // a leading optional parameter would need its separator on the next one
			}
			out = append(out, opt(arg))
			continue
		}
		first = false
		out = append(out, arg)
	}
	if len(out) == 0 {
		return lit("")
	}
	return out
}

// capValue is a value for parameter p: a parameter of the method of its
// kind, or a literal; a string with prefixes begins with one of them.
func (b *mbuilder) capValue(p CapParam) gbnf.Node {
	var params []gbnf.Node
	for _, mp := range b.params {
		if p.Kind == "" || p.Kind == "any" || mp.t.k == kAny || mp.t.k == kindOf(p.Kind) {
			params = append(params, lit(mp.text))
		}
	}
	switch p.Kind {
	case "str":
		if len(p.Prefixes) == 0 {
			return alt(append(params, b.strLit())...)
		}
		var alts []gbnf.Node
		for _, pre := range p.Prefixes {
			if strings.ContainsAny(pre, "\"\\\n") {
				continue
			}
			tail := gbnf.Rep{Node: gbnf.Class(urlChars), Min: 0, Max: maxCapLit}
			alts = append(alts, seq(lit(`"`+pre), tail, lit(`"`)))
			if len(params) > 0 {
				alts = append(alts, seq(lit(`"`+pre), tail, lit(`" + `), alt(params...)))
			}
		}
		return alt(alts...)
	case "num":
		return alt(append(params, b.numLit())...)
	case "bool":
		return alt(append(params, lit("True"), lit("False"))...)
	case "list":
		return alt(append(params, lit("[]"))...)
	case "dict":
		return alt(append(params, lit("{}"))...)
	}
	return alt(append(params, b.strLit(), b.numLit())...)
}

func kindOf(k string) kind {
	switch k {
	case "str":
		return kStr
	case "num":
		return kNum
	case "bool":
		return kBool
	case "list":
		return kList
	case "dict":
		return kDict
	}
	return kAny
}
