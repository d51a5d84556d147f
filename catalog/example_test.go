package catalog_test

import (
	"context"
	"fmt"

	"github.com/batos/batos/catalog"
	"github.com/batos/batos/catalog/catalogtest"
	"github.com/batos/batos/object"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func Example() {
	ctx := context.Background()
	store, err := object.Open("db", object.Options{FS: vfs.NewMem(), NoSync: true})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	cat := catalog.New(catalogtest.HashEmbedder{}, catalog.Options{})
	if err := cat.Load(ctx, store); err != nil { // optional: in-memory index
		panic(err)
	}
	err = store.Update(ctx, func(tx *object.Tx) error {
		docs := map[string]string{
			"mill":  "The river turns the wheel of the old mill. The miller grinds grain into flour.",
			"forge": "The smith heats iron in the forge. He hammers the glowing metal into a blade.",
		}
		for id, text := range docs {
			if _, err := cat.Index(ctx, tx, id, text, map[string]string{"kind": "craft"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	err = store.View(ctx, func(tx *object.Tx) error {
		for _, mode := range []catalog.Mode{catalog.BM25, catalog.Vector, catalog.Hybrid} {
			res, err := cat.Search(ctx, tx, catalog.Query{Text: "hammering iron", Mode: mode, Limit: 1})
			if err != nil {
				return err
			}
			fmt.Printf("%v: %s (chunk %d)\n", mode, res[0].DocID, res[0].Chunk)
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// bm25: forge (chunk 0)
	// vector: forge (chunk 0)
	// hybrid: forge (chunk 0)
}

func ExampleChunker() {
	text := "The river turns the wheel of the mill. The river carries grain boats to the mill. " +
		"The compiler parses the code. The compiler optimizes the code."
	c := catalog.NewChunker(catalogtest.HashEmbedder{}, catalog.ChunkOptions{Amount: 50, Buffer: -1, MinChars: -1})
	chunks, err := c.Chunk(context.Background(), text)
	if err != nil {
		panic(err)
	}
	for _, ch := range chunks {
		fmt.Println(ch.Text)
	}
	// Output:
	// The river turns the wheel of the mill. The river carries grain boats to the mill.
	// The compiler parses the code. The compiler optimizes the code.
}
