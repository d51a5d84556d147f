package vm_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps vm a core package: no llama, bridge, zmq4 or cgo.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{if .CgoFiles}}cgo{{end}}", "github.com/batos/batos/vm").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		pkg, cgo, _ := strings.Cut(line, " ")
		if strings.Contains(pkg, "batos/llama") || strings.Contains(pkg, "batos/bridge") && !strings.Contains(pkg, "bridge/wire") ||
			strings.Contains(pkg, "zmq4") || pkg == "C" || (cgo == "cgo" && strings.HasPrefix(pkg, "github.com/batos/")) {
			t.Errorf("vm depends on %s", line)
		}
	}
}
