package objecttest_test

import (
	"context"
	"testing"

	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
)

func TestSlots(t *testing.T) {
	for name, s := range map[string]*object.Store{
		"memory": objecttest.Open(t, object.Options{}),
		"dir":    objecttest.OpenDir(t, object.Options{}),
	} {
		var oid object.OID
		err := s.Update(context.Background(), func(tx *object.Tx) error {
			o, err := tx.New(map[string]object.Value{"a": object.Int(1)})
			oid = o.OID
			if err != nil {
				return err
			}
			return tx.SetRoot("thing", o.OID)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := objecttest.SetSlots(context.Background(), s, oid.String(), map[string]object.Value{"b": object.String("x")}); err != nil {
			t.Fatal(err)
		}
		if a, b := objecttest.Slot(t, s, "thing", "a"), objecttest.Slot(t, s, "thing", "b"); a != object.Int(1) || b != object.String("x") {
			t.Errorf("%s: slots a=%v b=%v", name, a, b)
		}
		if v := objecttest.Slot(t, s, "thing", "missing"); v != nil {
			t.Errorf("%s: missing slot = %v", name, v)
		}
		if err := objecttest.SetSlots(context.Background(), s, "nothing", nil); err == nil {
			t.Errorf("%s: SetSlots on a missing object succeeded", name)
		}
	}
}
