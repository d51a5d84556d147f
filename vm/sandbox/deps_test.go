package sandbox_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps fails if sandbox imports (directly or not) a package that a
// core package must not: llama, bridge, zmq4 or cgo.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.CgoFiles}}", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list unavailable: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, cgo, _ := strings.Cut(line, " ")
		for _, bad := range []string{"github.com/batos/batos/llama", "github.com/batos/batos/bridge", "github.com/pebbe/zmq4"} {
			if path == bad || strings.HasPrefix(path, bad+"/") && !strings.HasPrefix(path, "github.com/batos/batos/bridge/wire") {
				t.Errorf("sandbox depends on %s", path)
			}
		}
		if path == "C" || (strings.HasPrefix(path, "github.com/batos/") && cgo != "[]") {
			t.Errorf("sandbox depends on cgo via %s", path)
		}
	}
}
