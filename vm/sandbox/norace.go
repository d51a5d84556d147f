//go:build !race

package sandbox

// asFactor scales the address-space limit (see race.go).
const asFactor = 1
