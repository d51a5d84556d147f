package object

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Backup writes a consistent copy of the store to dir, which must not
// exist, while the store keeps serving: objects, roots, the key-value
// space (cycle log, method history) and blobs, every transaction
// committed before Backup was called included (the write-ahead log is
// flushed first), none half-applied. Files are hard-linked where the file
// system allows, so a backup on the same file system is cheap and grows
// as the original compacts. Open(dir, ...) opens the copy.
func (s *Store) Backup(ctx context.Context, dir string) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("object: backup to %s: %w", dir, err)
	}
	return nil
}
