package llama_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/batos/batos/llama"
)

// methodRE is MethodGrammar("display_yourself", nil) as a regular
// expression.
var methodRE = func() *regexp.Regexp {
	term := `(?:"[a-zA-Z0-9 .,:!?_-]{0,24}"|0|[1-9][0-9]{0,3}|self\.[a-z][a-z0-9_]{0,11})`
	expr := term + `(?: \+ ` + term + `){0,2}`
	set := `    self\.[a-z][a-z0-9_]{0,11} = ` + expr + `\n`
	ret := `    return ` + expr + `\n`
	return regexp.MustCompile(`^def display_yourself\(self\):\n(?:` + ret + `|(?:` + set + `){1,4}    self\._p_changed = True\n(?:` + ret + `)?)$`)
}()

func TestMethodGrammar(t *testing.T) {
	m := openTiny(t)
	s := newSession(t, m)
	g := llama.MethodGrammar("display_yourself", nil)
	if err := m.CheckGrammar(g); err != nil {
		t.Fatalf("MethodGrammar does not parse: %v\n%s", err, g)
	}
	mutating := 0
	for seed := range uint32(6) {
		resp, err := s.Generate(context.Background(), llama.Request{
			Messages:    []llama.Message{{Role: "user", Content: "Teach the object to display itself."}},
			Grammar:     g,
			MaxTokens:   2 * (llama.MethodGrammarMaxBytes + 40),
			Temperature: 1,
			Seed:        seed,
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Finish != llama.FinishEOG {
			t.Errorf("seed %d: finish %s after %d tokens", seed, resp.Finish, resp.Usage.GeneratedTokens)
		}
		if !strings.HasPrefix(resp.Text, "def display_yourself(self):\n") || !methodRE.MatchString(resp.Text) {
			t.Errorf("seed %d: output does not match the grammar:\n%s", seed, resp.Text)
		}
		body := len(resp.Text) - len("def display_yourself(self):\n")
		if body > llama.MethodGrammarMaxBytes {
			t.Errorf("seed %d: body %d bytes > bound %d", seed, body, llama.MethodGrammarMaxBytes)
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
	g := llama.MethodGrammar("greet", []string{"name", "times"})
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
