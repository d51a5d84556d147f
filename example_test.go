package batos_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
)

// Example embeds the living image in a Go program: open a store, start the
// VM with any Model (here a Go function; the daemon adapts llama.cpp), and
// send messages to objects.
func Example() {
	dir, _ := os.MkdirTemp("", "batos-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	store, err := object.Open(dir, object.Options{})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	model := vm.ModelFunc(func(ctx context.Context, g vm.Generation) (string, error) {
		return "", fmt.Errorf("no model in this example (asked %s)", g.Persona)
	})
	v, err := vm.Open(ctx, store, vm.Options{Model: model, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer v.Close(ctx)
	if err := v.Start(ctx); err != nil {
		panic(err)
	}

	// A slot set from Go persists in the image; messages find it by delegation.
	if err := v.SetSlot(ctx, "genesis_obj", "motto", object.String("becoming")); err != nil {
		panic(err)
	}
	res, err := v.Dispatch(ctx, "genesis_obj", "motto", nil, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(object.Format(res.Value))

	// A message nobody understands becomes a mission for the Composite Mind.
	res, err = v.Dispatch(ctx, "genesis_obj", "display_yourself", nil, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Mission, res.Message)
	// Output:
	// "becoming"
	// true Mission to handle 'display_yourself' dispatched to the Composite Mind.
}
