package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// A backup taken while writers commit holds every write acknowledged
// before it started, opens cleanly, and has the blobs.
func TestBackupUnderWrites(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ref, err := s.PutBlob(ctx, bytes.NewReader(make([]byte, 1<<20)))
	if err != nil {
		t.Fatal(err)
	}
	var acked atomic.Int64 // highest counter value acknowledged, per writer
	var stop atomic.Bool
	var wg sync.WaitGroup
	const writers = 4
	last := make([]atomic.Int64, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(1); !stop.Load(); i++ {
				err := s.Update(ctx, func(tx *Tx) error {
					o, err := tx.New(map[string]Value{"writer": Int(w), "n": Int(i)})
					if err != nil {
						return err
					}
					return tx.SetRoot(rootName(w, i), o.OID)
				})
				if err != nil {
					t.Error(err)
					return
				}
				last[w].Store(i)
				acked.Add(1)
			}
		}()
	}
	for acked.Load() < 200 && !t.Failed() {
		runtime.Gosched()
	}
	before := make([]int64, writers)
	for w := range writers {
		before[w] = last[w].Load()
	}
	dir := filepath.Join(t.TempDir(), "backup")
	if err := s.Backup(ctx, dir); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	if err := s.Backup(ctx, dir); err == nil {
		t.Error("a backup over an existing directory succeeded")
	}

	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.View(ctx, func(tx *Tx) error {
		for w := range writers {
			for i := int64(1); i <= before[w]; i++ {
				oid, err := tx.Root(rootName(w, i))
				if err != nil {
					return err
				}
				o, err := tx.Get(oid)
				if err != nil {
					return err
				}
				if o.Slots["n"] != Int(i) {
					return errors.New("wrong object under a root")
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.OpenBlob(ctx, ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	r.Close()
	if err != nil || n != ref.Size {
		t.Errorf("blob in the backup has %d bytes, want %d", n, ref.Size)
	}
	if c.ObjectCount() < int64(200) {
		t.Errorf("backup counts %d objects", c.ObjectCount())
	}
}

func rootName(w int, i int64) string { return fmt.Sprintf("w%d_%d", w, i) }
