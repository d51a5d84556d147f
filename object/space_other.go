//go:build !linux

package object

// osFreeSpace is unknown off Linux: the store does not guard its disk.
var osFreeSpace func(dir string) (int64, error)
