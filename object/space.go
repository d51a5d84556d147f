package object

import (
	"fmt"
)

// defaultMinFree is the space a store keeps free by default: Pebble
// treats a failed write-ahead log write as fatal, so the store refuses
// commits well before the disk is full instead (as CockroachDB keeps a
// ballast).
const defaultMinFree = 64 << 20

// Space is the store's use of its file system.
type Space struct {
	Used int64 // bytes of the store's files (Pebble's disk space usage)
	Free int64 // bytes available to the store on its file system; -1 if unknown
}

// Space reports the store's size on disk and the free space left.
func (s *Store) Space() (Space, error) {
	if err := s.acquire(); err != nil {
		return Space{}, err
	}
	defer s.release()
	sp := Space{Used: int64(s.db.Metrics().DiskSpaceUsage()), Free: -1}
	if s.opts.FreeSpace != nil {
		free, err := s.opts.FreeSpace(s.dir)
		if err != nil {
			return sp, fmt.Errorf("object: free space: %w", err)
		}
		sp.Free = free
	}
	return sp, nil
}

// checkSpace fails with ErrDiskFull when writing n more bytes would leave
// less than Options.MinFreeBytes free. It asks the file system every time
// (a statfs costs about 2 µs on the dev VM, BenchmarkFreeSpace; a synced
// commit about 0.3 ms), so space freed or taken by anyone is seen at the
// next write.
func (s *Store) checkSpace(n int64) error {
	if s.opts.FreeSpace == nil || s.opts.MinFreeBytes < 0 {
		return nil
	}
	free, err := s.opts.FreeSpace(s.dir)
	if err != nil {
		return fmt.Errorf("object: free space: %w", err)
	}
	if free-n < s.opts.MinFreeBytes {
		return fmt.Errorf("%w: %d bytes free, %d kept in reserve, %d to write", ErrDiskFull, free, s.opts.MinFreeBytes, n)
	}
	return nil
}
