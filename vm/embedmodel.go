package vm

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/batos/batos/object"
)

// Slots of the pLLM object that hold the sentence embedding model, beside
// model_blob and model_source of the chat model.
const (
	slotEmbedBlob   = "embed_model_blob"
	slotEmbedSource = "embed_model_source"
)

// importEmbedModel imports Options.EmbedModelFile as the image's
// embedding model blob when the image has none, or when the file is
// another one than the image's (then the old blob is replaced unless the
// bytes are the same), as the chat model is imported.
func (v *VM) importEmbedModel(ctx context.Context) error {
	file := v.opts.EmbedModelFile
	if file == "" {
		return nil
	}
	src, err := fileSource(file)
	if err != nil {
		return fmt.Errorf("vm: embedding model file: %w", err)
	}
	var current *object.BlobRef
	var source string
	if err := v.store.View(ctx, func(tx *object.Tx) error {
		p, err := tx.Get(v.r.pLLM)
		if err != nil {
			return err
		}
		if b, ok := p.Slots[slotEmbedBlob].(object.BlobRef); ok {
			current = &b
		}
		s, _ := p.Slots[slotEmbedSource].(object.String)
		source = string(s)
		return nil
	}); err != nil {
		return err
	}
	if current != nil && src == source {
		return nil
	}
	b, err := v.importFile(ctx, file)
	if err != nil {
		return err
	}
	replace := current == nil || b.SHA256 != current.SHA256
	if !replace {
		v.line("[UVM] Embedding model file is the image's; kept.", "file", file, "sha256", b.Hex())
		if err := v.store.DeleteBlob(ctx, b.ID); err != nil {
			v.log.Warn("[UVM] could not delete the duplicate embedding model blob", "blob", b.ID, "err", err)
		}
	} else if current != nil {
		v.log.Warn("[UVM] Replacing the image's embedding model with the given file.", "file", file, "old_sha256", current.Hex(), "new_sha256", b.Hex())
	}
	if err := v.store.Update(ctx, func(tx *object.Tx) error {
		p, err := tx.Get(v.r.pLLM)
		if err != nil {
			return err
		}
		if replace {
			p.Set(slotEmbedBlob, b)
		}
		p.Set(slotEmbedSource, object.String(src))
		return tx.Put(p)
	}); err != nil {
		return err
	}
	if replace && current != nil {
		if err := v.store.DeleteBlob(ctx, current.ID); err != nil {
			v.log.Warn("[UVM] could not delete the replaced embedding model blob", "blob", current.ID, "err", err)
		}
	}
	return nil
}

// MaterializeEmbedModel returns the path of the sentence embedding
// model's file in the cache directory (named by its SHA-256) and its
// blob, writing the file from the blob as MaterializeModel does. It
// returns ErrNoBlob when the image holds no embedding model
// (Options.EmbedModelFile was never given).
func (v *VM) MaterializeEmbedModel(ctx context.Context) (string, object.BlobRef, error) {
	var blob object.BlobRef
	var ok bool
	if err := v.store.View(ctx, func(tx *object.Tx) error {
		p, err := tx.Get(v.r.pLLM)
		if err != nil {
			return err
		}
		blob, ok = p.Slots[slotEmbedBlob].(object.BlobRef)
		return nil
	}); err != nil {
		return "", object.BlobRef{}, err
	}
	if !ok {
		return "", object.BlobRef{}, fmt.Errorf("%w: no embedding model", ErrNoBlob)
	}
	path := filepath.Join(v.cacheDir(), "embed-"+blob.Hex()+".gguf")
	v.line("[UVM] Loading the embedding model from BLOB...", "path", path)
	return path, blob, v.materialize(ctx, blob, path, "embedding model")
}
