package guardian

import "go.starlark.net/syntax"

// The Persistence Covenant, as checked here.
//
// A change to self is any of:
//   - an assignment or augmented assignment whose target (or any element of
//     a tuple/list target, or a for-loop or comprehension variable) is
//     rooted at a slot of self: self.x, self.x[k], self.x[i:j], self.x.y;
//   - a call of a mutating method (see mutators) on a value rooted at a
//     slot of self, such as self.items.append(v);
//   - a lambda or nested def whose body makes such a change (counted where
//     it is defined, since that is where it is usually called);
//   - Starlark has no del statement; "del self.x" is a syntax finding.
//
// Calling another method of self (self.other()) is not a change here: the
// callee is audited on its own, and the runtime tracks its writes.
//
// A function that changes self must, on every path that leaves it after a
// change, execute self._p_changed = True after the last change: before
// every such return, and as its last statement when its end is reachable.
// The analysis is a may-analysis over the control flow (if, for, while,
// break, continue, return): a path counts as dirty if a change on it is not
// followed by the flag. The runtime sandbox enforces the same rule
// dynamically, so code the analysis cannot see (aliases, reflection) is
// still caught when it runs.

// mutators are the method names that change a list, dict or set in place.
var mutators = map[string]bool{
	"append": true, "extend": true, "insert": true, "pop": true, "remove": true,
	"clear": true, "update": true, "setdefault": true, "popitem": true,
	"add": true, "discard": true, "difference_update": true,
	"intersection_update": true, "symmetric_difference_update": true,
}

// isFlag reports whether a is exactly self._p_changed = True.
func isFlag(a *syntax.AssignStmt) bool {
	if a.Op != syntax.EQ {
		return false
	}
	d, ok := a.LHS.(*syntax.DotExpr)
	if !ok || d.Name.Name != "_p_changed" {
		return false
	}
	if id, ok := d.X.(*syntax.Ident); !ok || id.Name != "self" {
		return false
	}
	v, ok := a.RHS.(*syntax.Ident)
	return ok && v.Name == "True"
}

// rootedAtSlot reports whether e denotes self.x or something inside it
// (self.x[k], self.x.y, self.x[i:j], self.x.get(k)), but not self itself.
func rootedAtSlot(e syntax.Expr) bool {
	e = unparen(e)
	switch e := e.(type) {
	case *syntax.DotExpr:
		if id, ok := unparen(e.X).(*syntax.Ident); ok && id.Name == "self" {
			return e.Name.Name != "_p_changed"
		}
		return rootedAtSlot(e.X)
	case *syntax.IndexExpr:
		return rootedAtSlot(e.X)
	case *syntax.SliceExpr:
		return rootedAtSlot(e.X)
	case *syntax.CallExpr:
		// self.d.get(k) and self.d.setdefault(k, []) may return a
		// container inside self.d; self.helper() returns a fresh value.
		if d, ok := unparen(e.Fn).(*syntax.DotExpr); ok {
			return rootedAtSlot(d.X)
		}
	}
	return false
}

// targetChanges reports whether an assignment target writes into self.
func targetChanges(e syntax.Expr) bool {
	e = unparen(e)
	switch e := e.(type) {
	case *syntax.TupleExpr:
		for _, x := range e.List {
			if targetChanges(x) {
				return true
			}
		}
		return false
	case *syntax.ListExpr:
		for _, x := range e.List {
			if targetChanges(x) {
				return true
			}
		}
		return false
	}
	return rootedAtSlot(e)
}

// exprChanges reports whether evaluating e may change self: a mutating
// call on a slot, a comprehension variable rooted at self, or a lambda
// whose body does either.
func exprChanges(e syntax.Node) bool {
	if e == nil {
		return false
	}
	changes := false
	syntax.Walk(e, func(n syntax.Node) bool {
		if changes {
			return false
		}
		switch n := n.(type) {
		case *syntax.CallExpr:
			if d, ok := unparen(n.Fn).(*syntax.DotExpr); ok && mutators[d.Name.Name] && rootedAtSlot(d.X) {
				changes = true
			}
		case *syntax.ForClause:
			if targetChanges(n.Vars) {
				changes = true
			}
		case *syntax.AssignStmt: // inside a nested def
			if !isFlag(n) && targetChanges(n.LHS) {
				changes = true
			}
		case *syntax.ForStmt:
			if targetChanges(n.Vars) {
				changes = true
			}
		}
		return !changes
	})
	return changes
}

// fstate is the abstract state of one program point.
type fstate struct {
	reach bool // some path reaches this point
	dirty bool // on some path, self changed since the last flag
}

func join(a, b fstate) fstate {
	return fstate{reach: a.reach || b.reach, dirty: (a.reach && a.dirty) || (b.reach && b.dirty)}
}

type loopCtx struct{ breaks, continues fstate }

type flow struct {
	c       *checker
	name    string
	loops   []*loopCtx
	changes bool // the function changes self somewhere
}

// covenant checks def (and, recursively, nested defs).
func (c *checker) covenant(def *syntax.DefStmt) {
	fl := &flow{c: c, name: def.Name.Name}
	out := fl.block(def.Body, fstate{reach: true})
	if !fl.changes || !out.reach {
		return
	}
	last, _ := def.Body[len(def.Body)-1].(*syntax.AssignStmt)
	if out.dirty || last == nil || !isFlag(last) {
		c.add(def.Def, RuleCovenant, "%s changes self but its last statement is not self._p_changed = True", def.Name.Name)
	}
}

func (fl *flow) dirty(st fstate) fstate {
	fl.changes = true
	st.dirty = true
	return st
}

func (fl *flow) expr(e syntax.Expr, st fstate) fstate {
	if e != nil && exprChanges(e) {
		return fl.dirty(st)
	}
	return st
}

func (fl *flow) block(ss []syntax.Stmt, st fstate) fstate {
	for _, s := range ss {
		if !st.reach {
			break // unreachable code changes nothing
		}
		st = fl.stmt(s, st)
	}
	return st
}

func (fl *flow) stmt(s syntax.Stmt, st fstate) fstate {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		st = fl.expr(s.RHS, st)
		if isFlag(s) {
			st.dirty = false
			return st
		}
		if targetChanges(s.LHS) || exprChanges(s.LHS) {
			st = fl.dirty(st)
		}
		return st
	case *syntax.ExprStmt:
		return fl.expr(s.X, st)
	case *syntax.ReturnStmt:
		st = fl.expr(s.Result, st)
		if st.dirty {
			fl.c.add(s.Return, RuleCovenant, "return after a change to self without self._p_changed = True")
		}
		return fstate{}
	case *syntax.IfStmt:
		st = fl.expr(s.Cond, st)
		return join(fl.block(s.True, st), fl.block(s.False, st))
	case *syntax.ForStmt:
		st = fl.expr(s.X, st)
		return fl.loop(st, s.Body, func(in fstate) fstate {
			if targetChanges(s.Vars) {
				in = fl.dirty(in)
			}
			return in
		})
	case *syntax.WhileStmt:
		st = fl.expr(s.Cond, st)
		return fl.loop(st, s.Body, func(in fstate) fstate { return fl.expr(s.Cond, in) })
	case *syntax.BranchStmt:
		if len(fl.loops) > 0 {
			l := fl.loops[len(fl.loops)-1]
			switch s.Token {
			case syntax.BREAK:
				l.breaks = join(l.breaks, st)
				return fstate{}
			case syntax.CONTINUE:
				l.continues = join(l.continues, st)
				return fstate{}
			}
		}
		return st // pass
	case *syntax.DefStmt:
		fl.c.covenant(s)
		if exprChanges(s) {
			st = fl.dirty(st)
		}
		return st
	}
	return st
}

// loop computes the state after a loop whose body may run zero or more
// times; head is applied at the start of each iteration.
func (fl *flow) loop(in fstate, body []syntax.Stmt, head func(fstate) fstate) fstate {
	l := &loopCtx{}
	fl.loops = append(fl.loops, l)
	defer func() { fl.loops = fl.loops[:len(fl.loops)-1] }()
	entry := in
	for i := 0; i < 4; i++ { // the lattice has height 2: this converges
		out := fl.block(body, head(entry))
		next := join(in, join(out, l.continues))
		if next == entry {
			break
		}
		entry = next
	}
	return join(entry, l.breaks)
}
