package catalog_test

import (
	"fmt"
	"testing"

	"github.com/batos/batos/catalog"
	"github.com/batos/batos/catalog/catalogtest"
	"github.com/batos/batos/object"
)

// Documents lists documents by id prefix, in order, with a bound;
// GetDocument finds one or says it is absent.
func TestDocuments(t *testing.T) {
	s := openStore(t)
	c := catalog.New(catalogtest.HashEmbedder{}, catalog.Options{})
	err := s.Update(ctx, func(tx *object.Tx) error {
		for i := range 5 {
			if _, err := c.Index(ctx, tx, fmt.Sprintf("doc/%d", i), "Some text about prototypes. And delegation.", map[string]string{"n": fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		_, err := c.Index(ctx, tx, "other", "Another text.", nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx *object.Tx) error {
		for _, tc := range []struct {
			prefix string
			limit  int
			ids    []string
			more   bool
		}{
			{"", 0, []string{"doc/0", "doc/1", "doc/2", "doc/3", "doc/4", "other"}, false},
			{"doc/", 3, []string{"doc/0", "doc/1", "doc/2"}, true},
			{"doc/", 5, []string{"doc/0", "doc/1", "doc/2", "doc/3", "doc/4"}, false},
			{"nothing", 0, nil, false},
		} {
			docs, more, err := catalog.Documents(tx, tc.prefix, tc.limit)
			if err != nil {
				return err
			}
			var ids []string
			for _, d := range docs {
				ids = append(ids, d.ID)
				if len(d.Chunks) == 0 {
					t.Errorf("%s has no chunks", d.ID)
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.ids) || more != tc.more {
				t.Errorf("Documents(%q, %d) = %v, %v; want %v, %v", tc.prefix, tc.limit, ids, more, tc.ids, tc.more)
			}
		}
		d, ok, err := catalog.GetDocument(tx, "doc/3")
		if err != nil || !ok || d.Meta["n"] != "3" || len(d.Chunks) == 0 {
			t.Errorf("GetDocument(doc/3) = %+v, %v, %v", d, ok, err)
		}
		if _, ok, err := catalog.GetDocument(tx, "doc/9"); ok || err != nil {
			t.Errorf("GetDocument(doc/9): %v, %v", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
