package object

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// Storage faults injected under Pebble (ENOSPC on the write-ahead log's
// writes, EIO on syncs): the failing commit and those after it fail with
// ErrStorage, reads keep being answered, and once the fault clears writes
// resume without a restart, with every acknowledged write kept.
func TestStorageFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(op errorfs.Op) error
	}{
		{"ENOSPC on log writes", func(op errorfs.Op) error {
			if (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileWriteAt) && !strings.HasSuffix(op.Path, ".sst") {
				return syscall.ENOSPC
			}
			return nil
		}},
		{"EIO on sync", func(op errorfs.Op) error {
			switch op.Kind {
			case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
				return syscall.EIO
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var on atomic.Bool
			fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
				if on.Load() {
					return tc.fault(op)
				}
				return nil
			}))
			s, err := Open("db", Options{FS: fs})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			put := func(name string) error {
				return s.Update(ctx, func(tx *Tx) error {
					o, err := tx.New(map[string]Value{"name": String(name)})
					if err != nil {
						return err
					}
					return tx.SetRoot(name, o.OID)
				})
			}
			for i := range 5 {
				if err := put(fmt.Sprint("before", i)); err != nil {
					t.Fatal(err)
				}
			}
			on.Store(true)
			if err := put("during"); !errors.Is(err, ErrStorage) {
				t.Fatalf("commit under the fault: %v", err)
			}
			if err := put("during2"); !errors.Is(err, ErrStorage) {
				t.Fatalf("second commit under the fault: %v", err)
			}
			err = s.View(ctx, func(tx *Tx) error { _, err := tx.Root("before4"); return err })
			if err != nil {
				t.Fatalf("read under the fault: %v", err)
			}
			on.Store(false)
			if err := put("after"); err != nil {
				t.Fatalf("commit after the fault cleared: %v", err)
			}
			err = s.View(ctx, func(tx *Tx) error {
				for _, r := range []string{"before0", "before4", "after"} {
					if _, err := tx.Root(r); err != nil {
						return fmt.Errorf("%s: %w", r, err)
					}
				}
				if _, err := tx.Root("during2"); !errors.Is(err, ErrNotFound) {
					return fmt.Errorf("a write refused after the fault was kept: %v", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := s.ObjectCount(); n < 6 || n > 7 {
				t.Errorf("ObjectCount = %d after the reopen", n)
			}
		})
	}
}

// A write made inside another operation while the storage has failed
// does not wait forever for that operation to let the store reopen: it
// fails with ErrStorage, and a later write heals.
func TestHealInsideAnOperation(t *testing.T) {
	var on atomic.Bool
	fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if on.Load() && (op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData) {
			return syscall.EIO
		}
		return nil
	}))
	s, err := Open("db", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	newObject := func(tx *Tx) error { _, err := tx.New(nil); return err }
	on.Store(true)
	if err := s.Update(ctx, newObject); !errors.Is(err, ErrStorage) {
		t.Fatalf("commit under the fault: %v", err)
	}
	on.Store(false)
	err = s.View(ctx, func(*Tx) error {
		return s.Update(ctx, newObject) // nested: the View holds the store
	})
	if !errors.Is(err, ErrStorage) {
		t.Fatalf("nested write: %v", err)
	}
	if err := s.Update(ctx, newObject); err != nil {
		t.Fatalf("write after the nested one: %v", err)
	}
}
