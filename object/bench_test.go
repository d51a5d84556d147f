package object

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// BenchmarkCommit measures small synced transactions (one object update)
// against raw Pebble batch commits of the same bytes in the same run.
func BenchmarkCommit(b *testing.B) {
	for _, par := range []int{1, 16} {
		b.Run("store/goroutines="+strconv.Itoa(par), func(b *testing.B) {
			s := openTest(b, Options{Retries: 1 << 20})
			var oids []OID
			mustUpdate(b, s, func(tx *Tx) error {
				for range par {
					o, err := tx.New(map[string]Value{"n": Int(0)})
					if err != nil {
						return err
					}
					oids = append(oids, o.OID)
				}
				return nil
			})
			b.ResetTimer()
			runConcurrent(b, par, func(g int) {
				oid := oids[g]
				{
					err := s.Update(context.Background(), func(tx *Tx) error {
						o, err := tx.Get(oid)
						if err != nil {
							return err
						}
						o.Set("n", o.Slots["n"].(Int)+1)
						return tx.Put(o)
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run("raw-pebble/goroutines="+strconv.Itoa(par), func(b *testing.B) {
			db, err := pebble.Open(b.TempDir(), &pebble.Options{FormatMajorVersion: pebble.FormatNewest, Logger: quietLogger{discardLogger()}})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			val, _ := AppendObject(nil, &Object{OID: 1, Slots: map[string]Value{"n": Int(12345)}})
			b.ResetTimer()
			runConcurrent(b, par, func(g int) {
				key := objectKey(OID(g + 1))
				{
					batch := db.NewBatch()
					batch.Set(key, val, nil)
					if err := batch.Commit(pebble.Sync); err != nil {
						b.Error(err)
					}
					batch.Close()
				}
			})
		})
	}
}

// BenchmarkLookup3Parents looks a slot up through a chain of three parents.
func BenchmarkLookup3Parents(b *testing.B) {
	s := openTest(b, Options{})
	var leaf OID
	mustUpdate(b, s, func(tx *Tx) error {
		top, _ := tx.New(map[string]Value{"greet": String("hi")})
		mid, _ := tx.New(map[string]Value{"parent*": Ref(top.OID), "m": Int(1)})
		low, _ := tx.New(map[string]Value{"parent*": Ref(mid.OID), "l": Int(2)})
		o, err := tx.New(map[string]Value{"parent*": Ref(low.OID)})
		leaf = o.OID
		return err
	})
	b.Run("fresh-tx-per-lookup", func(b *testing.B) {
		for b.Loop() {
			s.View(context.Background(), func(tx *Tx) error {
				_, _, err := tx.Lookup(leaf, "greet")
				return err
			})
		}
	})
	b.Run("within-one-tx", func(b *testing.B) {
		s.View(context.Background(), func(tx *Tx) error {
			for b.Loop() {
				if _, _, err := tx.Lookup(leaf, "greet"); err != nil {
					b.Fatal(err)
				}
			}
			return nil
		})
	})
}

// BenchmarkBlob writes and reads a 256 MiB blob, against copying the same
// bytes into and out of a plain file (fsynced) in the same run.
func BenchmarkBlob(b *testing.B) {
	const size = 256 << 20
	b.Run("store-write", func(b *testing.B) {
		s := openTest(b, Options{})
		b.SetBytes(size)
		for b.Loop() {
			if _, err := s.PutBlob(context.Background(), newPRNG(3, size)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store-read", func(b *testing.B) {
		s := openTest(b, Options{})
		ref, err := s.PutBlob(context.Background(), newPRNG(3, size))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		for b.Loop() {
			r, _ := s.OpenBlob(context.Background(), ref.ID)
			if _, err := io.Copy(io.Discard, r); err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
	})
	b.Run("file-write", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "f")
		b.SetBytes(size)
		for b.Loop() {
			f, _ := os.Create(path)
			io.Copy(f, newPRNG(3, size))
			f.Sync()
			f.Close()
		}
	})
	b.Run("file-read", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "f")
		f, _ := os.Create(path)
		io.Copy(f, newPRNG(3, size))
		f.Close()
		b.SetBytes(size)
		for b.Loop() {
			f, _ := os.Open(path)
			io.Copy(io.Discard, f)
			f.Close()
		}
	})
}

// runConcurrent runs b.N calls of fn spread over exactly par goroutines
// (fn receives the goroutine's index).
func runConcurrent(b *testing.B, par int, fn func(g int)) {
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	for g := range par {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				fn(g)
			}
		})
	}
	wg.Wait()
}

// BenchmarkFreeSpace is the statfs every commit pays for the disk
// reserve (compare BenchmarkCommit).
func BenchmarkFreeSpace(b *testing.B) {
	if osFreeSpace == nil {
		b.Skip("no free-space check off Linux")
	}
	dir := b.TempDir()
	for b.Loop() {
		if _, err := osFreeSpace(dir); err != nil {
			b.Fatal(err)
		}
	}
}
