package catalog_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDeps fails if the catalog (a core package) depends on llama, bridge,
// zmq4 or cgo.
func TestDeps(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "github.com/batos/batos/catalog", "github.com/batos/batos/catalog/catalogtest")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "C" || strings.Contains(dep, "zmq4") ||
			strings.HasPrefix(dep, "github.com/batos/batos/llama") || strings.HasPrefix(dep, "github.com/batos/batos/bridge") {
			t.Errorf("catalog depends on %s", dep)
		}
	}
}
