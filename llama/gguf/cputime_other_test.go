//go:build !unix

package gguf

import "time"

func processCPU() time.Duration { return 0 }
