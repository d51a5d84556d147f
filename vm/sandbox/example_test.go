package sandbox_test

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm/sandbox"
)

func Example() {
	store, err := object.Open("", object.Options{FS: vfs.NewMem()})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	r := sandbox.New(sandbox.Options{Print: func(msg string) { fmt.Println("log:", msg) }})
	defer r.Close()

	rename := &object.Method{Selector: "rename", Source: `
def rename(self, name):
    print("renaming", self.name, "to", name)
    self.name = name
    self._p_changed = True
    return self.name
`}
	forgetful := &object.Method{Selector: "sneak", Source: `
def sneak(self):
    names = self.aliases
    names.append("ghost")
`}
	ctx := context.Background()
	err = store.Update(ctx, func(tx *object.Tx) error {
		o, err := tx.New(map[string]object.Value{"name": object.String("clay"), "aliases": object.List{}})
		if err != nil {
			return err
		}
		res, err := r.Call(ctx, tx, o.OID, rename, []object.Value{object.String("brick")}, nil)
		fmt.Println(object.Format(res), err)
		_, err = r.Call(ctx, tx, o.OID, forgetful, nil, nil)
		fmt.Println(err)
		o, _ = tx.Get(o.OID)
		fmt.Println(object.Format(o.Slots["name"]), object.Format(o.Slots["aliases"]))
		return nil
	})
	fmt.Println(err)
	// Output:
	// log: renaming clay to brick
	// "brick" <nil>
	// sandbox: covenant violation: state changed without self._p_changed = True: unflagged change to 1.aliases
	// "brick" []
	// <nil>
}
