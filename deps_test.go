package batos_test

import (
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// corePackages must stay free of cgo and of the edges of the system:
// every package that has a layer.
func corePackages() []string { return slices.Sorted(maps.Keys(layers)) }

const module = "github.com/batos/batos"

type listedPackage struct {
	ImportPath string
	Deps       []string
	CgoFiles   []string
	Imports    []string
	Error      *struct{ Err string }
}

func goList(t *testing.T, env []string, pkgs ...string) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-e", "-json"}, pkgs...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var list []listedPackage
	dec := json.NewDecoder(out)
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		list = append(list, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return list
}

// forbidden reports why a dependency may not appear under a core package.
func forbidden(dep string) string {
	switch {
	case dep == module+"/llama" || strings.HasPrefix(dep, module+"/llama/"):
		return "the llama binding"
	case dep == module+"/bridge":
		return "the zmq bridge"
	case strings.HasPrefix(dep, "github.com/pebbe/zmq4"):
		return "zmq4"
	case strings.HasPrefix(dep, "github.com/ollama/"):
		return "ollama"
	}
	return ""
}

// TestDeps fails if a core package (or anything of ours it imports) reaches
// llama, bridge, zmq4 or ollama, uses cgo itself, or does not build with
// CGO_ENABLED=0.
func TestDeps(t *testing.T) {
	var patterns []string
	for _, p := range corePackages() {
		if _, err := os.Stat(p); err == nil {
			patterns = append(patterns, "./"+p+"/...")
		}
	}
	if len(patterns) == 0 {
		t.Fatal("no core package found")
	}
	for _, p := range goList(t, []string{"CGO_ENABLED=0"}, patterns...) {
		if p.Error != nil {
			t.Errorf("%s does not build with CGO_ENABLED=0: %s", p.ImportPath, p.Error.Err)
		}
		for _, dep := range append(p.Deps, p.ImportPath) {
			if why := forbidden(dep); why != "" {
				t.Errorf("%s depends on %s (%s)", p.ImportPath, dep, why)
			}
		}
	}
	// With cgo enabled, none of our own packages under the core may use it.
	for _, p := range goList(t, nil, append([]string{"-deps"}, patterns...)...) {
		if (p.ImportPath == module || strings.HasPrefix(p.ImportPath, module+"/")) && len(p.CgoFiles) > 0 {
			t.Errorf("%s (a core package or one it imports) uses cgo: %v", p.ImportPath, p.CgoFiles)
		}
	}
}

// TestForbiddenDetects checks that the rule itself catches what it must.
func TestForbiddenDetects(t *testing.T) {
	for _, dep := range []string{module + "/llama", module + "/llama/gguf", module + "/bridge", "github.com/pebbe/zmq4", "github.com/ollama/ollama/llama"} {
		if forbidden(dep) == "" {
			t.Errorf("forbidden(%q) = allowed", dep)
		}
	}
	for _, dep := range []string{module + "/bridge/wire", module + "/object", "github.com/cockroachdb/pebble/v2"} {
		if why := forbidden(dep); why != "" {
			t.Errorf("forbidden(%q) = %q", dep, why)
		}
	}
}

// layers are the core packages and the module packages each may import
// directly (the graph drawn in vm/doc.go): vm's parts never import vm or each
// other, so each can be read, tested and replaced alone.
var layers = map[string][]string{
	"errcode":           {},
	"object":            {"errcode"},
	"object/blobfile":   {"object"},
	"object/objecttest": {"object"},
	"guardian":          {},
	"gbnf":              {},
	"vm/plan":           {"gbnf"},
	"vm/prompt":         {"guardian", "object"},
	"vm/methodspec":     {"gbnf", "guardian", "object"},
	"vm/tiers":          {"object", "object/blobfile"},
	"vm/sandbox":        {"errcode", "guardian", "object"},
	"vm":                {"errcode", "guardian", "object", "object/blobfile", "vm/methodspec", "vm/plan", "vm/prompt", "vm/sandbox", "vm/tiers"},
	"catalog":           {"errcode", "object"},
	"bridge/wire":       {"errcode"},
}

// TestLayers fails when a core package imports one of ours that its layer
// does not allow.
func TestLayers(t *testing.T) {
	var patterns []string
	for p := range layers {
		patterns = append(patterns, "./"+p)
	}
	for _, p := range goList(t, nil, patterns...) {
		name := strings.TrimPrefix(p.ImportPath, module+"/")
		allowed, ok := layers[name]
		if !ok {
			t.Errorf("%s has no layer", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if dep := strings.TrimPrefix(imp, module+"/"); !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s, which its layer does not allow (see vm/doc.go)", name, dep)
			}
		}
	}
}
