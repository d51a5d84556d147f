// Package guardian is the static gate for generated behaviour: it audits
// the Starlark source of a method written by the model before the method is
// installed on an object (the blueprint's PersistenceGuardian).
//
// Check parses the source with go.starlark.net/syntax, resolves it with
// go.starlark.net/resolve, and returns every broken rule as a Finding
// (position, rule id, message). The rules, with their ids:
//
//   - size: the source is over Policy.MaxBytes (checked before parsing, so
//     a huge input costs nothing) or has more than MaxStatements statements.
//   - nesting: block nesting over MaxDepth or expression nesting over
//     MaxExprDepth.
//   - syntax: the source does not parse or resolve in the dialect of
//     FileOptions (no while, no recursion, no top-level control flow, no
//     sets, no del: Starlark has none).
//   - shape: exactly one top-level statement, def NAME(self, ...), NAME
//     equal to Policy.Selector (when set), parameters after self equal to
//     Policy.Params (when non-nil).
//   - covenant: the Persistence Covenant. A function that changes self
//     (assignment, augmented assignment, item/slice/attribute assignment
//     into a slot, a tuple target or loop variable that contains one, or a
//     mutating call such as self.items.append(v)) must execute
//     self._p_changed = True after its last change on every path out of
//     it: before every return that follows a change, and as its last
//     statement when its end is reachable. See covenant.go for the precise
//     definition; the analysis is path-sensitive over if/for/break/continue/
//     return and conservative for lambdas and nested defs.
//   - forbidden-attr: the attribute _slots, any _p_ attribute, and any use of
//     _p_changed other than the statement self._p_changed = True.
//   - load: a load statement.
//   - alias-self: any use of the name self other than self.attr (binding it
//     to another name, passing it, returning it, shadowing it).
//   - builtin: a free name outside Policy.AllowedBuiltins (DefaultBuiltins
//     when nil), which leaves out getattr/hasattr/dir.
//
// The blueprint's Python guardian only looked at top-level assignments and
// compared the last statement through ast.Assign.targets as if it were a
// node (it is a list), so it never accepted anything that changed state;
// this package checks every form of change listed above, and is fuzzed
// (FuzzCheck) with the invariants that it never panics and that whatever it
// accepts compiles as Starlark.
//
// Static analysis cannot see aliases made through values (l = self.items;
// l.append(1)); the runtime sandbox (package vm/sandbox) tracks changes
// dynamically and refuses to commit unflagged ones, so the two together
// enforce the covenant.
//
// # Concurrency
//
// Check is a pure function: safe for concurrent use. Policy values are
// read, never modified. DefaultBuiltins must not be modified.
//
// # Caveats
//
// Positions refer to the source as given (file name "method.star"). A
// finding of rule syntax stops the audit (the tree is not available); a
// nesting finding stops the remaining rules for that source.
package guardian
