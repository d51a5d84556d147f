package main

import "github.com/batos/batos/vm"

// methodAttempts is how many methods ALFRED wrote in the cycle.
func methodAttempts(rec *vm.CycleRecord) int { return len(rec.Methods) }
