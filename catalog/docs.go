package catalog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/batos/batos/object"
)

// Document is one indexed document as the catalog records it: its chunk
// objects in order and its metadata.
type Document struct {
	ID     string
	Chunks []object.OID
	Meta   map[string]string
}

// Documents returns up to limit documents whose ids start with prefix, in
// id order, and whether there are more. It reads the store through tx
// (no in-memory index is needed), so it sees what tx sees.
func Documents(tx *object.Tx, prefix string, limit int) ([]Document, bool, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []Document
	more := false
	err := tx.ScanKV(docKey(prefix), func(k, b []byte) error {
		if len(out) == limit {
			more = true
			return errStop
		}
		d, err := decodeDoc(b)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, k, err)
		}
		out = append(out, Document{ID: strings.TrimPrefix(string(k), preDoc), Chunks: d.chunks, Meta: d.meta})
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, false, err
	}
	return out, more, nil
}

// GetDocument returns document id; ok is false when the catalog has none.
func GetDocument(tx *object.Tx, id string) (doc Document, ok bool, err error) {
	d, ok, err := readDoc(tx, id)
	if err != nil || !ok {
		return Document{}, false, err
	}
	return Document{ID: id, Chunks: d.chunks, Meta: d.meta}, true, nil
}
