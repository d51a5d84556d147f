package methodspec_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/batos/batos/gbnf"
	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/methodspec"
)

// proxySpec wraps an http-like capability held in slot weather.
func proxySpec() methodspec.Spec {
	return methodspec.Spec{
		Selector:  "forecast",
		Params:    []string{"city"},
		Args:      []object.Value{object.String("paris")},
		Slots:     map[string]object.Value{"name": object.String("x")},
		Methods:   map[string]int{"repr": 0},
		ProxyOnly: true,
		Capabilities: []methodspec.Capability{{
			Slot: "weather",
			Params: []methodspec.CapParam{
				{Name: "url", Kind: "str", Prefixes: []string{"http://127.0.0.1:9/"}},
				{Name: "body", Kind: "str", Optional: true},
			},
			Result: "dict",
			Fields: []methodspec.CapParam{{Name: "status", Kind: "num"}, {Name: "body", Kind: "str", JSON: true}, {Name: "type", Kind: "str"}},
		}},
	}
}

func TestProxyGrammar(t *testing.T) {
	spec := proxySpec()
	text := spec.Grammar()
	g, err := gbnf.Parse(text)
	if err != nil {
		t.Fatalf("the grammar does not parse: %v\n%s", err, text)
	}
	want := "def forecast(self, city):\n    result = self.weather.call(url=\"http://127.0.0.1:9/\" + city)\n    return json.decode(result[\"body\"])\n"
	if !g.Match(want) {
		t.Fatalf("the grammar does not admit\n%s\n%s", want, text)
	}
	for _, bad := range []string{
		"def forecast(self, city):\n    result = self.weather.call(url=\"http://evil/\" + city)\n    return result\n",
		"def forecast(self, city):\n    result = self.other.call(url=\"http://127.0.0.1:9/\")\n    return result\n",
		"def forecast(self, city):\n    return self.repr()\n",
		"def forecast(self, city):\n    result = self.weather.call(url=\"http://127.0.0.1:9/\" + city)\n    return json.decode(result[\"type\"])\n",
	} {
		if g.Match(bad) {
			t.Errorf("the grammar admits\n%s", bad)
		}
	}
	pol := guardian.DefaultPolicy(spec.Selector)
	pol.Params = spec.Params
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		src := g.Sample(r)
		if len(src) > spec.MaxTokens() {
			t.Fatalf("sample over MaxTokens: %s", src)
		}
		if err := guardian.Check(src, pol); err != nil {
			t.Fatalf("the guardian refuses a sample: %v\n%s", err, src)
		}
		if !strings.Contains(src, "self.weather.call(url=\"http://127.0.0.1:9/") {
			t.Fatalf("a sample does not call the capability:\n%s", src)
		}
	}
}

// Without ProxyOnly the grammar admits ordinary methods and proxies.
func TestProxyGrammarEither(t *testing.T) {
	spec := proxySpec()
	spec.ProxyOnly = false
	g, err := gbnf.Parse(spec.Grammar())
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		"def forecast(self, city):\n    return self.repr()\n",
		"def forecast(self, city):\n    result = self.weather.call(url=\"http://127.0.0.1:9/\" + city)\n    return result\n",
	} {
		if !g.Match(src) {
			t.Errorf("the grammar does not admit\n%s", src)
		}
	}
}
