package object

import "syscall"

// osFreeSpaceImpl is the space available to an unprivileged user on the file
// system holding dir.
func osFreeSpaceImpl(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// osFreeSpace is FreeSpace for the operating system's file system.
var osFreeSpace = osFreeSpaceImpl
