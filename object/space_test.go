package object

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// A nearly full disk refuses commits and blob writes with ErrDiskFull and
// writes nothing; reads keep working; once space is freed, writes resume
// without a restart and nothing acknowledged is lost.
func TestDiskFull(t *testing.T) {
	var free atomic.Int64
	free.Store(1 << 40)
	s := openTest(t, Options{MinFreeBytes: 1 << 20, FreeSpace: func(string) (int64, error) { return free.Load(), nil }})
	ctx := context.Background()
	var first OID
	mustUpdate(t, s, func(tx *Tx) error {
		o, err := tx.New(map[string]Value{"n": Int(1)})
		first = o.OID
		return err
	})
	free.Store(1 << 19) // below the reserve
	err := s.Update(ctx, func(tx *Tx) error {
		o, err := tx.Get(first)
		if err != nil {
			return err
		}
		o.Set("n", Int(2))
		return tx.Put(o)
	})
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("commit on a full disk: %v", err)
	}
	if _, err := s.PutBlob(ctx, bytes.NewReader(make([]byte, 4096))); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("blob on a full disk: %v", err)
	}
	err = s.View(ctx, func(tx *Tx) error {
		o, err := tx.Get(first)
		if err == nil && o.Slots["n"] != Int(1) {
			t.Errorf("the refused commit was applied: n = %v", o.Slots["n"])
		}
		return err
	})
	if err != nil {
		t.Fatalf("read on a full disk: %v", err)
	}
	free.Store(1 << 40)
	mustUpdate(t, s, func(tx *Tx) error {
		o, err := tx.Get(first)
		if err != nil {
			return err
		}
		o.Set("n", Int(3))
		return tx.Put(o)
	})
	if _, err := s.PutBlob(ctx, bytes.NewReader(make([]byte, 4096))); err != nil {
		t.Fatalf("blob after space was freed: %v", err)
	}
	if sp, err := s.Space(); err != nil || sp.Used <= 0 || sp.Free != 1<<40 {
		t.Errorf("Space = %+v, %v", sp, err)
	}
}
