package guardian

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/syntax"
)

// fileOptions are the Starlark dialect generated methods are written in:
// no while loops, no top-level control flow, no global reassignment, no
// recursion, no sets. The sandbox compiles with the same options.
var fileOptions = &syntax.FileOptions{}

// FileOptions returns the Starlark dialect options Check parses with, so
// that a runtime compiles exactly the language that was audited.
func FileOptions() *syntax.FileOptions { c := *fileOptions; return &c }

// Check audits source, a generated method, against p. It returns nil when
// the source passes every rule, else a Findings error (matching
// ErrRejected) that lists every finding. Check never panics and never
// executes the source; its cost is linear in the source size, which it
// bounds first (Policy.MaxBytes).
func Check(source string, p Policy) error {
	p = p.withDefaults()
	c := &checker{p: p, seen: map[findingKey]bool{}}
	c.run(source)
	if len(c.out) == 0 {
		return nil
	}
	sort.SliceStable(c.out, func(i, j int) bool {
		a, b := c.out[i].Pos, c.out[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return c.out
}

type findingKey struct {
	line, col int32
	rule, msg string
}

type checker struct {
	p    Policy
	out  Findings
	seen map[findingKey]bool
	file *string
}

func (c *checker) add(pos syntax.Position, rule, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	k := findingKey{pos.Line, pos.Col, rule, msg}
	if c.seen[k] {
		return
	}
	c.seen[k] = true
	c.out = append(c.out, Finding{Pos: pos, Rule: rule, Message: msg})
}

func (c *checker) run(source string) {
	name := "method.star"
	c.file = &name
	start := syntax.MakePosition(c.file, 1, 1)
	if len(source) > c.p.MaxBytes {
		c.add(start, RuleSize, "source is %d bytes, over the limit of %d", len(source), c.p.MaxBytes)
		return
	}
	f, err := fileOptions.Parse(name, source, 0)
	if err != nil {
		var se syntax.Error
		if errors.As(err, &se) {
			c.add(se.Pos, RuleSyntax, "%s", se.Msg)
		} else {
			c.add(start, RuleSyntax, "%v", err)
		}
		c.pythonisms(source)
		return
	}
	// Structural limits first: the rest of the audit recurses over the
	// tree, so an over-deep tree is reported and not analysed further.
	if !c.limits(f) {
		return
	}
	c.shape(f, start)
	c.forbidden(f)
	c.aliasSelf(f)
	c.builtins(f)
	for _, s := range f.Stmts {
		if d, ok := s.(*syntax.DefStmt); ok {
			c.covenant(d)
		}
	}
}

// limits checks statement count and nesting; it reports false when the
// tree is too deep to analyse safely.
func (c *checker) limits(f *syntax.File) bool {
	stmts := 0
	var block func(ss []syntax.Stmt, depth int)
	block = func(ss []syntax.Stmt, depth int) {
		for _, s := range ss {
			stmts++
			if depth > c.p.MaxDepth {
				c.add(stmtPos(s), RuleNesting, "block nesting depth %d is over the limit of %d", depth, c.p.MaxDepth)
				continue
			}
			switch s := s.(type) {
			case *syntax.DefStmt:
				block(s.Body, depth+1)
			case *syntax.IfStmt:
				block(s.True, depth+1)
				block(s.False, depth+1)
			case *syntax.ForStmt:
				block(s.Body, depth+1)
			case *syntax.WhileStmt:
				block(s.Body, depth+1)
			}
		}
	}
	block(f.Stmts, 0)
	if stmts > c.p.MaxStatements {
		c.add(syntax.MakePosition(c.file, 1, 1), RuleSize, "%d statements, over the limit of %d", stmts, c.p.MaxStatements)
	}
	ok := true
	depth := 0
	var isExpr []bool // one entry per node being walked
	reported := false
	syntax.Walk(f, func(n syntax.Node) bool {
		if n == nil {
			if isExpr[len(isExpr)-1] {
				depth--
			}
			isExpr = isExpr[:len(isExpr)-1]
			return true
		}
		_, e := n.(syntax.Expr)
		isExpr = append(isExpr, e)
		if !e {
			return true // statements: only expression depth counts here
		}
		depth++
		if depth > c.p.MaxExprDepth {
			if !reported {
				start, _ := n.Span()
				c.add(start, RuleNesting, "expression nesting depth is over the limit of %d", c.p.MaxExprDepth)
				reported = true
			}
			ok = false
		}
		return true
	})
	return ok && !c.has(RuleNesting)
}

func (c *checker) has(rule string) bool {
	for _, f := range c.out {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

// shape checks for exactly one top-level def with the expected name and
// parameters, and reports load statements. It returns the def, or nil.
func (c *checker) shape(f *syntax.File, start syntax.Position) *syntax.DefStmt {
	var def *syntax.DefStmt
	for _, s := range f.Stmts {
		switch s := s.(type) {
		case *syntax.LoadStmt:
			c.add(s.Load, RuleLoad, "load statements are forbidden")
		case *syntax.DefStmt:
			if def == nil {
				def = s
			} else {
				c.add(s.Def, RuleShape, "more than one top-level def (%s)", s.Name.Name)
			}
		default:
			c.add(stmtPos(s), RuleShape, "only a single def may appear at top level")
		}
	}
	if def == nil {
		c.add(start, RuleShape, "no top-level def")
		return nil
	}
	if c.p.Selector != "" && def.Name.Name != c.p.Selector {
		c.add(def.Name.NamePos, RuleShape, "def %s does not match the selector %s", def.Name.Name, c.p.Selector)
	}
	if len(def.Params) == 0 {
		c.add(def.Name.NamePos, RuleShape, "the first parameter must be self")
		return def
	}
	if id, ok := def.Params[0].(*syntax.Ident); !ok || id.Name != "self" {
		start, _ := def.Params[0].Span()
		c.add(start, RuleShape, "the first parameter must be a plain self")
	}
	if c.p.Params != nil {
		var got []string
		for _, prm := range def.Params[1:] {
			got = append(got, paramName(prm))
		}
		if strings.Join(got, ",") != strings.Join(c.p.Params, ",") || len(got) != len(c.p.Params) {
			c.add(def.Lparen, RuleShape, "parameters after self are (%s), want (%s)",
				strings.Join(got, ", "), strings.Join(c.p.Params, ", "))
		}
	}
	return def
}

func paramName(e syntax.Expr) string {
	switch e := e.(type) {
	case *syntax.Ident:
		return e.Name
	case *syntax.BinaryExpr: // name=default
		if id, ok := e.X.(*syntax.Ident); ok {
			return id.Name
		}
	case *syntax.UnaryExpr:
		prefix := "*"
		if e.Op == syntax.STARSTAR {
			prefix = "**"
		}
		if e.X == nil {
			return prefix
		}
		if id, ok := e.X.(*syntax.Ident); ok {
			return prefix + id.Name
		}
	}
	return "?"
}

// forbidden reports _slots, _p_ attributes, and any use of _p_changed
// other than the statement self._p_changed = True.
func (c *checker) forbidden(f *syntax.File) {
	flags := map[*syntax.DotExpr]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if a, ok := n.(*syntax.AssignStmt); ok && isFlag(a) {
			flags[a.LHS.(*syntax.DotExpr)] = true
		}
		return true
	})
	syntax.Walk(f, func(n syntax.Node) bool {
		d, ok := n.(*syntax.DotExpr)
		if !ok {
			return true
		}
		switch name := d.Name.Name; {
		case name == "_slots":
			c.add(d.Name.NamePos, RuleForbiddenAttr, "attribute _slots is forbidden")
		case name == "_p_changed":
			if !flags[d] {
				c.add(d.Name.NamePos, RuleForbiddenAttr, "_p_changed may only appear as the statement self._p_changed = True")
			}
		case strings.HasPrefix(name, "_p_"):
			c.add(d.Name.NamePos, RuleForbiddenAttr, "persistence attribute %s is forbidden", name)
		}
		return true
	})
}

// aliasSelf reports every use of the name self other than the receiver of
// an attribute (self.x) or the method's own first parameter.
func (c *checker) aliasSelf(f *syntax.File) {
	ok := map[*syntax.Ident]bool{}
	for _, s := range f.Stmts { // the receiver of each top-level def
		if d, isDef := s.(*syntax.DefStmt); isDef && len(d.Params) > 0 {
			if id, isID := d.Params[0].(*syntax.Ident); isID {
				ok[id] = true
			}
		}
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		if d, isDot := n.(*syntax.DotExpr); isDot {
			if id, isID := unparen(d.X).(*syntax.Ident); isID {
				ok[id] = true
			}
			ok[d.Name] = true
		}
		return true
	})
	syntax.Walk(f, func(n syntax.Node) bool {
		if id, isID := n.(*syntax.Ident); isID && id.Name == "self" && !ok[id] {
			c.add(id.NamePos, RuleAliasSelf, "self may only be used as self.attr (no aliasing, passing or rebinding)")
		}
		return true
	})
}

// builtins resolves the file, treating every free name as predeclared, and
// reports free names outside the allowlist; other resolver errors are
// syntax findings.
func (c *checker) builtins(f *syntax.File) {
	allowed := map[string]bool{}
	for _, n := range c.p.AllowedBuiltins {
		allowed[n] = true
	}
	all := func(string) bool { return true }
	none := func(string) bool { return false }
	if err := resolve.File(f, all, none); err != nil {
		var el resolve.ErrorList
		if errors.As(err, &el) {
			for _, e := range el {
				c.add(e.Pos, RuleSyntax, "%s", e.Msg)
			}
		} else {
			c.add(syntax.MakePosition(c.file, 1, 1), RuleSyntax, "%v", err)
		}
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		id, ok := n.(*syntax.Ident)
		if !ok {
			return true
		}
		b, _ := id.Binding.(*resolve.Binding)
		if b != nil && b.Scope == resolve.Predeclared && !allowed[id.Name] {
			c.add(id.NamePos, RuleBuiltin, "name %s is not an allowed builtin", id.Name)
		}
		return true
	})
}

func unparen(e syntax.Expr) syntax.Expr {
	for {
		p, ok := e.(*syntax.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

func stmtPos(s syntax.Stmt) syntax.Position {
	start, _ := s.Span()
	return start
}

// pythonForms are Python constructs a model trained on Python writes in a
// Starlark method, with what to write instead. They make the parser fail
// with a message about tokens; the finding says what to change.
var pythonForms = []struct {
	re  *regexp.Regexp
	msg string
}{
	{regexp.MustCompile(`(^|[\s(,=\[{+:])[fF][rR]?["']`), "f-strings are not Starlark: build the string with + and str(), or \"%s\" % value"},
	{regexp.MustCompile(`^\s*(try|except|finally)\b.*:`), "try/except is not Starlark: test the condition with if instead"},
	{regexp.MustCompile(`^\s*while\b`), "while loops are not allowed: loop with for over a list or range(n)"},
	{regexp.MustCompile(`^\s*class\s`), "classes are not Starlark: write one def NAME(self, ...) method"},
	{regexp.MustCompile(`^\s*(import|from)\s`), "import is not Starlark: methods use only builtins and self"},
	{regexp.MustCompile(`^\s*with\s`), "with statements are not Starlark"},
	{regexp.MustCompile(`^\s*(global|nonlocal)\s`), "global and nonlocal are not Starlark: keep state in self.<slot>"},
	{regexp.MustCompile(`^\s*(raise|assert)\b`), "raise and assert are not Starlark: call fail(\"message\") instead"},
	{regexp.MustCompile(`^\s*del\s`), "del is not Starlark: assign None or use .pop(key)"},
	{regexp.MustCompile(`^\s*@`), "decorators are not Starlark"},
}

// pythonisms adds a python finding for each line with a Python form, so a
// model asked to repair its method knows what to change.
func (c *checker) pythonisms(source string) {
	for i, line := range strings.Split(source, "\n") {
		if i >= c.p.MaxStatements {
			return
		}
		for _, f := range pythonForms {
			if loc := f.re.FindStringIndex(line); loc != nil {
				c.add(syntax.MakePosition(c.file, int32(i+1), int32(loc[0]+1)), RulePython, "%s", f.msg)
			}
		}
	}
}
