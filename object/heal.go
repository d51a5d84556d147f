package object

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// storageFailed records a write the storage refused. Pebble keeps such an
// error and fails every later write with it, so the store must reopen the
// database before it can write again.
func (s *Store) storageFailed(op string, err error) error {
	s.closeMu.Lock()
	if s.failed == nil {
		s.failed = err
	}
	s.closeMu.Unlock()
	s.opts.Logger.Error("object: the storage failed a write; writes are refused until it recovers", "op", op, "err", err.Error())
	return fmt.Errorf("%w: %s: %w", ErrStorage, op, err)
}

// healDrain bounds how long heal waits for running operations.
const healDrain = 2 * time.Second

// probeFile is written and synced by heal to tell whether the storage
// accepts writes again.
const probeFile = "STORAGE-PROBE"

// heal reopens the database after a storage failure, once the storage
// accepts a written and synced probe file: it waits for running
// operations, closes the database (acknowledged writes are in its log)
// and opens it again, rebuilding what the store keeps in memory. While the
// fault lasts it fails at once with ErrStorage and reads go on.
func (s *Store) heal() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.failed == nil || s.closed {
		return nil
	}
	if err := s.probe(); err != nil {
		return fmt.Errorf("%w: %w (since %v)", ErrStorage, err, s.failed)
	}
	s.healing = true
	defer func() {
		s.healing = false
		s.closeCond.Broadcast()
	}()
	// Running operations finish first. The wait is bounded: a write made
	// inside another operation (which cannot finish before it) must not
	// wait forever, and new operations wait while this one does.
	expired := false
	timer := time.AfterFunc(healDrain, func() {
		s.closeMu.Lock()
		expired = true
		s.closeCond.Broadcast()
		s.closeMu.Unlock()
	})
	for s.users > 0 && !expired {
		s.closeCond.Wait()
	}
	timer.Stop()
	if s.users > 0 {
		return fmt.Errorf("%w: %v (recovery waits for %d running operations; retry)", ErrStorage, s.failed, s.users)
	}
	_ = s.db.Close() // reports the failure it kept
	s.objMu.Lock()
	s.objects = nil
	s.objMu.Unlock()
	s.mu.Lock()
	clear(s.lastWrite)
	s.mu.Unlock()
	if err := s.openDB(); err != nil {
		// The database cannot be opened again: nothing can be served.
		s.closed = true
		return fmt.Errorf("%w: reopening after %v: %w", ErrStorage, s.failed, err)
	}
	s.opts.Logger.Info("object: the storage accepts writes again; database reopened", "after", s.failed.Error())
	s.failed = nil
	return nil
}

func (s *Store) probe() error {
	fs := s.opts.FS
	path := fs.PathJoin(s.dir, probeFile)
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	_, werr := f.Write(make([]byte, 4096))
	serr := f.Sync()
	cerr := f.Close()
	_ = fs.Remove(path)
	return errors.Join(werr, serr, cerr)
}
