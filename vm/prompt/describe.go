package prompt

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
)

// ObjectView is what the prompts say about the object a mission is about:
// its own slots and what it understands through its parents.
type ObjectView struct {
	OID       object.OID
	Own       []Slot
	Inherited []Slot // behaviour (methods, primitives) found on parents, not shadowed
	Relevant  map[string]bool
}

type Slot struct {
	Name  string
	Value object.Value
}

// maxParentWalk bounds the objects visited for inherited behaviour.
const maxParentWalk = 64

// ViewObject reads the object and its parents' behaviour in tx. relevant
// names slots to describe first.
func ViewObject(tx *object.Tx, oid object.OID, relevant map[string]bool) (*ObjectView, error) {
	v := &ObjectView{OID: oid, Relevant: relevant}
	seen := map[string]bool{}
	err := tx.Delegates(oid, maxParentWalk, func(o *object.Object) {
		for _, n := range o.Names() {
			if seen[n] {
				continue
			}
			seen[n] = true
			switch {
			case o.OID == oid:
				v.Own = append(v.Own, Slot{n, o.Slots[n]})
			case isBehaviour(o.Slots[n]):
				v.Inherited = append(v.Inherited, Slot{n, o.Slots[n]})
			}
		}
	})
	return v, err
}

// Describe returns a Fit for the object's description: own slots (the
// relevant ones first, then methods, then data slots), each as its name,
// kind and a folded value preview, then what it understands through its
// parents, within the limit, ending with a line that says how many slots
// were left out.
func (v *ObjectView) Describe(count func(string) int) func(int) (string, bool) {
	own := slices.Clone(v.Own)
	rank := func(s Slot) int {
		switch {
		case v.Relevant[s.Name]:
			return 0
		case isBehaviour(s.Value):
			return 1
		default:
			return 3
		}
	}
	slices.SortStableFunc(own, func(a, b Slot) int { return rank(a) - rank(b) })
	// Entries: the slots in rank order, with the line of inherited
	// behaviour after the relevant slots and the object's own methods.
	type entry struct {
		slot      Slot
		inherited bool
	}
	entries := make([]entry, 0, len(own)+1)
	placed := len(v.Inherited) == 0
	for _, s := range own {
		if !placed && rank(s) > 1 {
			entries = append(entries, entry{inherited: true})
			placed = true
		}
		entries = append(entries, entry{slot: s})
	}
	if !placed {
		entries = append(entries, entry{inherited: true})
	}
	line := func(i int) string {
		if entries[i].inherited {
			return v.inheritedLine()
		}
		return "- " + slotLine(entries[i].slot) + "\n"
	}
	header := fmt.Sprintf("The object %d has %d slots of its own:\n", uint64(v.OID), len(v.Own))
	more := func(n int) string { return fmt.Sprintf("- (%d more entries left out)\n", n) }
	return FitLines(header, len(entries), line, more, count)
}

// inheritedLine lists the behaviour the object has through its parents.
func (v *ObjectView) inheritedLine() string {
	var names []string
	for _, s := range v.Inherited {
		names = append(names, signature(s))
	}
	return "- understood through its parents: " + Bound(strings.Join(names, ", "), 1024) + "\n"
}

func isBehaviour(v object.Value) bool {
	switch v.(type) {
	case *object.Method, object.Primitive:
		return true
	}
	return false
}

// slotLine renders one slot: name (kind): preview, or a method's
// signature.
func slotLine(s Slot) string {
	switch x := s.Value.(type) {
	case *object.Method:
		by := ""
		if x.Author != "" {
			by = " by " + Printable(x.Author, 32)
		}
		return signature(s) + " (method" + by + ")"
	case object.Primitive:
		return signature(s) + " (primitive)"
	}
	return SafeName(s.Name) + " (" + KindName(s.Value) + "): " + Preview(s.Value, 96, 1)
}

// signature renders a behaviour slot as name(params).
func signature(s Slot) string {
	name := SafeName(s.Name)
	if m, ok := s.Value.(*object.Method); ok {
		if p, ok := methodParams(m.Source); ok {
			return name + "(" + Printable(p, 96) + ")"
		}
	}
	return name + "()"
}

// methodParams returns the parameters after self of the first def line of
// a method's source.
func methodParams(src string) (string, bool) {
	line, _, _ := strings.Cut(src, "\n")
	open := strings.IndexByte(line, '(')
	closing := strings.LastIndexByte(line, ')')
	if !strings.HasPrefix(line, "def ") || open < 0 || closing < open {
		return "", false
	}
	params := strings.TrimSpace(line[open+1 : closing])
	params = strings.TrimSpace(strings.TrimPrefix(params, "self"))
	params = strings.TrimSpace(strings.TrimPrefix(params, ","))
	return params, true
}

// KindName names a value's type as a prompt (and the inspector) shows it:
// "str", "reference", "list of 3", ...
func KindName(v object.Value) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case object.Bool:
		return "bool"
	case object.Int:
		return "int"
	case object.Float:
		return "float"
	case object.String:
		return "str"
	case object.Bytes:
		return "bytes"
	case object.Ref:
		return "reference"
	case object.List:
		return fmt.Sprintf("list of %d", len(x))
	case object.Map:
		return fmt.Sprintf("dict of %d", len(x))
	case object.BlobRef:
		return "blob"
	}
	return fmt.Sprintf("%T", v)
}

// Preview renders a value in at most about max bytes: strings cut and
// quoted, lists and maps folded to their first items, nesting below depth
// folded to its kind.
func Preview(v object.Value, max, depth int) string {
	switch x := v.(type) {
	case object.String:
		if len(x) <= max {
			return strconv.Quote(string(x))
		}
		return strconv.Quote(cutUTF8(string(x), max)) + fmt.Sprintf("... (%d bytes)", len(x))
	case object.Bytes:
		return fmt.Sprintf("<%d bytes>", len(x))
	case object.Ref:
		return fmt.Sprintf("<object %d>", uint64(x))
	case object.BlobRef:
		return "<blob>"
	case object.List:
		if depth <= 0 {
			return fmt.Sprintf("[...%d items]", len(x))
		}
		return fold("[", "]", len(x), len(x), max, func(i int) string { return Preview(x[i], max/3, depth-1) })
	case object.Map:
		if depth <= 0 {
			return fmt.Sprintf("{...%d keys}", len(x))
		}
		keys := x.FirstKeys(3)
		return fold("{", "}", len(keys), len(x), max, func(i int) string {
			return strconv.Quote(cutUTF8(keys[i], max/4)) + ": " + Preview(x[keys[i]], max/3, depth-1)
		})
	case *object.Method, object.Primitive:
		return KindName(v)
	}
	return Bound(object.Format(v), max)
}

// fold joins the first of a container's total items (at most 3 of the
// avail that item renders, while they stay within about max bytes) and
// says how many it left out.
func fold(open, closing string, avail, total, max int, Item func(i int) string) string {
	var parts []string
	used, i := 0, 0
	for ; i < avail && i < 3 && used <= max; i++ {
		p := Item(i)
		used += len(p)
		parts = append(parts, p)
	}
	if total > i {
		parts = append(parts, fmt.Sprintf("...%d more", total-i))
	}
	return open + strings.Join(parts, ", ") + closing
}

// SafeName renders a slot name for a prompt: a valid selector (or parent
// slot) as is, anything else quoted and cut.
func SafeName(n string) string {
	if len(n) <= 64 && (guardian.ValidSelector(n) || object.IsParentSlot(n) && guardian.ValidSelector(strings.TrimSuffix(n, "*"))) {
		return n
	}
	return strconv.Quote(cutUTF8(n, 48))
}

// Printable keeps printable text on one line, cut to max bytes.
func Printable(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
	return cutUTF8(s, max)
}

// cutUTF8 returns at most n bytes of s, cut at a character boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Bound cuts s to n bytes (at a rune boundary), noting how many bytes
// were left out.
func Bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + fmt.Sprintf("... [%d bytes more]", len(s)-n)
}
