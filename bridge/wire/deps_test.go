package wire_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDeps enforces the architecture: the wire format is pure Go. It must
// build without cgo and must not import ZeroMQ, the bridge or llama.
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}} {{.Incomplete}}", ".")
	// Without cgo, and without a -race that GOFLAGS may carry (it needs cgo).
	var flags []string
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		if f != "-race" {
			flags = append(flags, f)
		}
	}
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS="+strings.Join(flags, " "))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("go list line %q", line)
		}
		path := f[0]
		switch {
		case path == "C", strings.Contains(path, "zmq"), strings.HasSuffix(path, "/llama"),
			path == "github.com/batos/batos/bridge":
			t.Errorf("wire depends on %s", path)
		case strings.HasPrefix(path, "github.com/batos/batos/") && f[1] != "0":
			t.Errorf("%s has cgo files", path)
		case f[2] != "false":
			t.Errorf("%s is incomplete without cgo", path)
		}
	}
}
