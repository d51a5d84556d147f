package object

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustUpdate(t testing.TB, s *Store, fn func(*Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func TestReadYourWrites(t *testing.T) {
	s := openTest(t, Options{})
	mustUpdate(t, s, func(tx *Tx) error {
		o, err := tx.New(map[string]Value{"a": Int(1)})
		if err != nil {
			return err
		}
		got, err := tx.Get(o.OID)
		if err != nil {
			return err
		}
		if !Equal(got.Slots["a"], Int(1)) {
			return fmt.Errorf("read own write: %v", got.Slots)
		}
		if err := tx.SetKV([]byte("k"), []byte("v")); err != nil {
			return err
		}
		v, err := tx.GetKV([]byte("k"))
		if err != nil || string(v) != "v" {
			return fmt.Errorf("GetKV = %q, %v", v, err)
		}
		n := 0
		if err := tx.ScanKV([]byte("k"), func(k, v []byte) error { n++; return nil }); err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("ScanKV saw %d keys, want 1", n)
		}
		return tx.SetRoot("genesis_obj", o.OID)
	})
	ctx := context.Background()
	err := s.View(ctx, func(tx *Tx) error {
		oid, err := tx.Resolve("genesis_obj")
		if err != nil {
			return err
		}
		if byNum, err := tx.Resolve(oid.String()); err != nil || byNum != oid {
			return fmt.Errorf("Resolve by OID = %d, %v", byNum, err)
		}
		if _, err := tx.Resolve("nope"); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("Resolve(nope) = %v", err)
		}
		if _, err := tx.Resolve("999999"); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("Resolve(999999) = %v", err)
		}
		if err := tx.SetKV([]byte("x"), nil); !errors.Is(err, ErrReadOnly) {
			return fmt.Errorf("write in View = %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRollback(t *testing.T) {
	s := openTest(t, Options{})
	var oid OID
	mustUpdate(t, s, func(tx *Tx) error {
		o, err := tx.New(map[string]Value{"n": Int(0)})
		oid = o.OID
		return err
	})
	boom := errors.New("boom")
	cases := []struct {
		name string
		fn   func(*Tx) error
		want error
	}{
		{"error", func(tx *Tx) error { return boom }, boom},
		{"panic", func(tx *Tx) error { panic("kaboom") }, &PanicError{}},
		{"doom", func(tx *Tx) error { tx.Doom(); return nil }, ErrDoomed},
		{"doom and error", func(tx *Tx) error { tx.Doom(); return boom }, boom},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			committed := false
			err := s.Update(context.Background(), func(tx *Tx) error {
				o, err := tx.Get(oid)
				if err != nil {
					return err
				}
				o.Set("n", Int(99))
				if err := tx.Put(o); err != nil {
					return err
				}
				if _, err := tx.New(map[string]Value{"junk": Bool(true)}); err != nil {
					return err
				}
				tx.OnCommit(func() { committed = true })
				return c.fn(tx)
			})
			var pe *PanicError
			if errors.As(c.want, &pe) {
				if !errors.As(err, &pe) {
					t.Fatalf("got %v, want a PanicError", err)
				}
			} else if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if committed {
				t.Error("OnCommit ran for a rolled-back transaction")
			}
			s.View(context.Background(), func(tx *Tx) error {
				o, err := tx.Get(oid)
				if err != nil {
					t.Fatal(err)
				}
				if !Equal(o.Slots["n"], Int(0)) {
					t.Errorf("rolled-back write is visible: n = %s", Format(o.Slots["n"]))
				}
				return tx.Objects(func(id OID) error {
					if id != oid {
						t.Errorf("rolled-back object %d is visible", id)
					}
					return nil
				})
			})
		})
	}
}

func TestConflict(t *testing.T) {
	var mu sync.Mutex
	var commits []error // OnCommit's reports
	s := openTest(t, Options{OnCommit: func(took time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if took <= 0 && err == nil {
			t.Errorf("a commit took %v", took)
		}
		commits = append(commits, err)
	}})
	var oid OID
	mustUpdate(t, s, func(tx *Tx) error {
		o, err := tx.New(map[string]Value{"n": Int(0)})
		oid = o.OID
		return err
	})
	inside := make(chan struct{})
	proceed := make(chan struct{})
	errc := make(chan error)
	go func() {
		errc <- s.Update(context.Background(), func(tx *Tx) error {
			o, err := tx.Get(oid)
			if err != nil {
				return err
			}
			close(inside)
			<-proceed
			o.Set("n", Int(1))
			return tx.Put(o)
		})
	}()
	<-inside
	mustUpdate(t, s, func(tx *Tx) error {
		o, err := tx.Get(oid)
		if err != nil {
			return err
		}
		o.Set("n", Int(2))
		return tx.Put(o)
	})
	close(proceed)
	if err := <-errc; !errors.Is(err, ErrConflict) {
		t.Fatalf("stale transaction: got %v, want ErrConflict", err)
	}
	s.View(context.Background(), func(tx *Tx) error {
		o, _ := tx.Get(oid)
		if !Equal(o.Slots["n"], Int(2)) {
			t.Errorf("n = %s, want 2 (the conflicting write must not land)", Format(o.Slots["n"]))
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if len(commits) != 3 || commits[0] != nil || commits[1] != nil || !errors.Is(commits[2], ErrConflict) {
		t.Errorf("OnCommit saw %v, want two commits and a conflict", commits)
	}
}

func TestConcurrentCounter(t *testing.T) {
	const goroutines, increments = 16, 1000
	s := openTest(t, Options{Retries: 1 << 20})
	var oid OID
	mustUpdate(t, s, func(tx *Tx) error {
		o, err := tx.New(map[string]Value{"count": Int(0)})
		oid = o.OID
		return err
	})
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		wg.Go(func() {
			for range increments {
				err := s.Update(context.Background(), func(tx *Tx) error {
					o, err := tx.Get(oid)
					if err != nil {
						return err
					}
					o.Set("count", o.Slots["count"].(Int)+1)
					return tx.Put(o)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s.View(context.Background(), func(tx *Tx) error {
		o, err := tx.Get(oid)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.Slots["count"]; !Equal(got, Int(goroutines*increments)) {
			t.Errorf("count = %s, want %d", Format(got), goroutines*increments)
		}
		return nil
	})
}

func TestPersistAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var first OID
	mustUpdate(t, s, func(tx *Tx) error {
		o, err := tx.New(map[string]Value{"v": String("kept")})
		first = o.OID
		if err != nil {
			return err
		}
		return tx.SetRoot("genesis_obj", o.OID)
	})
	s.Close()
	if err := s.Update(context.Background(), func(*Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close = %v", err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustUpdate(t, s, func(tx *Tx) error {
		oid, err := tx.Root("genesis_obj")
		if err != nil || oid != first {
			return fmt.Errorf("root = %d, %v", oid, err)
		}
		o, err := tx.New(nil)
		if err != nil {
			return err
		}
		if o.OID <= first {
			return fmt.Errorf("OID %d reused after reopen (first was %d)", o.OID, first)
		}
		return nil
	})
}

func TestCorruptObjectNamesKey(t *testing.T) {
	s := openTest(t, Options{})
	if err := s.db.Set(objectKey(77), []byte{1, 5}, nil); err != nil {
		t.Fatal(err)
	}
	err := s.View(context.Background(), func(tx *Tx) error {
		_, err := tx.Get(77)
		return err
	})
	var ce *CorruptError
	if !errors.As(err, &ce) || string(ce.Key) != string(objectKey(77)) {
		t.Fatalf("got %v, want a CorruptError naming the key", err)
	}
}

// A blob opened inside a transaction while Close waits neither deadlocks
// nor outlives the store: it fails with ErrClosed and Close completes.
func TestCloseDuringTransaction(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.PutBlob(context.Background(), strings.NewReader("blob"))
	if err != nil {
		t.Fatal(err)
	}
	inside := make(chan struct{})
	closing := make(chan error)
	errc := make(chan error)
	go func() {
		errc <- s.Update(context.Background(), func(tx *Tx) error {
			close(inside)
			<-closing
			for { // wait until Close has begun
				s.closeMu.Lock()
				closed := s.closed
				s.closeMu.Unlock()
				if closed {
					break
				}
				time.Sleep(time.Millisecond)
			}
			_, err := s.OpenBlob(context.Background(), ref.ID)
			return err
		})
	}()
	<-inside
	go func() { closing <- nil; closing <- s.Close() }()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("nested operation during Close: %v, want ErrClosed", err)
	}
	if err := <-closing; err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestScanKVReverse(t *testing.T) {
	s := openTest(t, Options{})
	mustUpdate(t, s, func(tx *Tx) error {
		for _, k := range []string{"log/1", "log/2", "log/3", "other"} {
			if err := tx.SetKV([]byte(k), []byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	stop := errors.New("stop")
	var got []string
	err := s.Update(context.Background(), func(tx *Tx) error {
		if err := tx.SetKV([]byte("log/4"), nil); err != nil { // own write, seen too
			return err
		}
		return tx.ScanKVReverse([]byte("log/"), func(k, _ []byte) error {
			got = append(got, string(k))
			if len(got) == 3 {
				return stop
			}
			return nil
		})
	})
	if !errors.Is(err, stop) || strings.Join(got, ",") != "log/4,log/3,log/2" {
		t.Fatalf("ScanKVReverse = %v, %v", got, err)
	}
}

// Transfers between accounts keep the total; every View and every
// committed read-only Update must see it whole.
func TestConsistentReads(t *testing.T) {
	const accounts, total = 8, 8000
	s := openTest(t, Options{NoSync: true, Retries: 1 << 20})
	var ids []OID
	mustUpdate(t, s, func(tx *Tx) error {
		for range accounts {
			o, err := tx.New(map[string]Value{"balance": Int(total / accounts)})
			if err != nil {
				return err
			}
			ids = append(ids, o.OID)
		}
		return nil
	})
	sum := func(tx *Tx) (int64, error) {
		var n int64
		for _, id := range ids {
			o, err := tx.Get(id)
			if err != nil {
				return 0, err
			}
			n += int64(o.Slots["balance"].(Int))
		}
		return n, nil
	}
	ctx := context.Background()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				from, to := ids[(w+i)%accounts], ids[(w+3*i+1)%accounts]
				if from == to {
					continue
				}
				err := s.Update(ctx, func(tx *Tx) error {
					a, err := tx.Get(from)
					if err != nil {
						return err
					}
					b, err := tx.Get(to)
					if err != nil {
						return err
					}
					a.Set("balance", a.Slots["balance"].(Int)-1)
					b.Set("balance", b.Slots["balance"].(Int)+1)
					if err := tx.Put(a); err != nil {
						return err
					}
					return tx.Put(b)
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	torn := 0
	for i := range 2000 {
		var n int64
		var err error
		if i%2 == 0 {
			err = s.View(ctx, func(tx *Tx) error { n, err = sum(tx); return err })
		} else {
			err = s.Update(ctx, func(tx *Tx) error { n, err = sum(tx); return err })
		}
		if err != nil {
			t.Fatal(err)
		}
		if n != total {
			torn++
		}
	}
	close(done)
	wg.Wait()
	if torn > 0 {
		t.Fatalf("%d of 2000 committed reads saw a torn total", torn)
	}
}

// The object count is kept by commits: creations and deletions count,
// rewrites, deletions of missing objects, rolled back and savepointed-away
// writes do not, and a reopened store counts the same.
func TestObjectCount(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	want := func(n int64) {
		t.Helper()
		if got := s.ObjectCount(); got != n {
			t.Fatalf("ObjectCount = %d, want %d", got, n)
		}
	}
	want(0)
	var a, b OID
	mustUpdate(t, s, func(tx *Tx) error {
		oa, _ := tx.New(map[string]Value{"x": Int(1)})
		ob, _ := tx.New(nil)
		a, b = oa.OID, ob.OID
		tmp, _ := tx.New(nil)
		return tx.Delete(tmp.OID) // created and deleted in one transaction
	})
	want(2)
	mustUpdate(t, s, func(tx *Tx) error {
		o, _ := tx.Get(a)
		o.Set("x", Int(2))
		if err := tx.Put(o); err != nil {
			return err
		}
		sp := tx.Savepoint()
		tx.New(nil)
		tx.Delete(b)
		if err := tx.RollbackTo(sp); err != nil {
			return err
		}
		return tx.Delete(9999) // missing
	})
	want(2)
	errDiscard := errors.New("discard")
	if err := s.Update(context.Background(), func(tx *Tx) error {
		tx.New(nil)
		return errDiscard
	}); !errors.Is(err, errDiscard) {
		t.Fatal(err)
	}
	want(2)
	mustUpdate(t, s, func(tx *Tx) error { return tx.Delete(b) })
	want(1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want(1)
}
