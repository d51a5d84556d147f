package vm_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

// TestEmbedModelFile: the embedding model is imported as a blob beside
// the chat model, materialized from it, kept on a restart with the same
// file, replaced (old blob deleted) by another file, and absent without
// the option.
func TestEmbedModelFile(t *testing.T) {
	src := t.TempDir()
	a, b := filepath.Join(src, "a.gguf"), filepath.Join(src, "b.gguf")
	os.WriteFile(a, bytes.Repeat([]byte("a"), 1<<15), 0o644)
	os.WriteFile(b, bytes.Repeat([]byte("b"), 1<<15), 0o644)
	with := func(path string) func(*vm.Options) { return func(o *vm.Options) { o.EmbedModelFile = path } }
	imports := func(e *env) int {
		n := 0
		for _, l := range e.log.all() {
			if strings.Contains(l, "Persisting file to a blob") {
				n++
			}
		}
		return n
	}
	e := open(t, nil, nil)
	if _, _, err := e.v.MaterializeEmbedModel(ctxT(t)); !errors.Is(err, vm.ErrNoBlob) {
		t.Fatalf("without an embedding model: %v", err)
	}
	e.reopen(t, &vmtest.Model{}, with(a))
	path, first, err := e.v.MaterializeEmbedModel(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, bytes.Repeat([]byte("a"), 1<<15)) || imports(e) != 1 {
		t.Fatalf("materialized %s after %d imports", path, imports(e))
	}
	if !strings.Contains(filepath.Base(path), first.Hex()) {
		t.Errorf("path %s is not named by the blob's hash", path)
	}
	e.reopen(t, &vmtest.Model{}, with(a))
	if imports(e) != 1 {
		t.Errorf("the same file was imported again (%d imports)", imports(e))
	}
	e.reopen(t, &vmtest.Model{}, func(*vm.Options) {}) // no option: the image keeps its model
	if _, ref, err := e.v.MaterializeEmbedModel(ctxT(t)); err != nil || ref.SHA256 != first.SHA256 {
		t.Errorf("without the option: %v, %x", err, ref.SHA256[:4])
	}
	e.reopen(t, &vmtest.Model{}, with(b))
	path, second, err := e.v.MaterializeEmbedModel(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if second.SHA256 == first.SHA256 {
		t.Fatal("another file did not replace the embedding model")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, bytes.Repeat([]byte("b"), 1<<15)) {
		t.Error("the materialized file is not the new one")
	}
	if _, err := e.store.Blob(ctxT(t), first.ID); err == nil {
		t.Error("the replaced blob was kept")
	}
}
