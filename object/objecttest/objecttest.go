// Package objecttest has the helpers tests of every package need around
// an object.Store: open one that is closed when the test ends, read a
// slot, set slots in one transaction. It is for tests only.
package objecttest

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/batos/batos/object"
)

// Open opens a store that lives in memory (no files, no fsync) with the
// options opts otherwise, and closes it when the test ends.
func Open(t testing.TB, opts object.Options) *object.Store {
	t.Helper()
	opts.FS, opts.NoSync = vfs.NewMem(), true
	return open(t, "db", opts)
}

// OpenDir opens a store in a fresh temporary directory (without fsync)
// and closes it when the test ends, for tests that need real files.
func OpenDir(t testing.TB, opts object.Options) *object.Store {
	t.Helper()
	opts.NoSync = true
	return open(t, t.TempDir(), opts)
}

func open(t testing.TB, dir string, opts object.Options) *object.Store {
	t.Helper()
	s, err := object.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Slot returns slot name of the object target (a root name or a decimal
// OID) as committed in s, nil when the object has no such slot; a missing
// object fails the test.
func Slot(t testing.TB, s *object.Store, target, name string) object.Value {
	t.Helper()
	var v object.Value
	err := s.View(context.Background(), func(tx *object.Tx) error {
		o, err := tx.GetTarget(target)
		if err != nil {
			return err
		}
		v = o.Slots[name]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// SetSlots sets slots on the object target (a root name or a decimal OID)
// in one transaction of s: how tests grow an object to thousands of slots
// without a message per slot.
func SetSlots(ctx context.Context, s *object.Store, target string, slots map[string]object.Value) error {
	return s.Update(ctx, func(tx *object.Tx) error {
		o, err := tx.GetTarget(target)
		if err != nil {
			return err
		}
		for k, v := range slots {
			o.Set(k, v)
		}
		return tx.Put(o)
	})
}
