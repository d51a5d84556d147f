package object_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/batos/batos/object"
)

// ExampleTx_RollbackTo trial-runs writes inside a transaction and discards
// them, keeping the writes made before the savepoint.
func ExampleTx_RollbackTo() {
	s, err := object.Open("db", object.Options{FS: vfs.NewMem(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ctx := context.Background()
	err = s.Update(ctx, func(tx *object.Tx) error {
		if err := tx.SetKV([]byte("cycle"), []byte("kept")); err != nil {
			return err
		}
		sp := tx.Savepoint()
		trial, err := tx.New(map[string]object.Value{"draft": object.String("method")})
		if err != nil {
			return err
		}
		if err := tx.SetKV([]byte("cycle"), []byte("trial")); err != nil {
			return err
		}
		if err := tx.RollbackTo(sp); err != nil {
			return err
		}
		ok, err := tx.Exists(trial.OID)
		fmt.Println("trial object exists:", ok)
		return err
	})
	if err != nil {
		panic(err)
	}
	_ = s.View(ctx, func(tx *object.Tx) error {
		v, err := tx.GetKV([]byte("cycle"))
		fmt.Printf("cycle = %s\n", v)
		return err
	})
	// Output:
	// trial object exists: false
	// cycle = kept
}
