package prompt

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Part is one piece of a prompt.
type Part struct {
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

func Fixed(s string) Part { return Part{Text: s} }

// NoRoomError says the fixed parts of a prompt need more tokens than the
// window has.
type NoRoomError struct{ Need, Window int }

func (e *NoRoomError) Error() string {
	return fmt.Sprintf("fixed parts need %d tokens, the window has %d", e.Need, e.Window)
}

// Assemble joins parts within window tokens as count measures them.
func Assemble(count func(string) int, window int, parts []Part) (string, error) {
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
		return "", &NoRoomError{Need: used, Window: window}
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

// Truncate returns s when it fits in limit tokens, else its longest
// prefix (cut at a character boundary) that fits with the marker
// " [... N bytes left out]" appended.
func Truncate(s string, limit int, count func(string) int) (string, bool) {
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

// FitLines returns a Fit that keeps whole lines in order while they fit,
// then says how many were left out with more(n) (which must be short).
// line(i) renders line i of n on demand, so a long list costs only the
// lines that fit.
func FitLines(header string, n int, line func(i int) string, more func(n int) string, count func(string) int) func(int) (string, bool) {
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

// Spaced returns fit with a blank line after whatever it renders.
func Spaced(fit func(int) (string, bool)) func(int) (string, bool) {
	return func(limit int) (string, bool) {
		t, f := fit(limit - 1)
		if t == "" {
			return "", f
		}
		return t + "\n", f
	}
}

// Item is one entry of a list whose body may be cut: Prefix and Suffix
// (usually a newline) are kept whole.
type Item struct{ Prefix, Body, Suffix string }

// FitEach returns a Fit for a list of items whose bodies may be cut: each
// gets an equal share of the limit (what one leaves unused goes to the
// next), its body truncated to it; items with no room are left out.
func FitEach(header string, items []Item, count func(string) int) func(int) (string, bool) {
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
			body, f := Truncate(it.Body, lim-fix, count)
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
