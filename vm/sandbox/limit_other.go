//go:build !linux

package sandbox

import (
	"errors"
	"os/exec"
)

func limitMemory(budget int64) error {
	return errors.New("memory-bounded workers need Linux (RLIMIT_AS); use Options.MaxAllocBytes < 0 to run in process")
}

func setProcAttr(cmd *exec.Cmd) {}
