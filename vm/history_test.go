package vm_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
)

const (
	greetV1  = "def greet(self):\n    return \"hello\"\n"
	greetV2  = "def greet(self):\n    return \"hello, \" + self.name\n"
	greetBad = "def greet(self):\n    self.count = 1\n    return self.count\n" // no covenant flag
)

// Replacing a method keeps its earlier versions; a revert reinstalls one
// as a new version, audited again; a refused method changes nothing.
func TestMethodHistory(t *testing.T) {
	e := open(t, nil, nil)
	ctx := ctxT(t)
	for _, src := range []string{greetV1, greetV2} {
		if err := e.v.SetSlot(ctx, vm.RootGenesis, "greet", &object.Method{Source: src}); err != nil {
			t.Fatal(err)
		}
	}
	err := e.v.SetSlot(ctx, vm.RootGenesis, "greet", &object.Method{Source: greetBad})
	var ae *vm.AuditError
	if !errors.As(err, &ae) {
		t.Fatalf("a method without the covenant: %v", err)
	}
	hist, err := e.v.MethodHistory(ctx, vm.RootGenesis, "greet")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Source != greetV1 || hist[1].Source != greetV2 || hist[0].Current || !hist[1].Current ||
		hist[0].Version != 1 || hist[1].Version != 2 || hist[1].Author != vm.AuthorArchitect {
		t.Fatalf("history %+v", hist)
	}
	n, err := e.v.RevertMethod(ctx, vm.RootGenesis, "greet", 1)
	if err != nil || n != 3 {
		t.Fatalf("revert: version %d, %v", n, err)
	}
	if m, _ := e.slot(t, vm.RootGenesis, "greet").(*object.Method); m == nil || m.Source != greetV1 || m.Version != 3 {
		t.Fatalf("after the revert the slot holds %v", m)
	}
	hist, _ = e.v.MethodHistory(ctx, vm.RootGenesis, "greet")
	if len(hist) != 3 || !hist[2].Current || hist[1].Current || !strings.Contains(hist[2].Note, "reverted to version 1") {
		t.Fatalf("history after the revert %+v", hist)
	}
	if _, err := e.v.RevertMethod(ctx, vm.RootGenesis, "greet", 9); !errors.Is(err, object.ErrNotFound) {
		t.Errorf("revert to a missing version: %v", err)
	}
	// Removed and set again, the numbering goes on.
	if err := e.v.RemoveSlot(ctx, vm.RootGenesis, "greet"); err != nil {
		t.Fatal(err)
	}
	if hist, _ := e.v.MethodHistory(ctx, vm.RootGenesis, "greet"); len(hist) != 3 || hist[2].Current {
		t.Fatalf("history after removal %+v", hist)
	}
	if err := e.v.SetSlot(ctx, vm.RootGenesis, "greet", &object.Method{Source: greetV2}); err != nil {
		t.Fatal(err)
	}
	if m, _ := e.slot(t, vm.RootGenesis, "greet").(*object.Method); m == nil || m.Version != 4 {
		t.Fatalf("re-added method %v", m)
	}
	if _, err := e.v.MethodHistory(ctx, vm.RootGenesis, "not a selector"); !errors.Is(err, vm.ErrBadSelector) {
		t.Errorf("bad selector: %v", err)
	}
}

// A method a cycle writes is in the history with its author and cycle.
func TestLearnedMethodInHistory(t *testing.T) {
	e := open(t, nil, nil)
	rec := e.learn(t, vm.RootGenesis, "display_yourself")
	if rec.Status != vm.StatusComplete {
		t.Fatalf("%s: %s", rec.Status, rec.Error)
	}
	hist, err := e.v.MethodHistory(ctxT(t), vm.RootGenesis, "display_yourself")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Author != vm.PersonaCoder || hist[0].Cycle != rec.ID || !hist[0].Current || hist[0].Version != 1 {
		t.Fatalf("history %+v", hist)
	}
}

// RemoveSlot and CloneObject: good and hostile input.
func TestRemoveSlotAndClone(t *testing.T) {
	e := open(t, nil, nil)
	ctx := ctxT(t)
	if err := e.v.SetSlot(ctx, vm.RootGenesis, "motto", object.String("becoming")); err != nil {
		t.Fatal(err)
	}
	oid, err := e.v.CloneObject(ctx, vm.RootGenesis, "second_genesis")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.slot(t, "second_genesis", "motto"); got != object.String("becoming") {
		t.Errorf("clone's motto = %v", got)
	}
	if got := e.slot(t, oid.String(), "motto"); got != object.String("becoming") {
		t.Errorf("clone by OID: motto = %v", got)
	}
	for _, tc := range []struct {
		name string
		err  error
		run  func() error
	}{
		{"remove", nil, func() error { return e.v.RemoveSlot(ctx, "second_genesis", "motto") }},
		{"remove again", object.ErrNotFound, func() error { return e.v.RemoveSlot(ctx, "second_genesis", "motto") }},
		{"remove from nothing", object.ErrNotFound, func() error { return e.v.RemoveSlot(ctx, "no_such_root", "motto") }},
		{"unwire the state machine", object.ErrInvalid, func() error { return e.v.RemoveSlot(ctx, vm.RootPSM, vm.StateIdle) }},
		{"clone under an existing root", object.ErrInvalid, func() error { _, err := e.v.CloneObject(ctx, vm.RootGenesis, "second_genesis"); return err }},
		{"clone under a bad name", object.ErrInvalid, func() error { _, err := e.v.CloneObject(ctx, vm.RootGenesis, "1 bad"); return err }},
		{"clone nothing", object.ErrNotFound, func() error { _, err := e.v.CloneObject(ctx, "99999", ""); return err }},
	} {
		if err := tc.run(); !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	if got := e.slot(t, vm.RootGenesis, "motto"); got != object.String("becoming") {
		t.Errorf("the original lost its motto: %v", got)
	}
}

// The cycle log keeps the newest KeepCycles records and none older than
// KeepCyclesFor; the methods the pruned cycles wrote stay.
func TestPruneCycles(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	e := open(t, nil, func(o *vm.Options) {
		o.KeepCycles = 2
		o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	var ids []object.OID
	for _, sel := range []string{"display_yourself", "describe_self", "show_state"} {
		ids = append(ids, e.learn(t, vm.RootGenesis, sel).ID)
	}
	n, err := e.v.PruneCycles(ctxT(t))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1", n, err)
	}
	if _, err := e.v.Cycle(ctxT(t), ids[0]); !errors.Is(err, vm.ErrNoCycle) {
		t.Errorf("the oldest record: %v", err)
	}
	for _, id := range ids[1:] {
		if _, err := e.v.Cycle(ctxT(t), id); err != nil {
			t.Errorf("record %d: %v", id, err)
		}
	}
	if e.slot(t, vm.RootGenesis, "display_yourself") == nil {
		t.Error("the pruned cycle's method went with its record")
	}
	if n, _ := e.v.PruneCycles(ctxT(t)); n != 0 {
		t.Errorf("a second pass pruned %d", n)
	}
}

func TestPruneCyclesByAge(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := open(t, nil, func(o *vm.Options) { o.KeepCyclesFor = time.Hour; o.Now = clock })
	old := e.learn(t, vm.RootGenesis, "display_yourself").ID
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	recent := e.learn(t, vm.RootGenesis, "describe_self").ID
	if n, err := e.v.PruneCycles(ctxT(t)); err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1", n, err)
	}
	if _, err := e.v.Cycle(ctxT(t), old); !errors.Is(err, vm.ErrNoCycle) {
		t.Errorf("the old record: %v", err)
	}
	if _, err := e.v.Cycle(ctxT(t), recent); err != nil {
		t.Errorf("the recent record: %v", err)
	}
}

// References set by hand must point at objects, and parent slots may not
// close a delegation cycle.
func TestSetSlotReferences(t *testing.T) {
	e := open(t, nil, nil)
	ctx := ctxT(t)
	a, err := e.v.CloneObject(ctx, vm.RootGenesis, "obj_a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.v.CloneObject(ctx, vm.RootGenesis, "obj_b")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		target string
		slot   string
		value  object.Value
		err    error
	}{
		{"a reference", "obj_a", "friend", object.Ref(b), nil},
		{"a parent", "obj_b", "extra_parent*", object.Ref(a), nil},
		{"a cycle", "obj_a", "loop_parent*", object.Ref(b), object.ErrInvalid},
		{"self as parent", "obj_a", "me_parent*", object.Ref(a), object.ErrInvalid},
		{"a missing object", "obj_a", "ghost", object.Ref(987654), object.ErrNotFound},
		{"a missing object in a list", "obj_a", "ghosts", object.List{object.Ref(b), object.Ref(987654)}, object.ErrNotFound},
		{"a parent that is not a reference", "obj_a", "bad_parent*", object.Int(3), object.ErrInvalid},
	} {
		err := e.v.SetSlot(ctx, tc.target, tc.slot, tc.value)
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	if got := e.slot(t, "obj_a", "friend"); got != object.Ref(b) {
		t.Errorf("friend = %v", got)
	}
}
