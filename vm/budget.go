package vm

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Every prompt of a cycle is assembled within its window: the model's
// context minus the request's output bound minus what the chat format and
// the system prompt take. A prompt is a list of parts in output order.
// Fixed parts (the instruction, the covenant, the selector and arguments)
// must fit, or the cycle fails at once with a ContextError naming the
// context it would need. Foldable parts (the object's description, the
// facets' answers, catalog passages, earlier attempts) render themselves
// within a token limit: in priority order each first gets at most its
// share of what the fixed parts leave, then what the others left over.

// part is one piece of a prompt.
type part struct {
	// Text is a fixed part (Fit nil).
	Text string
	// Fit renders a foldable part within limit tokens (count(text) <=
	// limit) and reports whether it left something out.
	Fit func(limit int) (text string, folded bool)
	// Prio orders the foldable parts: lower first.
	Prio int
	// Share is the fraction (0, 1] of the foldable room the part may take
	// in the first pass; 0 means all of it.
	Share float64
}

func fixed(s string) part { return part{Text: s} }

// errNoRoom says the fixed parts of a prompt need more tokens than the
// window has.
type errNoRoom struct{ need, window int }

func (e *errNoRoom) Error() string {
	return fmt.Sprintf("fixed parts need %d tokens, the window has %d", e.need, e.window)
}

// assemble joins parts within window tokens as count measures them.
func assemble(count func(string) int, window int, parts []part) (string, error) {
	texts := make([]string, len(parts))
	used := 0
	var flex []int
	for i, p := range parts {
		if p.Fit == nil {
			texts[i] = p.Text
			used += count(p.Text)
			continue
		}
		flex = append(flex, i)
	}
	if used > window {
		return "", &errNoRoom{need: used, window: window}
	}
	slices.SortStableFunc(flex, func(a, b int) int { return parts[a].Prio - parts[b].Prio })
	room := window - used
	left := room
	sizes := make([]int, len(parts))
	folded := make([]bool, len(parts))
	for _, i := range flex {
		lim := left
		if s := parts[i].Share; s > 0 && s < 1 {
			lim = min(lim, int(s*float64(room)))
		}
		texts[i], folded[i] = parts[i].Fit(lim)
		sizes[i] = count(texts[i])
		left -= sizes[i]
	}
	// Second pass: what the first left over goes to the parts that were
	// folded, most important first.
	for _, i := range flex {
		if left <= 0 {
			break
		}
		if !folded[i] {
			continue
		}
		t, f := parts[i].Fit(sizes[i] + left)
		n := count(t)
		if n > sizes[i] {
			left -= n - sizes[i]
			texts[i], sizes[i], folded[i] = t, n, f
		}
	}
	return strings.Join(texts, ""), nil
}

// truncateTokens returns s when it fits in limit tokens, else its longest
// prefix (cut at a character boundary) that fits with the marker
// " [... N bytes left out]" appended.
func truncateTokens(s string, limit int, count func(string) int) (string, bool) {
	if limit <= 0 {
		return "", s != ""
	}
	// A prefix of limit tokens is at most maxTokenBytes*limit bytes long
	// in any vocabulary we meet; counting a 1 MiB value whole would cost
	// more than the rest of the prompt.
	const maxTokenBytes = 32
	if len(s) <= maxTokenBytes*limit && count(s) <= limit {
		return s, false
	}
	mark := func(n int) string { return fmt.Sprintf(" [... %d bytes left out]", len(s)-n) }
	lo, hi := 0, min(len(s), maxTokenBytes*limit)
	for lo < hi { // the longest prefix that fits with its marker
		mid := (lo + hi + 1) / 2
		if count(s[:mid]+mark(mid)) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for lo > 0 && lo < len(s) && !utf8.RuneStart(s[lo]) {
		lo--
	}
	if m := s[:lo] + mark(lo); count(m) <= limit {
		return m, true
	}
	return "", true
}

// fitLines returns a Fit that keeps whole lines in order while they fit,
// then says how many were left out with more(n) (which must be short).
// line(i) renders line i of n on demand, so a long list costs only the
// lines that fit.
func fitLines(header string, n int, line func(i int) string, more func(n int) string, count func(string) int) func(int) (string, bool) {
	return func(limit int) (string, bool) {
		if n == 0 {
			return "", false
		}
		var sb strings.Builder
		used := count(header)
		if used > limit {
			return "", true
		}
		sb.WriteString(header)
		// Reserve room for the "left out" line as long as one may follow.
		reserve := count(more(n))
		for i := range n {
			l := line(i)
			k := count(l)
			last := i == n-1
			if (last && used+k <= limit) || used+k+reserve <= limit {
				sb.WriteString(l)
				used += k
				continue
			}
			if m := more(n - i); used+count(m) <= limit {
				sb.WriteString(m)
			}
			return sb.String(), true
		}
		return sb.String(), false
	}
}

// spaced returns fit with a blank line after whatever it renders.
func spaced(fit func(int) (string, bool)) func(int) (string, bool) {
	return func(limit int) (string, bool) {
		t, f := fit(limit - 1)
		if t == "" {
			return "", f
		}
		return t + "\n", f
	}
}

// item is one entry of a list whose body may be cut: Prefix and Suffix
// (usually a newline) are kept whole.
type item struct{ Prefix, Body, Suffix string }

// fitEach returns a Fit for a list of items whose bodies may be cut: each
// gets an equal share of the limit (what one leaves unused goes to the
// next), its body truncated to it; items with no room are left out.
func fitEach(header string, items []item, count func(string) int) func(int) (string, bool) {
	return func(limit int) (string, bool) {
		if len(items) == 0 {
			return "", false
		}
		left := limit - count(header)
		if left <= 0 {
			return "", true
		}
		var sb strings.Builder
		sb.WriteString(header)
		folded := false
		for i, it := range items {
			lim := left / (len(items) - i)
			fix := count(it.Prefix) + count(it.Suffix)
			body, f := truncateTokens(it.Body, lim-fix, count)
			folded = folded || f
			if body == "" && it.Body != "" {
				body = "[left out]" // the prefix (a finding, a persona) may still fit
			}
			t := it.Prefix + body + it.Suffix
			if n := count(t); n <= lim {
				sb.WriteString(t)
				left -= n
			} else {
				folded = true
			}
		}
		return sb.String(), folded
	}
}

// byteCounter budgets a model that does not count its tokens: one token
// per byte (an upper bound for byte-level vocabularies) and a few tokens
// of chat format per message.
type byteCounter struct{ ctx int }

func (b byteCounter) ContextSize() int          { return b.ctx }
func (byteCounter) CountTokens(text string) int { return len(text) }
func (byteCounter) PromptTokens(g Generation) (int, error) {
	n := len(g.System) + 8
	for _, m := range g.Messages {
		n += len(m.Content) + 8
	}
	return n, nil
}

var _ TokenCounter = byteCounter{}

// counter returns the model's TokenCounter, or a byteCounter of
// Options.ContextSize when it has none or does not know its context.
func (v *VM) counter() TokenCounter {
	if tc, ok := v.currentModel().(TokenCounter); ok && tc.ContextSize() > 0 {
		return tc
	}
	return byteCounter{v.opts.ContextSize}
}
