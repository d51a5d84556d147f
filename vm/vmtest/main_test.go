package vmtest_test

import (
	"os"
	"testing"

	"github.com/batos/batos/vm/sandbox"
)

// TestMain lets the test binary serve as the sandbox's worker process.
func TestMain(m *testing.M) {
	sandbox.Worker()
	os.Exit(m.Run())
}
