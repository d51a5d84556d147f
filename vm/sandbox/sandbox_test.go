package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
	"github.com/batos/batos/vm/sandbox"
)

// world is a store with a three-level prototype chain:
// child -> parent -> grand -> root, plus an unrelated "other" object.
type world struct {
	store                             *object.Store
	root, grand, parent, child, other object.OID
}

func meth(sel, src string) *object.Method { return &object.Method{Selector: sel, Source: src} }

func newWorld(t testing.TB) *world {
	t.Helper()
	s := objecttest.Open(t, object.Options{})
	w := &world{store: s}
	err := s.Update(context.Background(), func(tx *object.Tx) error {
		mk := func(slots map[string]object.Value) object.OID {
			o, err := tx.New(slots)
			if err != nil {
				t.Fatal(err)
			}
			return o.OID
		}
		w.root = mk(map[string]object.Value{
			"inherited": meth("inherited", "def inherited(self, v):\n    self.mark = v\n    self._p_changed = True\n    return self.name\n"),
			"helper":    meth("helper", "def helper(self):\n    return \"helped \" + self.name\n"),
			"prim":      object.Primitive("echo"),
			"shared":    object.List{object.Int(1)},
		})
		w.grand = mk(map[string]object.Value{"parent*": object.Ref(w.root)})
		w.parent = mk(map[string]object.Value{"parent*": object.Ref(w.grand), "name": object.String("parent")})
		w.other = mk(map[string]object.Value{"name": object.String("other"), "count": object.Int(7),
			"bump": meth("bump", "def bump(self):\n    self.count += 1\n    self._p_changed = True\n    return self.count\n")})
		w.child = mk(map[string]object.Value{
			"parent*":    object.Ref(w.parent),
			"name":       object.String("child"),
			"x":          object.Int(1),
			"items":      object.List{object.String("a")},
			"table":      object.Map{"k": object.Int(1)},
			"friend":     object.Ref(w.other),
			"parent_ref": object.Ref(w.parent),
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// call runs m on oid in its own transaction.
func (w *world) call(t testing.TB, r *sandbox.Runner, oid object.OID, m *object.Method, args ...object.Value) (object.Value, error) {
	t.Helper()
	var res object.Value
	err := w.store.Update(context.Background(), func(tx *object.Tx) error {
		var err error
		res, err = r.Call(context.Background(), tx, oid, m, args, nil)
		return err
	})
	return res, err
}

func (w *world) slot(t testing.TB, oid object.OID, name string) object.Value {
	t.Helper()
	return objecttest.Slot(t, w.store, oid.String(), name)
}

// modes runs f with an in-process runner and a worker runner.
func modes(t *testing.T, opts sandbox.Options, f func(t *testing.T, r *sandbox.Runner)) {
	for _, mode := range []struct {
		name string
		mem  int64
	}{{"inprocess", -1}, {"worker", 64 << 20}} {
		t.Run(mode.name, func(t *testing.T) {
			o := opts
			o.MaxAllocBytes = mode.mem
			r := sandbox.New(o)
			t.Cleanup(func() { r.Close() })
			f(t, r)
		})
	}
}

func TestMethods(t *testing.T) {
	type check struct {
		name string
		want object.Value
	}
	cases := []struct {
		name    string
		src     string
		args    []object.Value
		want    object.Value
		wantErr error
		after   []check // slots of child after the call
		other   []check // slots of other after the call
		noAudit bool
	}{
		{name: "getter", src: "def m(self):\n    return self.x\n", want: object.Int(1)},
		{name: "setter", src: "def m(self, v):\n    self.x = v\n    self._p_changed = True\n",
			args: []object.Value{object.Int(5)}, after: []check{{"x", object.Int(5)}}},
		{name: "new slot", src: "def m(self, v):\n    self.fresh = v\n    self._p_changed = True\n",
			args: []object.Value{object.String("s")}, after: []check{{"fresh", object.String("s")}}},
		{name: "append", src: "def m(self, v):\n    self.items.append(v)\n    self._p_changed = True\n    return len(self.items)\n",
			args: []object.Value{object.String("b")}, want: object.Int(2),
			after: []check{{"items", object.List{object.String("a"), object.String("b")}}}},
		{name: "dict item", src: "def m(self, k, v):\n    self.table[k] = v\n    self._p_changed = True\n",
			args:  []object.Value{object.String("z"), object.Float(1.5)},
			after: []check{{"table", object.Map{"k": object.Int(1), "z": object.Float(1.5)}}}},
		{name: "alias mutation flagged", src: "def m(self):\n    l = self.items\n    l.append(\"c\")\n    self._p_changed = True\n",
			after: []check{{"items", object.List{object.String("a"), object.String("c")}}}},
		{name: "alias mutation unflagged", src: "def m(self):\n    l = self.items\n    l.append(\"c\")\n",
			wantErr: sandbox.ErrCovenant, after: []check{{"items", object.List{object.String("a")}}}},
		{name: "change after flag", src: "def m(self):\n    l = self.items\n    self.x = 2\n    self._p_changed = True\n    return l.append(\"c\")\n",
			wantErr: sandbox.ErrCovenant, after: []check{{"x", object.Int(1)}, {"items", object.List{object.String("a")}}}},
		{name: "unflagged (audit off)", noAudit: true, src: "def m(self, v):\n    self.x = v\n",
			args: []object.Value{object.Int(9)}, wantErr: sandbox.ErrCovenant, after: []check{{"x", object.Int(1)}}},
		{name: "restored value is no change", noAudit: true, src: "def m(self):\n    self.x = 2\n    self.x = 1\n",
			wantErr: sandbox.ErrCovenant},
		{name: "inherited through 3 parents", src: "def m(self):\n    return self.inherited(\"hi\")\n",
			want: object.String("child"), after: []check{{"mark", object.String("hi")}}},
		{name: "inherited helper", src: "def m(self):\n    return self.helper()\n", want: object.String("helped child")},
		{name: "inherited data copied on write", src: "def m(self):\n    self.shared.append(2)\n    self._p_changed = True\n",
			after: []check{{"shared", object.List{object.Int(1), object.Int(2)}}}},
		{name: "primitive", src: "def m(self):\n    return self.prim(1, \"two\")\n", want: object.String("echo@child:[1, \"two\"]")},
		{name: "read other object", src: "def m(self):\n    return self.friend.name\n", want: object.String("other")},
		{name: "write other object refused", src: "def m(self):\n    f = self.friend\n    f.count = 1\n", wantErr: sandbox.ErrFailed},
		{name: "other object's method writes it", src: "def m(self):\n    return self.friend.bump()\n", want: object.Int(8),
			other: []check{{"count", object.Int(8)}}},
		{name: "result conversion", src: "def m(self):\n    return {\"l\": [1, 2.5, None, True], \"t\": (b\"x\",), \"me\": self.friend}\n",
			want: object.Map{"l": object.List{object.Int(1), object.Float(2.5), nil, object.Bool(true)},
				"t": object.List{object.Bytes("x")}, "me": object.Ref(0)}}, // Ref fixed below
		{name: "object identity", src: "def m(self):\n    return self.friend == self.friend and self.friend != self.parent_ref\n", want: object.Bool(true)},
		{name: "missing slot", src: "def m(self):\n    return self.nope\n", wantErr: sandbox.ErrFailed},
		{name: "fail()", src: "def m(self):\n    fail(\"boom\")\n", wantErr: sandbox.ErrFailed},
		{name: "self recursion", src: "def m(self):\n    return self.m()\n", wantErr: sandbox.ErrFailed},
		{name: "unstorable result", src: "def m(self):\n    return self.helper\n", wantErr: sandbox.ErrFailed},
		{name: "rejected by audit", src: "def m(self):\n    return self._slots\n", wantErr: guardian.ErrRejected},
		{name: "slots refused at run time", noAudit: true, src: "def m(self):\n    return self._slots\n", wantErr: sandbox.ErrFailed},
		{name: "p_ attribute refused", noAudit: true, src: "def m(self):\n    self._p_jar = 1\n", wantErr: sandbox.ErrFailed},
		{name: "flag False refused", noAudit: true, src: "def m(self):\n    self._p_changed = False\n", wantErr: sandbox.ErrFailed},
		{name: "load refused", noAudit: true, src: "load(\"x.star\", \"y\")\ndef m(self):\n    return 1\n", wantErr: sandbox.ErrRejected},
	}
	for _, audit := range []bool{true, false} {
		opts := sandbox.Options{
			NoAudit: !audit,
			Primitive: func(ctx context.Context, tx *object.Tx, self object.OID, name string, args []object.Value, kwargs map[string]object.Value) (object.Value, error) {
				o, err := tx.Get(self)
				if err != nil {
					return nil, err
				}
				return object.String(fmt.Sprintf("%s@%s:%s", name, o.Slots["name"].(object.String), object.Format(object.List(args)))), nil
			},
		}
		modes(t, opts, func(t *testing.T, r *sandbox.Runner) {
			for _, c := range cases {
				if c.noAudit == audit {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					w := newWorld(t)
					if m, ok := c.want.(object.Map); ok && m["me"] != nil {
						m["me"] = object.Ref(w.other)
					}
					got, err := w.call(t, r, w.child, meth("m", c.src), c.args...)
					if c.wantErr != nil {
						if !errors.Is(err, c.wantErr) {
							t.Fatalf("err = %v, want %v", err, c.wantErr)
						}
					} else if err != nil {
						t.Fatalf("err = %v", err)
					} else if !object.Equal(got, c.want) {
						t.Fatalf("result %s, want %s", object.Format(got), object.Format(c.want))
					}
					for _, ck := range c.other {
						if got := w.slot(t, w.other, ck.name); !object.Equal(got, ck.want) {
							t.Errorf("other slot %s = %s, want %s", ck.name, object.Format(got), object.Format(ck.want))
						}
					}
					for _, ck := range c.after {
						if got := w.slot(t, w.child, ck.name); !object.Equal(got, ck.want) {
							t.Errorf("slot %s = %s, want %s", ck.name, object.Format(got), object.Format(ck.want))
						}
					}
				})
			}
		})
	}
}
