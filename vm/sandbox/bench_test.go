package sandbox_test

import (
	"context"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/sandbox"
)

// BenchmarkRawStarlark is the baseline: a precompiled Starlark function
// reading one attribute of a struct, called on a reused thread.
func BenchmarkRawStarlark(b *testing.B) {
	globals, err := starlark.ExecFileOptions(&syntax.FileOptions{}, &starlark.Thread{}, "m.star", "def m(self):\n    return self.x\n", nil)
	if err != nil {
		b.Fatal(err)
	}
	fn := globals["m"]
	self := starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{"x": starlark.MakeInt(1)})
	th := &starlark.Thread{}
	args := starlark.Tuple{self}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := starlark.Call(th, fn, args, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCall measures Runner.Call: a getter, a setter with the flag,
// and a getter found on the root of a 3-parent chain (the Lookup
// included), in process (no memory bound) and in a worker process (the
// memory bound). All calls of one benchmark share one transaction.
func BenchmarkCall(b *testing.B) {
	getter := meth("m", "def m(self):\n    return self.x\n")
	setter := meth("m", "def m(self, v):\n    self.x = v\n    self._p_changed = True\n")
	for _, mode := range []struct {
		name string
		mem  int64
	}{{"inprocess", -1}, {"worker", 256 << 20}} {
		r := sandbox.New(sandbox.Options{MaxAllocBytes: mode.mem})
		w := newWorld(b)
		err := w.store.Update(context.Background(), func(tx *object.Tx) error {
			o, err := tx.Get(w.root)
			if err != nil {
				return err
			}
			o.Set("getx", meth("getx", "def getx(self):\n    return self.x\n"))
			return tx.Put(o)
		})
		if err != nil {
			b.Fatal(err)
		}
		run := func(b *testing.B, body func(ctx context.Context, tx *object.Tx) error) {
			b.ReportAllocs()
			err := w.store.Update(context.Background(), func(tx *object.Tx) error {
				ctx := context.Background()
				if err := body(ctx, tx); err != nil { // warm: worker start, compile
					return err
				}
				for b.Loop() {
					if err := body(ctx, tx); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.Run("getter/"+mode.name, func(b *testing.B) {
			run(b, func(ctx context.Context, tx *object.Tx) error {
				_, err := r.Call(ctx, tx, w.child, getter, nil, nil)
				return err
			})
		})
		arg := []object.Value{object.Int(2)}
		b.Run("setter/"+mode.name, func(b *testing.B) {
			run(b, func(ctx context.Context, tx *object.Tx) error {
				_, err := r.Call(ctx, tx, w.child, setter, arg, nil)
				return err
			})
		})
		b.Run("inherited3/"+mode.name, func(b *testing.B) {
			run(b, func(ctx context.Context, tx *object.Tx) error {
				v, _, err := tx.Lookup(w.child, "getx")
				if err != nil {
					return err
				}
				_, err = r.Call(ctx, tx, w.child, v.(*object.Method), nil, nil)
				return err
			})
		})
		r.Close()
	}
}

// BenchmarkWorkerStart measures starting a worker process, one call on
// it and stopping it: the cost paid again after a call kills its worker.
func BenchmarkWorkerStart(b *testing.B) {
	w := newWorld(b)
	getter := meth("m", "def m(self):\n    return self.x\n")
	for b.Loop() {
		r := sandbox.New(sandbox.Options{Workers: 1})
		if _, err := w.call(b, r, w.child, getter); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}
