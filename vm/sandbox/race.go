//go:build race

package sandbox

// asFactor scales the address-space limit: under the race detector the
// shadow memory takes several times the heap's address space.
const asFactor = 6
