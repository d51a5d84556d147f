package main

import (
	"time"

	"github.com/batos/batos/vm"
)

// methodAttempts is how many methods ALFRED wrote in the cycle.
func methodAttempts(rec *vm.CycleRecord) int { return len(rec.Methods) }

// budgetTimes are the times the cycle spent assembling each prompt.
func budgetTimes(rec *vm.CycleRecord) []time.Duration {
	var out []time.Duration
	for _, s := range rec.Steps {
		out = append(out, s.Budget)
	}
	return out
}
