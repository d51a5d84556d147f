package vm_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

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

// A host grants one tool to one object, and a method there uses it.
func ExampleVM_RegisterCapability() {
	dir, _ := os.MkdirTemp("", "vm-example")
	defer os.RemoveAll(dir)
	store, err := object.Open(dir, object.Options{NoSync: true})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	v, err := vm.Open(ctx, store, vm.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), CacheDir: dir})
	if err != nil {
		panic(err)
	}
	defer v.Close(ctx)

	// The host: a capability and its grant.
	v.RegisterCapability(vm.Capability{
		Name: "shout", Doc: "the text in capitals", ReadOnly: true,
		Params: []vm.Param{{Name: "text", Kind: vm.KindStr}}, Result: vm.KindStr,
		Func: func(ctx context.Context, tx *object.Tx, args map[string]object.Value) (object.Value, error) {
			return object.String(strings.ToUpper(string(args["text"].(object.String)))), nil
		},
	})
	v.GrantCapability(ctx, "genesis_obj", "voice", "shout")

	// A method of genesis_obj (here set by hand; a cycle writes such
	// methods for acquire_capability missions).
	v.SetSlot(ctx, "genesis_obj", "greet", &object.Method{Source: "def greet(self, name):\n    return self.voice.call(text=\"hello \" + name)\n"})
	res, err := v.Dispatch(ctx, "genesis_obj", "greet", []object.Value{object.String("alfred")}, nil)
	fmt.Println(object.Format(res.Value), err)
	fmt.Println(res.Capabilities[0].Capability, res.Capabilities[0].Args)
	// Output:
	// "HELLO ALFRED" <nil>
	// shout text="hello alfred"
}
