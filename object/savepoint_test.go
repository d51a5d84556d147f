package object

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// spFixture is the committed state every savepoint case starts from, plus
// the OIDs the case creates.
type spFixture struct {
	a, b OID // a: {x: 1}, root "a"; b: {parent*: a}, root "b"
	vars map[string]OID
}

func setupSavepointStore(t *testing.T, s *Store) *spFixture {
	t.Helper()
	f := &spFixture{vars: map[string]OID{}}
	mustUpdate(t, s, func(tx *Tx) error {
		a, err := tx.New(map[string]Value{"x": Int(1)})
		if err != nil {
			return err
		}
		b, err := tx.New(map[string]Value{"parent*": Ref(a.OID)})
		if err != nil {
			return err
		}
		f.a, f.b = a.OID, b.OID
		if err := tx.SetRoot("a", a.OID); err != nil {
			return err
		}
		if err := tx.SetRoot("b", b.OID); err != nil {
			return err
		}
		return tx.SetKV([]byte("k1"), []byte("v1"))
	})
	// Fill the shared cache with the committed objects.
	if err := s.View(context.Background(), func(tx *Tx) error {
		_, err := tx.Get(f.a)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

func setSlot(tx *Tx, oid OID, name string, v Value) error {
	o, err := tx.Get(oid)
	if err != nil {
		return err
	}
	o.Slots[name] = v
	return tx.Put(o)
}

func wantSlot(tx *Tx, oid OID, name string, want Value) error {
	o, err := tx.Get(oid)
	if err != nil {
		return err
	}
	if got, ok := o.Slots[name]; want == nil && ok || want != nil && !Equal(got, want) {
		return fmt.Errorf("OID %d slot %s = %v, want %v", oid, name, got, want)
	}
	return nil
}

func wantGone(tx *Tx, oid OID) error {
	if ok, err := tx.Exists(oid); err != nil || ok {
		return fmt.Errorf("Exists(%d) = %v, %v; want false", oid, ok, err)
	}
	if _, err := tx.Get(oid); !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("Get(%d) = %v, want ErrNotFound", oid, err)
	}
	var seen bool
	if err := tx.Objects(func(o OID) error { seen = seen || o == oid; return nil }); err != nil {
		return err
	}
	if seen {
		return fmt.Errorf("Objects lists rolled-back OID %d", oid)
	}
	return nil
}

func wantRoots(tx *Tx, want map[string]OID) error {
	got, err := tx.Roots()
	if err != nil {
		return err
	}
	if !maps.Equal(got, want) {
		return fmt.Errorf("Roots = %v, want %v", got, want)
	}
	return nil
}

func wantKV(tx *Tx, want map[string]string) error {
	got := map[string]string{}
	var order []string
	if err := tx.ScanKV(nil, func(k, v []byte) error {
		got[string(k)] = string(v)
		order = append(order, string(k))
		return nil
	}); err != nil {
		return err
	}
	if !maps.Equal(got, want) {
		return fmt.Errorf("ScanKV = %v, want %v", got, want)
	}
	var rev []string
	if err := tx.ScanKVReverse(nil, func(k, _ []byte) error { rev = append(rev, string(k)); return nil }); err != nil {
		return err
	}
	slices.Reverse(rev)
	if !slices.Equal(rev, order) {
		return fmt.Errorf("ScanKVReverse = %v, want reverse of %v", rev, order)
	}
	for k, v := range want {
		if got, err := tx.GetKV([]byte(k)); err != nil || string(got) != v {
			return fmt.Errorf("GetKV(%s) = %q, %v; want %q", k, got, err, v)
		}
	}
	return nil
}

func wantNoKV(tx *Tx, keys ...string) error {
	for _, k := range keys {
		if v, err := tx.GetKV([]byte(k)); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("GetKV(%s) = %q, %v; want ErrNotFound", k, v, err)
		}
	}
	return nil
}

func TestSavepointRollback(t *testing.T) {
	base := func(f *spFixture) map[string]OID { return map[string]OID{"a": f.a, "b": f.b} }
	cases := []struct {
		name   string
		before func(tx *Tx, f *spFixture) error // kept
		after  func(tx *Tx, f *spFixture) error // rolled back
		check  func(tx *Tx, f *spFixture) error // inside the tx, after commit and after reopen
	}{{
		name: "slot set after, nothing before",
		before: func(tx *Tx, f *spFixture) error {
			_, err := tx.Get(f.a) // from the shared cache into the tx's
			return err
		},
		after: func(tx *Tx, f *spFixture) error {
			if err := setSlot(tx, f.a, "x", Int(3)); err != nil {
				return err
			}
			return setSlot(tx, f.a, "y", Int(4))
		},
		check: func(tx *Tx, f *spFixture) error {
			if err := wantSlot(tx, f.a, "x", Int(1)); err != nil {
				return err
			}
			if err := wantSlot(tx, f.a, "y", nil); err != nil {
				return err
			}
			if _, _, err := tx.Lookup(f.b, "y"); !errors.Is(err, ErrNotUnderstood) {
				return fmt.Errorf("Lookup of rolled-back slot = %v", err)
			}
			v, holder, err := tx.Lookup(f.b, "x")
			if err != nil || holder != f.a || !Equal(v, Int(1)) {
				return fmt.Errorf("Lookup(b, x) = %v, %d, %v", v, holder, err)
			}
			return nil
		},
	}, {
		name: "slot set before and after",
		before: func(tx *Tx, f *spFixture) error {
			if err := setSlot(tx, f.a, "x", Int(2)); err != nil {
				return err
			}
			return setSlot(tx, f.b, "z", String("kept"))
		},
		after: func(tx *Tx, f *spFixture) error {
			if err := setSlot(tx, f.a, "x", Int(3)); err != nil {
				return err
			}
			if err := setSlot(tx, f.a, "x", Int(4)); err != nil {
				return err
			}
			return setSlot(tx, f.b, "z", String("gone"))
		},
		check: func(tx *Tx, f *spFixture) error {
			if err := wantSlot(tx, f.a, "x", Int(2)); err != nil {
				return err
			}
			if err := wantSlot(tx, f.b, "z", String("kept")); err != nil {
				return err
			}
			v, _, err := tx.Lookup(f.b, "x")
			if err != nil || !Equal(v, Int(2)) {
				return fmt.Errorf("Lookup(b, x) = %v, %v", v, err)
			}
			return nil
		},
	}, {
		name: "new objects and roots",
		before: func(tx *Tx, f *spFixture) error {
			o, err := tx.New(map[string]Value{"n": Int(1)})
			if err != nil {
				return err
			}
			f.vars["kept"] = o.OID
			return tx.SetRoot("kept", o.OID)
		},
		after: func(tx *Tx, f *spFixture) error {
			o, err := tx.New(map[string]Value{"n": Int(2)})
			if err != nil {
				return err
			}
			f.vars["gone"] = o.OID
			if err := setSlot(tx, f.vars["kept"], "next", Ref(o.OID)); err != nil {
				return err
			}
			if err := tx.SetRoot("gone", o.OID); err != nil {
				return err
			}
			return tx.SetRoot("a", o.OID) // overwrite a committed root
		},
		check: func(tx *Tx, f *spFixture) error {
			if err := wantGone(tx, f.vars["gone"]); err != nil {
				return err
			}
			if err := wantSlot(tx, f.vars["kept"], "next", nil); err != nil {
				return err
			}
			if _, err := tx.Root("gone"); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("Root(gone) = %v", err)
			}
			if _, err := tx.Resolve(strconv.FormatUint(uint64(f.vars["gone"]), 10)); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("Resolve(gone OID) = %v", err)
			}
			want := base(f)
			want["kept"] = f.vars["kept"]
			return wantRoots(tx, want)
		},
	}, {
		name: "clones",
		after: func(tx *Tx, f *spFixture) error {
			c, err := tx.Clone(f.a)
			if err != nil {
				return err
			}
			f.vars["clone"] = c.OID
			if err := setSlot(tx, c.OID, "x", Int(9)); err != nil {
				return err
			}
			cc, err := tx.Clone(c.OID)
			if err != nil {
				return err
			}
			f.vars["clone2"] = cc.OID
			return tx.SetRoot("clone", cc.OID)
		},
		check: func(tx *Tx, f *spFixture) error {
			if err := wantGone(tx, f.vars["clone"]); err != nil {
				return err
			}
			if err := wantGone(tx, f.vars["clone2"]); err != nil {
				return err
			}
			if err := wantSlot(tx, f.a, "x", Int(1)); err != nil {
				return err
			}
			return wantRoots(tx, base(f))
		},
	}, {
		name: "deletes",
		before: func(tx *Tx, f *spFixture) error {
			return tx.SetKV([]byte("k2"), []byte("v2"))
		},
		after: func(tx *Tx, f *spFixture) error {
			if err := tx.Delete(f.a); err != nil {
				return err
			}
			if err := tx.DeleteKV([]byte("k1")); err != nil {
				return err
			}
			return tx.DeleteKVPrefix([]byte("k"))
		},
		check: func(tx *Tx, f *spFixture) error {
			if err := wantSlot(tx, f.a, "x", Int(1)); err != nil {
				return err
			}
			if _, err := tx.Resolve("a"); err != nil {
				return err
			}
			return wantKV(tx, map[string]string{"k1": "v1", "k2": "v2"})
		},
	}, {
		name: "raw KV",
		before: func(tx *Tx, f *spFixture) error {
			return tx.SetKV([]byte("k2"), []byte("v2"))
		},
		after: func(tx *Tx, f *spFixture) error {
			for _, kv := range [][2]string{{"k1", "x1"}, {"k2", "x2"}, {"k3", "x3"}, {"a0", "x"}, {"z9", "x"}} {
				if err := tx.SetKV([]byte(kv[0]), []byte(kv[1])); err != nil {
					return err
				}
			}
			return nil
		},
		check: func(tx *Tx, f *spFixture) error {
			if err := wantNoKV(tx, "k3", "a0", "z9"); err != nil {
				return err
			}
			return wantKV(tx, map[string]string{"k1": "v1", "k2": "v2"})
		},
	}, {
		name: "nothing after",
		before: func(tx *Tx, f *spFixture) error {
			return setSlot(tx, f.a, "x", Int(5))
		},
		after: func(tx *Tx, f *spFixture) error {
			_, err := tx.Get(f.b) // reads only
			return err
		},
		check: func(tx *Tx, f *spFixture) error { return wantSlot(tx, f.a, "x", Int(5)) },
	}, {
		name: "read-only after a write",
		before: func(tx *Tx, f *spFixture) error {
			return tx.SetKV([]byte("k2"), []byte("v2"))
		},
		after: func(tx *Tx, f *spFixture) error {
			if err := tx.SetKV([]byte("k2"), []byte("x")); err != nil {
				return err
			}
			return tx.DeleteKV([]byte("k2"))
		},
		check: func(tx *Tx, f *spFixture) error {
			return wantKV(tx, map[string]string{"k1": "v1", "k2": "v2"})
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Options{Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { s.Close() }()
			f := setupSavepointStore(t, s)
			check := func(tx *Tx) error {
				if tc.check == nil {
					return nil
				}
				return tc.check(tx, f)
			}
			mustUpdate(t, s, func(tx *Tx) error {
				if tc.before != nil {
					if err := tc.before(tx, f); err != nil {
						return fmt.Errorf("before: %w", err)
					}
				}
				pending := tx.PendingBytes()
				sp := tx.Savepoint()
				if err := tc.after(tx, f); err != nil {
					return fmt.Errorf("after: %w", err)
				}
				if err := tx.RollbackTo(sp); err != nil {
					return err
				}
				if got := tx.PendingBytes(); got != pending {
					return fmt.Errorf("PendingBytes = %d after rollback, want %d", got, pending)
				}
				if err := check(tx); err != nil {
					return fmt.Errorf("in tx: %w", err)
				}
				// Redo the rolled-back writes and roll back again: sp stays live.
				if err := tc.after(tx, f); err != nil {
					return fmt.Errorf("after again: %w", err)
				}
				if err := tx.RollbackTo(sp); err != nil {
					return err
				}
				return check(tx)
			})
			if err := s.View(context.Background(), check); err != nil {
				t.Fatalf("after commit: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = Open(dir, Options{Logger: discardLogger()}); err != nil {
				t.Fatal(err)
			}
			if err := s.View(context.Background(), check); err != nil {
				t.Fatalf("after reopen: %v", err)
			}
		})
	}
}

func TestSavepointNested(t *testing.T) {
	s := openTest(t, Options{Logger: discardLogger()})
	put := func(tx *Tx, k, v string) error { return tx.SetKV([]byte(k), []byte(v)) }
	mustUpdate(t, s, func(tx *Tx) error {
		if err := put(tx, "k", "0"); err != nil {
			return err
		}
		sp1 := tx.Savepoint()
		if err := put(tx, "k", "1"); err != nil {
			return err
		}
		if err := put(tx, "a", "1"); err != nil {
			return err
		}
		sp2 := tx.Savepoint()
		if err := put(tx, "k", "2"); err != nil {
			return err
		}
		if err := put(tx, "b", "2"); err != nil {
			return err
		}
		sp3 := tx.Savepoint()
		if err := put(tx, "k", "3"); err != nil {
			return err
		}
		if err := put(tx, "c", "3"); err != nil {
			return err
		}
		if err := wantKV(tx, map[string]string{"k": "3", "a": "1", "b": "2", "c": "3"}); err != nil {
			return err
		}
		if err := tx.RollbackTo(sp2); err != nil {
			return err
		}
		if err := wantKV(tx, map[string]string{"k": "1", "a": "1"}); err != nil {
			return err
		}
		if err := tx.RollbackTo(sp3); !errors.Is(err, ErrSavepoint) {
			return fmt.Errorf("RollbackTo(invalidated sp3) = %v", err)
		}
		// sp2 is still live; a new nested savepoint works on top of it.
		if err := put(tx, "d", "4"); err != nil {
			return err
		}
		sp4 := tx.Savepoint()
		if err := put(tx, "k", "4"); err != nil {
			return err
		}
		if err := tx.RollbackTo(sp4); err != nil {
			return err
		}
		if err := wantKV(tx, map[string]string{"k": "1", "a": "1", "d": "4"}); err != nil {
			return err
		}
		if err := tx.RollbackTo(sp2); err != nil {
			return err
		}
		if err := wantKV(tx, map[string]string{"k": "1", "a": "1"}); err != nil {
			return err
		}
		if err := tx.RollbackTo(sp1); err != nil {
			return err
		}
		if err := wantKV(tx, map[string]string{"k": "0"}); err != nil {
			return err
		}
		for _, sp := range []Savepoint{sp2, sp3, sp4} {
			if err := tx.RollbackTo(sp); !errors.Is(err, ErrSavepoint) {
				return fmt.Errorf("RollbackTo(invalidated) = %v", err)
			}
		}
		return put(tx, "e", "5")
	})
	if err := s.View(context.Background(), func(tx *Tx) error {
		return wantKV(tx, map[string]string{"k": "0", "e": "5"})
	}); err != nil {
		t.Fatal(err)
	}
}

func TestSavepointOnCommit(t *testing.T) {
	s := openTest(t, Options{Logger: discardLogger()})
	var ran []int
	mustUpdate(t, s, func(tx *Tx) error {
		tx.OnCommit(func() { ran = append(ran, 1) })
		sp := tx.Savepoint()
		tx.OnCommit(func() { ran = append(ran, 2) })
		inner := tx.Savepoint()
		tx.OnCommit(func() { ran = append(ran, 3) })
		if err := tx.RollbackTo(inner); err != nil {
			return err
		}
		if err := tx.RollbackTo(sp); err != nil {
			return err
		}
		tx.OnCommit(func() { ran = append(ran, 4) })
		return nil
	})
	if !slices.Equal(ran, []int{1, 4}) {
		t.Fatalf("OnCommit ran %v, want [1 4]", ran)
	}
}

func TestSavepointErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{Logger: discardLogger()})
	var foreign Savepoint
	mustUpdate(t, s, func(tx *Tx) error { foreign = tx.Savepoint(); return nil })
	cases := []struct {
		name    string
		view    bool
		fn      func(tx *Tx) error // returns RollbackTo's error
		wantErr error              // nil: no error
		wantTx  error              // what Update/View returns
	}{{
		name:    "zero savepoint",
		fn:      func(tx *Tx) error { return tx.RollbackTo(Savepoint{}) },
		wantErr: ErrSavepoint,
	}, {
		name:    "savepoint of an ended tx",
		fn:      func(tx *Tx) error { return tx.RollbackTo(foreign) },
		wantErr: ErrSavepoint,
	}, {
		name: "savepoint of a concurrent tx",
		fn: func(tx *Tx) error {
			var err error
			if uerr := s.Update(ctx, func(other *Tx) error {
				err = tx.RollbackTo(other.Savepoint())
				return nil
			}); uerr != nil {
				return uerr
			}
			return err
		},
		wantErr: ErrSavepoint,
	}, {
		name: "invalidated",
		fn: func(tx *Tx) error {
			sp := tx.Savepoint()
			later := tx.Savepoint()
			if err := tx.RollbackTo(sp); err != nil {
				return fmt.Errorf("first rollback: %w", err)
			}
			return tx.RollbackTo(later)
		},
		wantErr: ErrSavepoint,
	}, {
		name: "inside a scan",
		fn: func(tx *Tx) error {
			sp := tx.Savepoint()
			if err := tx.SetKV([]byte("k"), []byte("v")); err != nil {
				return err
			}
			var rerr error
			if err := tx.ScanKV(nil, func(_, _ []byte) error { rerr = tx.RollbackTo(sp); return nil }); err != nil {
				return err
			}
			if _, err := tx.GetKV([]byte("k")); err != nil {
				return fmt.Errorf("failed rollback changed the tx: %w", err)
			}
			if err := tx.RollbackTo(sp); err != nil {
				return fmt.Errorf("rollback after the scan: %w", err)
			}
			return rerr
		},
		wantErr: ErrInvalid,
	}, {
		name: "view",
		view: true,
		fn: func(tx *Tx) error {
			sp := tx.Savepoint()
			if _, err := tx.Roots(); err != nil {
				return err
			}
			return tx.RollbackTo(sp)
		},
	}, {
		name: "doomed stays doomed",
		fn: func(tx *Tx) error {
			sp := tx.Savepoint()
			tx.Doom()
			if err := tx.SetKV([]byte("doomed"), []byte("v")); err != nil {
				return err
			}
			return tx.RollbackTo(sp)
		},
		wantTx: ErrDoomed,
	}, {
		name: "after its tx ended",
		fn: func(tx *Tx) error {
			if err := foreign.tx.RollbackTo(foreign); err == nil || errors.Is(err, ErrSavepoint) {
				return fmt.Errorf("RollbackTo on an ended tx = %v", err)
			}
			return nil
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got error
			fn := func(tx *Tx) error { got = tc.fn(tx); return nil }
			run := s.Update
			if tc.view {
				run = s.View
			}
			if err := run(ctx, fn); !errors.Is(err, tc.wantTx) {
				t.Fatalf("transaction returned %v, want %v", err, tc.wantTx)
			}
			if !errors.Is(got, tc.wantErr) {
				t.Fatalf("RollbackTo returned %v, want %v", got, tc.wantErr)
			}
		})
	}
	if err := s.View(ctx, func(tx *Tx) error { return wantNoKV(tx, "doomed", "k") }); err != nil {
		t.Fatal(err)
	}
}

// TestSavepointConflicts documents how a rolled-back transaction validates
// against concurrent commits: rolled-back writes are gone from the write
// set (no conflict, no lost update), reads made after the savepoint stay
// validated.
func TestSavepointConflicts(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		trial   func(tx *Tx) error // between Savepoint and RollbackTo
		then    func(tx *Tx) error // after RollbackTo, before the other commit
		other   string             // key another tx commits after the rollback
		wantErr error
	}{{
		name:  "rolled-back write does not conflict",
		trial: func(tx *Tx) error { return tx.SetKV([]byte("hot"), []byte("trial")) },
		other: "hot",
	}, {
		name: "rolled-back read-modify-write conflicts",
		trial: func(tx *Tx) error {
			if _, err := tx.GetKV([]byte("hot")); !errors.Is(err, ErrNotFound) {
				return err
			}
			return tx.SetKV([]byte("hot"), []byte("trial"))
		},
		other:   "hot",
		wantErr: ErrConflict,
	}, {
		name: "read after savepoint still validated",
		trial: func(tx *Tx) error {
			_, err := tx.GetKV([]byte("cold"))
			if errors.Is(err, ErrNotFound) {
				err = nil
			}
			return err
		},
		other:   "cold",
		wantErr: ErrConflict,
	}, {
		name:  "read after the rollback of a trial write is validated",
		trial: func(tx *Tx) error { return tx.SetKV([]byte("hot"), []byte("trial")) },
		then: func(tx *Tx) error {
			if _, err := tx.GetKV([]byte("hot")); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("GetKV(hot) after rollback = %v", err)
			}
			return nil
		},
		other:   "hot",
		wantErr: ErrConflict,
	}, {
		name:  "unrelated commit",
		trial: func(tx *Tx) error { return tx.SetKV([]byte("hot"), []byte("trial")) },
		other: "elsewhere",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, Options{Logger: discardLogger()})
			err := s.Update(ctx, func(tx *Tx) error {
				if err := tx.SetKV([]byte("kept"), []byte("mine")); err != nil {
					return err
				}
				sp := tx.Savepoint()
				if err := tc.trial(tx); err != nil {
					return err
				}
				if err := tx.RollbackTo(sp); err != nil {
					return err
				}
				if tc.then != nil {
					if err := tc.then(tx); err != nil {
						return err
					}
				}
				return s.Update(ctx, func(o *Tx) error { return o.SetKV([]byte(tc.other), []byte("other")) })
			})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Update = %v, want %v", err, tc.wantErr)
			}
			want := map[string]string{tc.other: "other"}
			if err == nil {
				want["kept"] = "mine"
			}
			if err := s.View(ctx, func(tx *Tx) error { return wantKV(tx, want) }); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSavepointConcurrent runs transactions that keep one increment and
// roll back a trial one, under contention and -race.
func TestSavepointConcurrent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{Logger: discardLogger(), Retries: 1 << 20, NoSync: true})
	var counter OID
	mustUpdate(t, s, func(tx *Tx) error {
		o, err := tx.New(map[string]Value{"n": Int(0)})
		counter = o.OID
		return err
	})
	const goroutines, rounds = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				err := s.Update(ctx, func(tx *Tx) error {
					o, err := tx.Get(counter)
					if err != nil {
						return err
					}
					o.Slots["n"] = o.Slots["n"].(Int) + 1
					if err := tx.Put(o); err != nil {
						return err
					}
					sp := tx.Savepoint()
					o.Slots["n"] = o.Slots["n"].(Int) + 100
					if err := tx.Put(o); err != nil {
						return err
					}
					if _, err := tx.New(map[string]Value{"junk": Int(g)}); err != nil {
						return err
					}
					if err := tx.SetKV(fmt.Appendf(nil, "junk-%d-%d", g, r), []byte("x")); err != nil {
						return err
					}
					return tx.RollbackTo(sp)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := s.View(ctx, func(tx *Tx) error {
		if err := wantSlot(tx, counter, "n", Int(goroutines*rounds)); err != nil {
			return err
		}
		n := 0
		if err := tx.Objects(func(OID) error { n++; return nil }); err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("%d objects, want 1", n)
		}
		return wantKV(tx, map[string]string{})
	}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSavepoint measures Savepoint, ten KV and object writes, and
// RollbackTo inside one transaction, after prefix kept writes (RollbackTo
// rebuilds the batch from them).
func BenchmarkSavepoint(b *testing.B) {
	for _, prefix := range []int{0, 10, 100} {
		b.Run("prefix="+strconv.Itoa(prefix), func(b *testing.B) {
			s := openTest(b, Options{Logger: discardLogger()})
			var oid OID
			mustUpdate(b, s, func(tx *Tx) error {
				o, err := tx.New(map[string]Value{"n": Int(0)})
				oid = o.OID
				return err
			})
			val := make([]byte, 64)
			err := s.Update(context.Background(), func(tx *Tx) error {
				for i := range prefix {
					if err := tx.SetKV(strconv.AppendInt([]byte("p"), int64(i), 10), val); err != nil {
						return err
					}
				}
				o, err := tx.Get(oid)
				if err != nil {
					return err
				}
				keys := make([][]byte, 9)
				for i := range keys {
					keys[i] = strconv.AppendInt([]byte("t"), int64(i), 10)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					sp := tx.Savepoint()
					o.Slots["n"] = Int(i)
					if err := tx.Put(o); err != nil {
						return err
					}
					for _, k := range keys {
						if err := tx.SetKV(k, val); err != nil {
							return err
						}
					}
					if err := tx.RollbackTo(sp); err != nil {
						return err
					}
				}
				b.StopTimer()
				tx.Doom()
				return nil
			})
			if !errors.Is(err, ErrDoomed) {
				b.Fatal(err)
			}
		})
	}
}
