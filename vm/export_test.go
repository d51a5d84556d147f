package vm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
	"github.com/batos/batos/vm"
)

// A whole image exported and imported into an empty store opens as an
// image whose objects, methods and answers are the same.
func TestExportImportRoundTrip(t *testing.T) {
	e := open(t, nil, realSandbox)
	ctx := ctxT(t)
	if rec := e.learn(t, vm.RootGenesis, "display_yourself"); rec.Status != vm.StatusComplete {
		t.Fatalf("%s: %s", rec.Status, rec.Error)
	}
	for name, v := range map[string]object.Value{
		"motto": object.String("becoming"), "n": object.Int(7), "ratio": object.Float(0.25), "ok": object.Bool(true),
		"raw": object.Bytes{0, 1, 2}, "nested": object.List{object.Map{"k": object.List{object.Int(1)}}},
		"greet": &object.Method{Source: greetV2},
	} {
		if err := e.v.SetSlot(ctx, vm.RootGenesis, name, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.v.SetSlot(ctx, vm.RootGenesis, "name", object.String("genesis")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.CloneObject(ctx, vm.RootGenesis, "second_genesis"); err != nil {
		t.Fatal(err)
	}
	want := answers(t, e.v)
	var buf bytes.Buffer
	n, err := vm.Export(ctx, e.store, &buf)
	if err != nil || n == 0 {
		t.Fatalf("export: %d objects, %v", n, err)
	}
	// The model blob of the image travels by hash, not in the export: the
	// new image needs it first (a backup or the same model file).
	dst := objecttest.OpenDir(t, object.Options{})
	copyBlobs(t, e.store, dst)
	st, err := vm.Import(ctx, dst, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != n || st.Methods < 2 || dst.ObjectCount() != e.store.ObjectCount() {
		t.Fatalf("imported %+v; %d objects against %d", st, dst.ObjectCount(), e.store.ObjectCount())
	}
	v2, err := vm.Open(ctx, dst, vm.Options{Logger: slogDiscard()})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close(context.Background())
	if got := answers(t, v2); got != want {
		t.Errorf("answers after the round trip:\n%s\nwant\n%s", got, want)
	}
	var again bytes.Buffer
	if _, err := vm.Export(ctx, dst, &again); err != nil {
		t.Fatal(err)
	}
	if strings.Count(again.String(), "\n") != n {
		t.Errorf("re-export has %d lines, want %d", strings.Count(again.String(), "\n"), n)
	}
}

// answers are what the image says to a few messages, as text.
func answers(t *testing.T, v *vm.VM) string {
	t.Helper()
	var sb strings.Builder
	for _, q := range [][2]string{{vm.RootGenesis, "motto"}, {vm.RootGenesis, "greet"}, {"second_genesis", "motto"}, {vm.RootGenesis, "nested"}, {vm.RootGenesis, "raw"}} {
		res, err := v.Dispatch(context.Background(), q[0], q[1], nil, nil)
		if err != nil {
			t.Fatalf("%s.%s: %v", q[0], q[1], err)
		}
		sb.WriteString(q[0] + "." + q[1] + " = " + object.Format(res.Value) + "\n")
	}
	return sb.String()
}

func copyBlobs(t *testing.T, from, to *object.Store) {
	t.Helper()
	refs, err := from.Blobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range refs {
		r, err := from.OpenBlob(context.Background(), ref.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := to.PutBlob(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
}

// Hostile exports import nothing and say why.
func TestImportRefuses(t *testing.T) {
	ctx := context.Background()
	deep := strings.Repeat(`{"list":[`, 80) + strings.Repeat(`]}`, 80)
	for _, tc := range []struct {
		name, in string
		err      error
	}{
		{"not json", "{oops\n", object.ErrInvalid},
		{"no oid", `{"slots":{}}`, object.ErrInvalid},
		{"untagged value", `{"oid":1,"slots":{"x":5}}`, object.ErrInvalid},
		{"unknown tag", `{"oid":1,"slots":{"x":{"zap":1}}}`, object.ErrInvalid},
		{"two tags", `{"oid":1,"slots":{"x":{"i":1,"s":"a"}}}`, object.ErrInvalid},
		{"dangling reference", `{"oid":1,"slots":{"p":{"ref":99}}}`, object.ErrNotFound},
		{"reference to a missing root", `{"oid":1,"slots":{"p":{"ref":99,"root":"nowhere"}}}`, object.ErrNotFound},
		{"missing blob", `{"oid":1,"slots":{"b":{"blob":{"sha256":"00","size":3}}}}`, object.ErrNotFound},
		{"duplicate object", "{\"oid\":1,\"slots\":{}}\n{\"oid\":1,\"slots\":{}}", object.ErrInvalid},
		{"too deep", `{"oid":1,"slots":{"x":` + deep + `}}`, object.ErrInvalid},
		{"root twice", "{\"oid\":1,\"roots\":[\"a\"],\"slots\":{}}\n{\"oid\":2,\"roots\":[\"a\"],\"slots\":{}}", object.ErrInvalid},
		{"method without the covenant", `{"oid":1,"slots":{"greet":{"method":{"source":` + jsonString(greetBad) + `}}}}`, vm.ErrAudit},
	} {
		s := objecttest.Open(t, object.Options{})
		_, err := vm.Import(ctx, s, strings.NewReader(tc.in))
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
		if s.ObjectCount() != 0 {
			t.Errorf("%s: %d objects imported", tc.name, s.ObjectCount())
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Import never panics on hostile input; what it accepts exports and
// imports again into an empty image with as many objects.
func FuzzImport(f *testing.F) {
	f.Add(`{"oid":1,"roots":["a"],"slots":{"x":{"i":1},"l":{"list":[{"s":"x"},{"map":{"k":{"b":true}}}]},"p":{"ref":1}}}`)
	f.Add(`{"oid":1,"slots":{"m":{"method":{"source":"def m(self):\n    return 1\n"}}}}` + "\n" + `{"oid":2,"slots":{"parent*":{"ref":1}}}`)
	f.Add(`{"oid":1,"slots":{"f":{"f":1.5},"y":{"bytes":"AAE="},"q":{"prim":"repr"}}}`)
	f.Add("{nope")
	f.Fuzz(func(t *testing.T, in string) {
		ctx := context.Background()
		s := objecttest.Open(t, object.Options{})
		st, err := vm.Import(ctx, s, strings.NewReader(in))
		if err != nil {
			if s.ObjectCount() != 0 {
				t.Fatalf("a refused import left %d objects", s.ObjectCount())
			}
			return
		}
		var buf bytes.Buffer
		n, err := vm.Export(ctx, s, &buf)
		if err != nil || n != st.Objects {
			t.Fatalf("re-export: %d objects, %v; imported %d", n, err, st.Objects)
		}
		s2 := objecttest.Open(t, object.Options{})
		if st2, err := vm.Import(ctx, s2, &buf); err != nil || st2.Objects != st.Objects {
			t.Fatalf("re-import: %+v, %v", st2, err)
		}
	})
}
