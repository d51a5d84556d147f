package gbnf

import (
	"slices"
	"strings"
)

// Match reports whether s is a string of the language of rule "root". It
// returns false for a grammar that fails Check.
func (g *Grammar) Match(s string) bool {
	if g.Check() != nil {
		return false
	}
	m := &matcher{g: g, s: s, memo: map[memoKey][]int{}}
	return slices.Contains(m.ends(Ref("root"), 0), len(s))
}

type memoKey struct {
	rule  string
	start int
}

// matcher computes, for a node and a start position, the sorted set of
// positions where a match of the node can end.
type matcher struct {
	g    *Grammar
	s    string
	memo map[memoKey][]int
}

func (m *matcher) ends(n Node, start int) []int {
	switch x := n.(type) {
	case Lit:
		if strings.HasPrefix(m.s[start:], string(x)) {
			return []int{start + len(x)}
		}
		return nil
	case Class:
		if start < len(m.s) && strings.IndexByte(string(x), m.s[start]) >= 0 {
			return []int{start + 1}
		}
		return nil
	case Ref:
		k := memoKey{string(x), start}
		if e, ok := m.memo[k]; ok {
			return e
		}
		e := m.ends(m.g.rules[string(x)], start)
		m.memo[k] = e
		return e
	case Seq:
		cur := []int{start}
		for _, e := range x {
			cur = m.step(e, cur)
			if len(cur) == 0 {
				return nil
			}
		}
		return cur
	case Alt:
		var out []int
		for _, e := range x {
			out = union(out, m.ends(e, start))
		}
		return out
	case Rep:
		var out []int
		cur := []int{start}
		if x.Min == 0 {
			out = cur
		}
		for i := 1; i <= x.Max; i++ {
			next := m.step(x.Node, cur)
			if len(next) == 0 {
				break
			}
			if slices.Equal(next, cur) {
				// a fixpoint: every later count ends here too
				out = union(out, next)
				break
			}
			cur = next
			if i >= x.Min {
				out = union(out, cur)
			}
		}
		return out
	}
	return nil
}

// step returns the end positions of n from every position of starts.
func (m *matcher) step(n Node, starts []int) []int {
	var out []int
	for _, p := range starts {
		out = union(out, m.ends(n, p))
	}
	return out
}

// union merges two sorted sets.
func union(a, b []int) []int {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]int, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}
