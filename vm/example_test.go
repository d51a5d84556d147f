package vm_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

// The display_yourself protocol with a scripted model: the first send
// becomes a mission, the second runs the method the cycle installed.
func ExampleVM_Dispatch() {
	dir, _ := os.MkdirTemp("", "vm-example")
	defer os.RemoveAll(dir)
	store, err := object.Open(dir, object.Options{NoSync: true})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	v, err := vm.Open(ctx, store, vm.Options{
		Model:    &vmtest.Model{},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		CacheDir: dir,
	})
	if err != nil {
		panic(err)
	}
	v.Start(ctx)
	defer v.Close(ctx)

	res, _ := v.Dispatch(ctx, "genesis_obj", "display_yourself", nil, nil)
	fmt.Println(res.Message)
	rec, _ := v.WaitCycle(ctx, res.Cycle)
	fmt.Println(rec.Status, rec.Outcome)
	res, _ = v.Dispatch(ctx, "genesis_obj", "display_yourself", nil, nil)
	fmt.Println(object.Format(res.Value))
	// Output:
	// Mission to handle 'display_yourself' dispatched to the Composite Mind.
	// complete method installed
	// "<UvmObject oid=3 slots=['display_yourself', 'parent*']>"
}
