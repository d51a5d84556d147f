//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// asSlack is address space allowed beyond the budget: the Go runtime
// reserves heap arenas 64 MiB at a time and keeps freed address space
// reserved, so a limit of exactly the budget would fail well below it.
const asSlack = 128 << 20

// limitMemory caps the worker's address space at its current size plus
// budget times asFactor plus asSlack (RLIMIT_AS), and sets the Go runtime's soft memory
// limit to budget so the collector works harder before the hard limit.
func limitMemory(budget int64) error {
	size, err := vmSize()
	if err != nil {
		return err
	}
	lim := size + uint64(budget)*asFactor + asSlack
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &cur); err == nil && cur.Max < lim {
		lim = cur.Max // already limited harder: keep that
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
		return fmt.Errorf("setrlimit: %w", err)
	}
	debug.SetMemoryLimit(budget)
	return nil
}

// vmSize returns the process' current virtual memory size in bytes.
func vmSize() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseUint(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmSize in /proc/self/status")
}

// setProcAttr makes the worker die with its parent.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
