package llama_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/batos/batos/gbnf"
	"github.com/batos/batos/llama"
	"github.com/batos/batos/llama/gguf"
)

// methodGrammar is a grammar for one Starlark method that keeps the
// Persistence Covenant, built with package gbnf (the module's one grammar
// language):
//
//	def <selector>(self[, params...]):
//	    self.<attr> = <expr>        (1 to 4 state changes, then)
//	    self._p_changed = True      (the Persistence Covenant)
//	    return <expr>               (optional)
//
// or a single return. An expression is up to three terms joined by " + ".
func methodGrammar(selector string, params []string) *gbnf.Grammar {
	header := "def " + selector + "(self"
	for _, p := range params {
		header += ", " + p
	}
	header += "):\n"
	g := gbnf.New()
	g.Rule("root", gbnf.Seq{gbnf.Lit(header), gbnf.Ref("body")})
	g.Rule("body", gbnf.Alt{gbnf.Ref("ret"), gbnf.Ref("mutate")})
	g.Rule("mutate", gbnf.Seq{gbnf.Rep{Node: gbnf.Ref("set"), Min: 1, Max: 4}, gbnf.Lit("    self._p_changed = True\n"), gbnf.Opt(gbnf.Ref("ret"))})
	g.Rule("set", gbnf.Seq{gbnf.Lit("    self."), gbnf.Ref("attr"), gbnf.Lit(" = "), gbnf.Ref("expr"), gbnf.Lit("\n")})
	g.Rule("ret", gbnf.Seq{gbnf.Lit("    return "), gbnf.Ref("expr"), gbnf.Lit("\n")})
	g.Rule("expr", gbnf.Seq{gbnf.Ref("term"), gbnf.Rep{Node: gbnf.Seq{gbnf.Lit(" + "), gbnf.Ref("term")}, Min: 0, Max: 2}})
	term := gbnf.Alt{gbnf.Ref("str"), gbnf.Ref("num"), gbnf.Seq{gbnf.Lit("self."), gbnf.Ref("attr")}}
	for _, p := range params {
		term = append(term, gbnf.Lit(p))
	}
	g.Rule("term", term)
	g.Rule("str", gbnf.Seq{gbnf.Lit(`"`), gbnf.Rep{Node: gbnf.Class("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:!?_-"), Min: 0, Max: 24}, gbnf.Lit(`"`)})
	g.Rule("num", gbnf.Alt{gbnf.Lit("0"), gbnf.Seq{gbnf.Class("123456789"), gbnf.Rep{Node: gbnf.Class("0123456789"), Min: 0, Max: 3}}})
	g.Rule("attr", gbnf.Seq{gbnf.Class("abcdefghijklmnopqrstuvwxyz"), gbnf.Rep{Node: gbnf.Class("abcdefghijklmnopqrstuvwxyz0123456789_"), Min: 0, Max: 11}})
	return g
}

func TestMethodGrammar(t *testing.T) {
	m := openTiny(t)
	s := newSession(t, m)
	mg := methodGrammar("display_yourself", nil)
	g := mg.String()
	if err := m.CheckGrammar(g); err != nil {
		t.Fatalf("the method grammar does not parse: %v\n%s", err, g)
	}
	mutating := 0
	for seed := range uint32(6) {
		resp, err := s.Generate(context.Background(), llama.Request{
			Messages:    []llama.Message{{Role: "user", Content: "Teach the object to display itself."}},
			Grammar:     g,
			MaxTokens:   2 * mg.MaxLen(),
			Temperature: 1,
			Seed:        seed,
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Finish != llama.FinishEOG {
			t.Errorf("seed %d: finish %s after %d tokens", seed, resp.Finish, resp.Usage.GeneratedTokens)
		}
		if !strings.HasPrefix(resp.Text, "def display_yourself(self):\n") || !mg.Match(resp.Text) {
			t.Errorf("seed %d: output does not match the grammar:\n%s", seed, resp.Text)
		}
		if len(resp.Text) > mg.MaxLen() {
			t.Errorf("seed %d: %d bytes > bound %d", seed, len(resp.Text), mg.MaxLen())
		}
		if strings.Contains(resp.Text, "_p_changed") {
			if mutating == 0 {
				t.Logf("seed %d:\n%s", seed, resp.Text)
			}
			mutating++
		}
	}
	t.Logf("%d of 6 methods change state", mutating)
}

func TestMethodGrammarParams(t *testing.T) {
	m := openTiny(t)
	g := methodGrammar("greet", []string{"name", "times"}).String()
	if err := m.CheckGrammar(g); err != nil {
		t.Fatalf("%v\n%s", err, g)
	}
	s := newSession(t, m)
	resp, err := s.Generate(context.Background(), llama.Request{Prompt: "x", Grammar: g, MaxTokens: 1000, Temperature: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Text, "def greet(self, name, times):\n") {
		t.Errorf("got %q", resp.Text)
	}
}

const planSchema = `{
  "type": "object",
  "properties": {
    "goal": {"type": "string", "maxLength": 16},
    "steps": {"type": "array", "maxItems": 3, "items": {
      "type": "object",
      "properties": {
        "persona": {"enum": ["BRICK", "ROBIN", "ALFRED", "BABS"]},
        "task": {"type": "string", "maxLength": 12}
      },
      "required": ["persona", "task"],
      "additionalProperties": false
    }}
  },
  "required": ["goal", "steps"],
  "additionalProperties": false
}`

func TestJSONSchemaPlan(t *testing.T) {
	m := openTiny(t)
	s := newSession(t, m)
	for seed := range uint32(5) {
		resp, err := s.Generate(context.Background(), llama.Request{
			Prompt:      "Plan:",
			JSONSchema:  planSchema,
			MaxTokens:   400,
			Temperature: 1,
			Seed:        seed,
		})
		if err != nil {
			t.Fatal(err)
		}
		var plan struct {
			Goal  string `json:"goal"`
			Steps []struct {
				Persona string `json:"persona"`
				Task    string `json:"task"`
			} `json:"steps"`
		}
		dec := json.NewDecoder(strings.NewReader(resp.Text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&plan); err != nil {
			t.Errorf("seed %d (%s): %v\n%s", seed, resp.Finish, err, resp.Text)
			continue
		}
		for _, st := range plan.Steps {
			switch st.Persona {
			case "BRICK", "ROBIN", "ALFRED", "BABS":
			default:
				t.Errorf("seed %d: persona %q", seed, st.Persona)
			}
		}
	}
}

func TestInvalidGrammar(t *testing.T) {
	m := openTiny(t)
	s := newSession(t, m)
	tests := []struct {
		name string
		req  llama.Request
		want error
	}{
		{"undefined rule", llama.Request{Grammar: `root ::= foo`}, llama.ErrGrammar},
		{"no root", llama.Request{Grammar: `start ::= "a"`}, llama.ErrGrammar},
		{"unterminated class", llama.Request{Grammar: `root ::= [a-`}, llama.ErrGrammar},
		{"unterminated string", llama.Request{Grammar: `root ::= "abc`}, llama.ErrGrammar},
		{"not gbnf", llama.Request{Grammar: `this is not a grammar`}, llama.ErrGrammar},
		{"blank", llama.Request{Grammar: "  \n"}, llama.ErrGrammar},
		{"schema not json", llama.Request{JSONSchema: `{"type": "object",`}, llama.ErrSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			tt.req.Prompt = "x"
			tt.req.MaxTokens = 5
			tt.req.OnToken = func(string) error { called = true; return nil }
			if _, err := s.Generate(context.Background(), tt.req); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if called {
				t.Error("tokens were generated")
			}
		})
	}
	// Valid grammars pass the check.
	for _, g := range []string{`root ::= "yes" | "no"`, `root ::= [a-z]+ ("," [a-z]+)*`} {
		if err := m.CheckGrammar(g); err != nil {
			t.Errorf("%q: %v", g, err)
		}
	}
}

func TestSchemaToGrammar(t *testing.T) {
	for _, tt := range []struct {
		schema string
		ok     bool
	}{
		{`{"type": "string"}`, true},
		{planSchema, true},
		{`{"type":`, false},
		{``, false},
	} {
		g, err := llama.SchemaToGrammar(tt.schema)
		if (err == nil) != tt.ok || (tt.ok && !strings.Contains(g, "root ::=")) {
			t.Errorf("%q: grammar %q, err %v", tt.schema, g, err)
		}
	}
}

// TestForcedText checks the text jump-forward decoding reads from the
// grammar's stacks: a literal is forced, an alternative, a class or a
// possible end stops it, and a choice already made forces its rest.
func TestForcedText(t *testing.T) {
	m := openTiny(t)
	method := methodGrammar("display_yourself", nil).String()
	for _, tc := range []struct {
		name, grammar, prefix, want string
	}{
		{"literal then choice", `root ::= "hello world" ("!" | "?")`, "", "hello world"},
		{"after the choice", `root ::= "ab" ("x" "yz" | "w") "end"`, "abx", "yzend"},
		{"other branch", `root ::= "ab" ("x" "yz" | "w") "end"`, "abw", "end"},
		{"shared first char is no choice", `root ::= "k" ("ab" | "ac")`, "", "ka"},
		{"class", `root ::= [a-z] "done"`, "", ""},
		{"class after literal", `root ::= "id=" [0-9]+`, "", "id="},
		{"negated class", `root ::= "q" [^"]`, "", "q"},
		{"end of grammar", `root ::= "abc"`, "abc", ""},
		{"optional tail may end", `root ::= "abc" "def"?`, "abc", ""},
		{"utf-8", `root ::= "é→" [a-z]`, "", "é→"},
		{"method header", method, "", "def display_yourself(self):\n    "},
		{"method covenant", method, "def display_yourself(self):\n    self.x = 1\n    self._", "p_changed = True\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, toks, err := llama.ForcedText(m, tc.grammar, tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("forced %q, want %q", got, tc.want)
			}
			// The tokens spell a proper prefix of the forced text.
			spelled, err := m.Detokenize(toks)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, spelled) || len(toks) > 0 && spelled == got {
				t.Errorf("tokens spell %q, not a proper prefix of %q", spelled, got)
			}
		})
	}
}

// TestJumpForward generates under grammars with jump-forward decoding on
// and off: both outputs must match the grammar, and only the first may
// append forced tokens, in fewer decode calls.
func TestJumpForward(t *testing.T) {
	m := openTiny(t)
	s := newSession(t, m)
	mg := methodGrammar("display_yourself", []string{"depth"})
	for seed := range uint32(4) {
		var text [2]string
		for i, off := range []bool{false, true} {
			resp, err := s.Generate(context.Background(), llama.Request{
				Prompt:        "Teach the object to display itself.",
				Grammar:       mg.String(),
				MaxTokens:     2 * mg.MaxLen(),
				Temperature:   1,
				Seed:          seed,
				NoJumpForward: off,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(resp.Text, "def display_yourself(self, depth):\n") || !mg.Match(resp.Text) {
				t.Errorf("seed %d, jump-forward off %v: output does not match the grammar:\n%s", seed, off, resp.Text)
			}
			f := resp.Usage.ForcedTokens
			switch {
			case off && f != 0:
				t.Errorf("seed %d: %d forced tokens with jump-forward off", seed, f)
			case !off && f < 3:
				t.Errorf("seed %d: %d forced tokens; the header alone forces more", seed, f)
			case f >= resp.Usage.GeneratedTokens:
				t.Errorf("seed %d: %d of %d tokens forced", seed, f, resp.Usage.GeneratedTokens)
			}
			text[i] = resp.Text
		}
		t.Logf("seed %d: on %q\noff %q", seed, text[0], text[1])
	}
	// Without a grammar nothing is forced.
	resp, err := s.Generate(context.Background(), llama.Request{Prompt: "x", MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.ForcedTokens != 0 {
		t.Errorf("%d forced tokens without a grammar", resp.Usage.ForcedTokens)
	}
}

// TestJumpForwardSchema runs the plan schema with jump-forward: the
// JSON keys and punctuation are forced, and the plan still parses.
func TestJumpForwardSchema(t *testing.T) {
	m := openTiny(t)
	s := newSession(t, m)
	forced := 0
	for seed := range uint32(3) {
		resp, err := s.Generate(context.Background(), llama.Request{
			Prompt: "Plan:", JSONSchema: planSchema, MaxTokens: 400, Temperature: 1, Seed: seed,
		})
		if err != nil {
			t.Fatal(err)
		}
		var plan map[string]any
		if err := json.Unmarshal([]byte(resp.Text), &plan); err != nil {
			t.Errorf("seed %d: %v: %s", seed, err, resp.Text)
		}
		forced += resp.Usage.ForcedTokens
	}
	if forced == 0 {
		t.Error("no token forced under the plan schema")
	}
}

// TestGrammarFilterExact checks that filtering the candidates best first,
// until the sampler's top-k are found, samples exactly what filtering the
// whole vocabulary does: the same tokens, greedy and seeded, under the
// method grammar and the plan schema, with some tokens sampled again.
func TestGrammarFilterExact(t *testing.T) {
	t.Run("byte vocabulary", func(t *testing.T) { grammarFilterExact(t, openTiny(t)) })
	// Above 4,096 tokens a refused token's candidates are filtered best
	// first, through a logit threshold; the byte vocabulary is too small.
	t.Run("20k vocabulary", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "vocab20k.gguf")
		o := gguf.TinyLlama()
		o.Vocab = 20000
		if err := gguf.WriteLlama(path, o); err != nil {
			t.Fatal(err)
		}
		m, err := llama.Open(context.Background(), path, llama.ModelOptions{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		grammarFilterExact(t, m)
	})
}

func grammarFilterExact(t *testing.T, m *llama.Model) {
	s := newSession(t, m)
	mg := methodGrammar("display_yourself", []string{"depth"}).String()
	g, err := llama.SchemaToGrammar(planSchema)
	if err != nil {
		t.Fatal(err)
	}
	resampled := 0
	for _, grammar := range []string{"", mg, g} {
		for _, temp := range []float32{0, 1} {
			for seed := range uint32(3) {
				var got [2]llama.Response
				for i, exhaustive := range []bool{false, true} {
					llama.SetGrammarExhaustive(exhaustive)
					r, err := s.Generate(context.Background(), llama.Request{
						Prompt: "Teach the object.", Grammar: grammar, MaxTokens: 200, Temperature: temp, Seed: seed,
					})
					llama.SetGrammarExhaustive(false)
					if err != nil {
						t.Fatal(err)
					}
					got[i] = r
				}
				if !slices.Equal(got[0].Tokens, got[1].Tokens) {
					t.Errorf("temperature %g, seed %d: best-first filtering gave\n%q\nthe whole vocabulary\n%q", temp, seed, got[0].Text, got[1].Text)
				}
				resampled += got[0].Usage.GrammarResampled
			}
		}
	}
	if resampled == 0 {
		t.Error("no token was sampled again: the test compared nothing")
	}
	t.Logf("%d tokens sampled again", resampled)
}

// TestGrammarIndexAdmits checks the sampler's grammar filter, which reads
// the vocabulary decoded once and looks only at tokens whose first
// character some grammar stack admits, against llama.cpp's filter on the
// whole vocabulary, in every state along a prefix: literals, classes,
// negated classes, any character, a possible end (end-of-generation
// admitted), and UTF-8 characters that arrive as byte tokens (a partial
// character pending between them).
func TestGrammarIndexAdmits(t *testing.T) {
	m := openTiny(t)
	plan, err := llama.SchemaToGrammar(planSchema)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, grammar, prefix string
	}{
		{"method", methodGrammar("display_yourself", []string{"depth"}).String(), "def display_yourself(self, depth):\n    self.seen = \"hi there\" + depth + 12\n    self._p_changed = True\n    return self.seen\n"},
		{"plan", plan, `{"goal": "show it", "steps": [{"persona": "BRICK", "task": "plan"}, {"persona": "BA`},
		{"utf8", `root ::= "é" [α-ω]{1,5} [^a-z"]{1,10} "ü"`, "éαβ12ü"},
		{"negated", `root ::= [^"\\]{0,20} "\""`, `ab c`},
		{"any", `root ::= .{1,10} "x"`, "q€rx"},
		{"end", `root ::= ("a" | "b" [0-9]) "c"?`, "b1c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			diff, admitted, err := llama.AdmitDiff(m, tc.grammar, tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if diff != 0 {
				t.Errorf("%d token judgements differ from llama.cpp's filter (%d admitted by it)", diff, admitted)
			}
			if admitted == 0 {
				t.Error("llama.cpp's filter admitted nothing: the test compared nothing")
			}
		})
	}
}
