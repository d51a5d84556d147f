package vm_test

import (
	"errors"
	"strings"
	"testing"

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
