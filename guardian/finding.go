package guardian

import (
	"fmt"
	"strings"

	"go.starlark.net/syntax"
)

// Rule identifiers, used in Finding.Rule and in the testdata corpus.
const (
	RuleSyntax        = "syntax"         // the source does not parse or resolve
	RuleShape         = "shape"          // not exactly one top-level def NAME(self, ...) with the expected name and params
	RuleSize          = "size"           // source or statement count over the policy limit
	RuleNesting       = "nesting"        // block or expression nesting over the policy limit
	RuleCovenant      = "covenant"       // a change to self not followed by self._p_changed = True
	RuleForbiddenAttr = "forbidden-attr" // _slots, a _p_ attribute, or _p_changed used other than as the flag
	RuleLoad          = "load"           // a load statement
	RuleAliasSelf     = "alias-self"     // self used other than as self.attr
	RuleBuiltin       = "builtin"        // a predeclared name outside the allowlist
	RulePython        = "python"         // a Python form Starlark lacks (f-string, try, while, class, import, with, ...), reported beside a syntax finding
)

// Rules lists every rule identifier.
var Rules = []string{RuleSyntax, RuleShape, RuleSize, RuleNesting, RuleCovenant,
	RuleForbiddenAttr, RuleLoad, RuleAliasSelf, RuleBuiltin, RulePython}

// A Finding is one broken rule at one position of the audited source.
type Finding struct {
	Pos     syntax.Position // Line and Col are 1-based; 0 when unknown
	Rule    string          // one of the Rule constants
	Message string
}

// String formats the finding as "line:col: rule: message".
func (f Finding) String() string {
	return fmt.Sprintf("%d:%d: %s: %s", f.Pos.Line, f.Pos.Col, f.Rule, f.Message)
}

// Findings is the error returned by Check: every finding, sorted by
// position. It matches ErrRejected with errors.Is.
type Findings []Finding

// Error lists all findings, one per line.
func (fs Findings) Error() string {
	var b strings.Builder
	b.WriteString("guardian: ")
	if len(fs) == 1 {
		b.WriteString("1 finding")
	} else {
		fmt.Fprintf(&b, "%d findings", len(fs))
	}
	for _, f := range fs {
		b.WriteString("\n\t")
		b.WriteString(f.String())
	}
	return b.String()
}

// Is reports whether target is ErrRejected.
func (fs Findings) Is(target error) bool { return target == ErrRejected }

// Rules returns the distinct rule ids of the findings, in order of first
// appearance.
func (fs Findings) Rules() []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range fs {
		if !seen[f.Rule] {
			seen[f.Rule] = true
			out = append(out, f.Rule)
		}
	}
	return out
}
