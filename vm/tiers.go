package vm

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/batos/batos/object"
	"github.com/batos/batos/object/blobfile"
	"github.com/batos/batos/vm/tiers"
)

// AdapterStatus reports the LoRA adapters by memory tier (Cold: every
// adapter in the image) and the tier counters since Open.
type AdapterStatus = tiers.Status

// adapterStatus is the tiers' status with the cold tier read from the
// image.
func (v *VM) adapterStatus() AdapterStatus {
	s := v.tiers.Status()
	err := v.store.View(context.Background(), func(tx *object.Tx) error {
		p, err := tx.Get(v.r.pLLM)
		if err != nil {
			return err
		}
		repo, _ := p.Slots["lora_repository"].(object.Map)
		s.Cold = sortedKeys(repo)
		return nil
	})
	if err != nil {
		// A closed store during shutdown: the status still has the
		// memory tiers; say why the cold one is empty.
		v.log.Warn("[UVM] adapter status: cannot read the cold tier", "err", err)
	}
	return s
}

func (v *VM) cacheDir() string {
	if v.opts.CacheDir != "" {
		return v.opts.CacheDir
	}
	return filepath.Join(os.TempDir(), "batos-cache")
}

// MaterializeModel returns the path of the base model's file in the cache
// directory, named by its SHA-256. The file is written from the model blob
// only when it is missing or fails its hash, so a restart does not rewrite
// gigabytes; a stamp of the last check (size, modification time, hash)
// spares rereading it too while the file is untouched.
func (v *VM) MaterializeModel(ctx context.Context) (string, error) {
	var blob object.BlobRef
	var ok bool
	if err := v.store.View(ctx, func(tx *object.Tx) error {
		p, err := tx.Get(v.r.pLLM)
		if err != nil {
			return err
		}
		blob, ok = p.Slots["model_blob"].(object.BlobRef)
		return nil
	}); err != nil {
		return "", err
	}
	if !ok {
		return "", ErrNoBlob
	}
	path := filepath.Join(v.cacheDir(), "model-"+blob.Hex()+".gguf")
	v.line("[UVM] Loading cognitive core from BLOB...", "path", path)
	return path, v.materialize(ctx, blob, path, "model")
}

// materialize makes path hold the blob's bytes: it keeps an existing file
// whose size and SHA-256 match and otherwise rewrites it atomically.
func (v *VM) materialize(ctx context.Context, blob object.BlobRef, path, name string) error {
	if ok, err := blobfile.Matches(path, blob); err != nil {
		v.log.Warn("[UVM] Cache file unreadable; writing it again.", "path", path, "err", err)
	} else if ok {
		v.line("[UVM] Cache file verified; not rewritten.", "path", path)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("vm: materialize: %w", err)
	}
	r, err := v.store.OpenBlob(ctx, blob.ID)
	if err != nil {
		return fmt.Errorf("vm: materialize %s: %w", name, err)
	}
	defer r.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".materialize-*")
	if err != nil {
		return fmt.Errorf("vm: materialize: %w", err)
	}
	defer os.Remove(tmp.Name())
	var src io.Reader = r
	if v.opts.Progress != nil {
		src = &progressReader{r: r, name: name, total: blob.Size, fn: v.opts.Progress}
	}
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return fmt.Errorf("vm: materialize %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("vm: materialize: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("vm: materialize: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("vm: materialize: %w", err)
	}
	blobfile.WriteStamp(path, blob)
	if v.opts.Progress != nil {
		v.opts.Progress(name, blob.Size, blob.Size)
	}
	v.line("[UVM] Cache file written from blob.", "path", path, "bytes", blob.Size)
	return nil
}
