package llama_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/batos/batos/gbnf"
	"github.com/batos/batos/llama"
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
