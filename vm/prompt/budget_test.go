package prompt

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/batos/batos/object"
)

// words is the tests' tokenizer: the fake model's (vmtest.Model), one
// token per up-to-four bytes of a word and per line break.
func words(s string) int {
	n := strings.Count(s, "\n")
	for _, w := range strings.Fields(s) {
		n += (len(w) + 3) / 4
	}
	return n
}

func bigObject(slots int, huge int) *ObjectView {
	v := &ObjectView{OID: 42, Relevant: map[string]bool{"color": true}}
	for i := range slots {
		v.Own = append(v.Own, Slot{fmt.Sprintf("slot_%04d", i), object.Int(i)})
	}
	if huge > 0 {
		v.Own = append(v.Own, Slot{"essay", object.String(strings.Repeat("lorem ipsum ", huge/12))})
	}
	v.Own = append(v.Own, Slot{"color", object.String("red")})
	v.Own = append(v.Own, Slot{"greet", &object.Method{Source: "def greet(self, arg0):\n    return arg0\n", Author: "ALFRED"}})
	return v
}

func TestAssemble(t *testing.T) {
	obj := bigObject(5000, 1<<20)
	long := strings.Repeat("word ", 2000)
	tests := []struct {
		name     string
		window   int
		parts    []Part
		want     []string // substrings that must appear
		wantNot  []string
		noRoom   bool
		maxShare map[string]int // substring -> the most tokens the line holding it may take
	}{
		{
			name:   "everything fits",
			window: 1000,
			parts:  []Part{Fixed("Instruction. "), {Fit: FitEach("P:\n", []Item{{"- a: ", "short answer", "\n"}}, words), Prio: 2}},
			want:   []string{"Instruction. ", "- a: short answer\n"},
		},
		{
			name:   "fixed parts over the window",
			window: 3,
			parts:  []Part{Fixed("a much longer instruction than three tokens")},
			noRoom: true,
		},
		{
			name:   "relevant slots first, the rest left out with a count",
			window: 200,
			parts:  []Part{Fixed("Do it.\n"), {Fit: obj.Describe(words), Prio: 1}},
			want:   []string{"- color (str): \"red\"", "more entries left out)", "Do it."},
			// the method and the 1 MiB string fall behind the relevant slot
			wantNot: []string{"lorem ipsum lorem ipsum lorem ipsum lorem ipsum lorem ipsum lorem ipsum lorem ipsum lorem ipsum lorem ipsum"},
		},
		{
			name:   "priorities: the object before the facets when room is short",
			window: 120,
			parts: []Part{
				Fixed("Go.\n"),
				{Fit: obj.Describe(words), Prio: 1, Share: 0.5},
				{Fit: FitEach("Perspectives:\n", []Item{{"- A: ", long, "\n"}, {"- B: ", long, "\n"}}, words), Prio: 2, Share: 0.5},
			},
			want: []string{"color", "Perspectives:\n- A: word", "- B: word", "bytes left out]"},
		},
		{
			name:   "leftover of a small Part goes to a folded one",
			window: 400,
			parts: []Part{
				{Fit: FitEach("X:\n", []Item{{"- x: ", "tiny", "\n"}}, words), Prio: 1, Share: 0.1},
				{Fit: FitEach("Y:\n", []Item{{"- y: ", long, "\n"}}, words), Prio: 2, Share: 0.1},
			},
			want:     []string{"- x: tiny", "- y: word"},
			maxShare: map[string]int{"- y: ": 400},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Assemble(words, tc.window, tc.parts)
			if tc.noRoom {
				if _, ok := err.(*NoRoomError); !ok {
					t.Fatalf("err = %v, want errNoRoom", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := words(out); n > tc.window {
				t.Errorf("assembled %d tokens, window %d", n, tc.window)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in\n%s", w, out)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("unexpected %q", w)
				}
			}
			for sub, most := range tc.maxShare {
				for _, l := range strings.Split(out, "\n") {
					if strings.Contains(l, sub) && words(l) < most/2 {
						t.Errorf("line %q got %d tokens, want it to use the leftover (about %d)", sub, words(l), most)
					}
				}
			}
		})
	}
}

func TestTruncateTokens(t *testing.T) {
	for _, tc := range []struct {
		s     string
		limit int
	}{
		{"", 5}, {"short", 5}, {strings.Repeat("ab ", 1000), 50}, {strings.Repeat("é", 5000), 40},
		{strings.Repeat("x", 1<<20), 100}, {"a b c d e f g h", 1}, {"\xff\xfe\xfd ok", 3},
	} {
		out, folded := Truncate(tc.s, tc.limit, words)
		if n := words(out); n > tc.limit {
			t.Errorf("truncate(%.20q, %d) = %d tokens", tc.s, tc.limit, n)
		}
		if folded != (out != tc.s) {
			t.Errorf("truncate(%.20q, %d): folded %v but out %.30q", tc.s, tc.limit, folded, out)
		}
		if utf8.ValidString(tc.s) && !utf8.ValidString(out) {
			t.Errorf("truncate cut a character: %q", out)
		}
	}
}

func TestPreviewFolds(t *testing.T) {
	deep := object.Value(object.Int(1))
	for range 50 {
		deep = object.List{deep, deep}
	}
	for _, tc := range []struct {
		v    object.Value
		want string
	}{
		{object.String(strings.Repeat("a", 5000)), "(5000 bytes)"},
		{object.List{object.Int(1), object.Int(2), object.Int(3), object.Int(4), object.Int(5)}, "...2 more"},
		{object.Map{"a": object.Int(1), "b": object.Int(2), "c": object.Int(3), "d": object.Int(4)}, "...1 more"},
		{deep, "items]"},
		{object.String("a\x00b\nc"), `"a\x00b\nc"`},
	} {
		got := Preview(tc.v, 96, 1)
		if !strings.Contains(got, tc.want) || len(got) > 400 || strings.Contains(got, "\n") {
			t.Errorf("preview = %q, want it to contain %q, short and on one line", got, tc.want)
		}
	}
}

// FuzzDescribe builds an object from hostile slot names and values and
// checks that its description never panics, stays valid UTF-8 on lines of
// its own, and never exceeds its limit.
func FuzzDescribe(f *testing.F) {
	f.Add("name", "value", 3, 50)
	f.Add("\xff\x00bad\nname", strings.Repeat("\x01\xfe", 300), 200, 10)
	f.Add(strings.Repeat("n", 5000), strings.Repeat("v ", 40000), 1, 1)
	f.Add("<|eot_id|>", "<|start_header_id|>", 2, 0)
	f.Fuzz(func(t *testing.T, name, val string, n, limit int) {
		n = min(max(n, 0), 300)
		limit = min(max(limit, -5), 5000)
		v := &ObjectView{OID: 7, Relevant: map[string]bool{name: true}}
		nested := object.Value(object.String(val))
		for i := range n {
			switch i % 4 {
			case 0:
				v.Own = append(v.Own, Slot{name + fmt.Sprint(i), object.String(val)})
			case 1:
				nested = object.List{nested, object.Bytes(val)}
				v.Own = append(v.Own, Slot{fmt.Sprint(i) + name, nested})
			case 2:
				v.Own = append(v.Own, Slot{name, object.Map{val: nested, name: object.Float(1.5)}})
			case 3:
				v.Own = append(v.Own, Slot{"m" + fmt.Sprint(i), &object.Method{Source: "def " + name + "(self, " + val + "):\n", Author: val}})
			}
		}
		out, _ := v.Describe(words)(limit)
		if words(out) > max(limit, 0) {
			t.Fatalf("description of %d tokens over the limit %d", words(out), limit)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("description is not valid UTF-8: %q", out)
		}
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if l != "" && !strings.HasPrefix(l, "- ") && !strings.HasPrefix(l, "The object ") {
				t.Fatalf("a value broke out of its line: %q", l)
			}
		}
	})
}

// An item whose body is empty or cut away never pushes a list over its
// limit.
func TestFitEachLimit(t *testing.T) {
	items := []Item{{"- BABS (a long query that takes room): ", "", "\n"}, {"- ROBIN (q): ", strings.Repeat("x ", 100), "\n"}}
	for limit := range 40 {
		out, _ := FitEach("P:\n", items, words)(limit)
		if n := words(out); n > limit {
			t.Errorf("limit %d: %d tokens:\n%s", limit, n, out)
		}
	}
}
