package object

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
)

// graph builds objects from a spec: name -> slots, where parent slots name
// other objects by "@name". It returns the OIDs by name.
func graph(t *testing.T, tx *Tx, spec map[string]map[string]Value, parents map[string]map[string][]string) map[string]OID {
	t.Helper()
	ids := map[string]OID{}
	for name, slots := range spec {
		o, err := tx.New(slots)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = o.OID
	}
	for name, ps := range parents {
		o, err := tx.Get(ids[name])
		if err != nil {
			t.Fatal(err)
		}
		for slot, targets := range ps {
			if len(targets) == 1 {
				o.Set(slot, Ref(ids[targets[0]]))
				continue
			}
			var l List
			for _, p := range targets {
				l = append(l, Ref(ids[p]))
			}
			o.Set(slot, l)
		}
		if err := tx.Put(o); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func TestLookup(t *testing.T) {
	s := openTest(t, Options{})
	spec := map[string]map[string]Value{
		"root":  {"x": String("root"), "only_root": Int(1)},
		"left":  {"x": String("left")},
		"right": {"x": String("right"), "only_right": Int(2)},
		"child": {"own": Int(3)},
		"cyc1":  {},
		"cyc2":  {"c2": Int(5)},
		"multi": {},
	}
	parents := map[string]map[string][]string{
		"left":  {"parent*": {"root"}},
		"right": {"parent*": {"root"}},
		"child": {"parent*": {"left", "right"}}, // diamond through root
		"cyc1":  {"parent*": {"cyc2"}},
		"cyc2":  {"parent*": {"cyc1"}},
		"multi": {"a_parent*": {"right"}, "b_parent*": {"left"}},
	}
	mustUpdate(t, s, func(tx *Tx) error {
		ids := graph(t, tx, spec, parents)
		cases := []struct {
			from, slot string
			want       Value
			holder     string
		}{
			{"child", "own", Int(3), "child"},
			{"child", "x", String("left"), "left"}, // first parent wins (shadowing)
			{"child", "only_right", Int(2), "right"},
			{"child", "only_root", Int(1), "root"}, // diamond
			{"left", "x", String("left"), "left"},
			{"cyc1", "c2", Int(5), "cyc2"},
			{"multi", "x", String("right"), "right"}, // parent slots in name order
		}
		for _, c := range cases {
			v, holder, err := tx.Lookup(ids[c.from], c.slot)
			if err != nil {
				t.Errorf("%s.%s: %v", c.from, c.slot, err)
				continue
			}
			if !Equal(v, c.want) || holder != ids[c.holder] {
				t.Errorf("%s.%s = %s from %d, want %s from %d", c.from, c.slot, Format(v), holder, Format(c.want), ids[c.holder])
			}
		}
		for _, from := range []string{"cyc1", "child"} {
			_, _, err := tx.Lookup(ids[from], "missing")
			var nu *NotUnderstoodError
			if !errors.Is(err, ErrNotUnderstood) || !errors.As(err, &nu) || nu.OID != ids[from] || nu.Slot != "missing" {
				t.Errorf("%s.missing: got %v, want NotUnderstoodError", from, err)
			}
		}
		return nil
	})
}

// Delegates visits in Lookup's order, each object once, skips a dangling
// parent and stops at its bound.
func TestDelegates(t *testing.T) {
	s := openTest(t, Options{})
	mustUpdate(t, s, func(tx *Tx) error {
		ids := graph(t, tx, map[string]map[string]Value{
			"root": {}, "left": {}, "right": {}, "child": {},
		}, map[string]map[string][]string{
			"left":  {"parent*": {"root"}},
			"right": {"parent*": {"root"}},
			"child": {"parent*": {"left", "right"}},
		})
		names := map[OID]string{}
		for n, id := range ids {
			names[id] = n
		}
		c, err := tx.Get(ids["child"])
		if err != nil {
			return err
		}
		c.Set("z_parent*", Ref(9999)) // dangling
		if err := tx.Put(c); err != nil {
			return err
		}
		for _, tc := range []struct {
			max  int
			want string
		}{{0, "[child left root right]"}, {2, "[child left]"}} {
			var got []string
			if err := tx.Delegates(ids["child"], tc.max, func(o *Object) { got = append(got, names[o.OID]) }); err != nil {
				return err
			}
			if fmt.Sprint(got) != tc.want {
				t.Errorf("max %d: visited %v, want %s", tc.max, got, tc.want)
			}
		}
		if err := tx.Delegates(9998, 0, func(*Object) {}); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing start: %v", err)
		}
		return nil
	})
}

func TestCloneIndependence(t *testing.T) {
	s := openTest(t, Options{})
	mustUpdate(t, s, func(tx *Tx) error {
		target, _ := tx.New(map[string]Value{"name": String("target")})
		orig, err := tx.New(map[string]Value{
			"list":    List{Int(1), Map{"k": Int(2)}},
			"ref":     Ref(target.OID),
			"parent*": Ref(target.OID),
			"m":       &Method{Selector: "m", Findings: []string{"a"}},
		})
		if err != nil {
			return err
		}
		clone, err := tx.Clone(orig.OID)
		if err != nil {
			return err
		}
		if clone.OID == orig.OID {
			t.Fatal("clone has the original's OID")
		}
		clone.Slots["list"].(List)[1].(Map)["k"] = Int(99)
		clone.Slots["m"].(*Method).Findings[0] = "changed"
		if err := tx.Put(clone); err != nil {
			return err
		}
		again, _ := tx.Get(orig.OID)
		if !Equal(again.Slots["list"], List{Int(1), Map{"k": Int(2)}}) {
			t.Errorf("changing the clone changed the original: %s", Format(again.Slots["list"]))
		}
		if again.Slots["m"].(*Method).Findings[0] != "a" {
			t.Error("clone shares the method's findings")
		}
		cl, _ := tx.Get(clone.OID)
		if cl.Slots["ref"] != Ref(target.OID) {
			t.Error("references must be shared, not copied")
		}
		if v, holder, err := tx.Lookup(clone.OID, "name"); err != nil || holder != target.OID || !Equal(v, String("target")) {
			t.Errorf("clone delegation: %v %d %v", v, holder, err)
		}
		return nil
	})
}

func TestObjectString(t *testing.T) {
	o := &Object{OID: 3, Slots: map[string]Value{"parent*": Ref(1), "b": nil}}
	if got, want := o.String(), "<UvmObject oid=3 slots=['b', 'parent*']>"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func ExampleStore_Update() {
	dir, _ := os.MkdirTemp("", "object-example-")
	defer os.RemoveAll(dir)
	s, err := Open(dir, Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ctx := context.Background()
	_ = s.Update(ctx, func(tx *Tx) error {
		traits, _ := tx.New(map[string]Value{"greeting": String("hello")})
		genesis, _ := tx.New(map[string]Value{"parent*": Ref(traits.OID)})
		return tx.SetRoot("genesis_obj", genesis.OID)
	})
	_ = s.View(ctx, func(tx *Tx) error {
		oid, _ := tx.Resolve("genesis_obj")
		v, _, _ := tx.Lookup(oid, "greeting")
		_, _, err := tx.Lookup(oid, "display_yourself")
		fmt.Println(Format(v), errors.Is(err, ErrNotUnderstood))
		return nil
	})
	// Output: "hello" true
}
