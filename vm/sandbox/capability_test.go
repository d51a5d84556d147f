package sandbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
	"github.com/batos/batos/vm/sandbox"
)

// capWorld is a store where holder holds a capability in its slot tool,
// stranger holds none but refers to holder, and carrier keeps a
// reference to the capability nested in a list.
type capWorld struct {
	store                             *object.Store
	capOID, holder, stranger, carrier object.OID
}

func newCapWorld(t *testing.T) *capWorld {
	t.Helper()
	w := &capWorld{store: objecttest.Open(t, object.Options{})}
	err := w.store.Update(context.Background(), func(tx *object.Tx) error {
		c, err := tx.New(map[string]object.Value{sandbox.CapabilitySlot: object.Primitive(sandbox.CapabilityPrimitive)})
		if err != nil {
			return err
		}
		w.capOID = c.OID
		h, err := tx.New(map[string]object.Value{"tool": object.Ref(c.OID)})
		if err != nil {
			return err
		}
		w.holder = h.OID
		s, err := tx.New(map[string]object.Value{"friend": object.Ref(h.OID)})
		if err != nil {
			return err
		}
		w.stranger = s.OID
		k, err := tx.New(map[string]object.Value{"tools": object.List{object.Ref(c.OID)}, "friend": object.Ref(h.OID)})
		w.carrier = k.OID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *capWorld) call(r *sandbox.Runner, self object.OID, src string, args ...object.Value) (object.Value, error) {
	var res object.Value
	err := w.store.Update(context.Background(), func(tx *object.Tx) error {
		var err error
		res, err = r.Call(context.Background(), tx, self, meth("m", src), args, nil)
		return err
	})
	return res, err
}

func TestCapabilityGrants(t *testing.T) {
	w := newCapWorld(t)
	var calls []sandbox.CapabilityCall
	opts := sandbox.Options{Capability: func(ctx context.Context, tx *object.Tx, c *sandbox.CapabilityCall) (object.Value, error) {
		calls = append(calls, *c)
		if len(c.Args) == 1 && c.Args[0] == object.String("boom") {
			return nil, errBoom
		}
		return object.String("ok"), nil
	}}
	cases := []struct {
		name    string
		self    object.OID
		src     string
		args    []object.Value
		wantErr error // nil: the call succeeds with "ok"
		audit   bool  // the guardian must refuse it
	}{
		{"own slot", w.holder, "def m(self):\n    return self.tool.call(1)\n", nil, nil, false},
		{"own slot through a local", w.holder, "def m(self):\n    t = self.tool\n    return t.call(1)\n", nil, nil, false},
		{"argument", w.stranger, "def m(self, c):\n    return c.call(1)\n", []object.Value{nil}, nil, false},
		{"capability error", w.holder, "def m(self):\n    return self.tool.call(\"boom\")\n", nil, errBoom, false},
		{"through another object", w.stranger, "def m(self):\n    return self.friend.tool.call(1)\n", nil, sandbox.ErrCapability, false},
		{"nested in data", w.carrier, "def m(self):\n    return self.tools[0].call(1)\n", nil, sandbox.ErrCapability, false},
		{"smuggled as an argument", w.carrier, "def m(self):\n    return self.helper(self.friend.tool)\n", nil, sandbox.ErrCapability, false},
		{"computed name", w.holder, "def m(self):\n    return getattr(self, \"to\" + \"ol\").call(1)\n", nil, sandbox.ErrRejected, true},
		{"store a reference it was not given", w.carrier, "def m(self):\n    self.mine = self.friend.tool\n    self._p_changed = True\n    return 1\n", nil, sandbox.ErrCapability, false},
		{"copy out of data", w.carrier, "def m(self):\n    self.mine = self.tools[0]\n    self._p_changed = True\n    return 1\n", nil, sandbox.ErrCapability, false},
	}
	// carrier's helper calls its argument: it was read through another
	// object, so it grants nothing.
	if err := w.store.Update(context.Background(), func(tx *object.Tx) error {
		o, err := tx.Get(w.carrier)
		if err != nil {
			return err
		}
		o.Set("helper", meth("helper", "def helper(self, c):\n    return c.call(1)\n"))
		return tx.Put(o)
	}); err != nil {
		t.Fatal(err)
	}
	modes(t, opts, func(t *testing.T, r *sandbox.Runner) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				args := tc.args
				if len(args) == 1 && args[0] == nil {
					args = []object.Value{object.Ref(w.capOID)}
				}
				calls = nil
				res, err := w.call(r, tc.self, tc.src, args...)
				if tc.wantErr == nil {
					if err != nil || res != object.String("ok") {
						t.Fatalf("got %v, %v; want ok", res, err)
					}
					if len(calls) != 1 || calls[0].Capability != w.capOID || calls[0].N != 1 {
						t.Fatalf("calls %+v", calls)
					}
					return
				}
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr != errBoom && len(calls) != 0 {
					t.Fatalf("refused call ran the capability: %+v", calls)
				}
			})
		}
	})
	if v := objecttest.Slot(t, w.store, w.carrier.String(), "mine"); v != nil {
		t.Fatalf("carrier stored %v", v)
	}
}

var errBoom = errors.New("boom")

func TestCapabilityNotConfigured(t *testing.T) {
	w := newCapWorld(t)
	r := sandbox.New(sandbox.Options{MaxAllocBytes: -1})
	defer r.Close()
	_, err := w.call(r, w.holder, "def m(self):\n    return self.tool.call()\n")
	if !errors.Is(err, sandbox.ErrCapability) || !strings.Contains(err.Error(), "no capabilities") {
		t.Fatalf("err %v", err)
	}
}

func TestJSONModule(t *testing.T) {
	w := newCapWorld(t)
	r := sandbox.New(sandbox.Options{MaxAllocBytes: -1})
	defer r.Close()
	res, err := w.call(r, w.holder, "def m(self, s):\n    return json.decode(s)[\"a\"]\n", object.String(`{"a": [1, "x"]}`))
	if err != nil || !object.Equal(res, object.List{object.Int(1), object.String("x")}) {
		t.Fatalf("got %v, %v", res, err)
	}
}
