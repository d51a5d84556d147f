package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/batos/batos/catalog"
	"github.com/batos/batos/llama"
	"github.com/batos/batos/llama/gguf"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
)

var _ catalog.Embedder = (*llama.Embedder)(nil)

// catalogEmbedder is what the catalog embeds with: the image's sentence
// embedding model, or (without one) the chat model.
type catalogEmbedder struct {
	emb      catalog.Embedder
	id       string // catalog.Options.EmbedderID
	desc     string // for status
	fallback bool
	close    func() error
}

// openCatalogEmbedder opens the image's embedding model (imported from
// -embed-model, or the demo's) with its own small context; without one it
// falls back to the chat model's mean-pooled hidden states and says so
// once. chatPath is the materialized chat model, named by its hash.
func openCatalogEmbedder(ctx context.Context, v *vm.VM, cfg config, log *slog.Logger, chat *engineModel, chatPath string, chatInfo llama.Info) (*catalogEmbedder, error) {
	path, blob, err := v.MaterializeEmbedModel(ctx)
	if errors.Is(err, vm.ErrNoBlob) {
		log.Warn("[Catalog] no -embed-model: the catalog embeds with the chat model's hidden states (slow and weak for retrieval); pass -embed-model with a BERT-family GGUF such as all-MiniLM-L6-v2")
		hash := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(chatPath), "model-"), ".gguf")
		return &catalogEmbedder{emb: chat, fallback: true,
			id:    fmt.Sprintf("chat:%s/%d", hash, chatInfo.EmbeddingSize),
			desc:  fmt.Sprintf("chat model fallback (%s, %d dims)", chatInfo.Description, chatInfo.EmbeddingSize),
			close: func() error { return nil }}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("materialize embedding model: %w", err)
	}
	e, err := llama.OpenEmbedder(ctx, path, llama.EmbedderOptions{Threads: cfg.Threads, GPULayers: cfg.GPULayers})
	if err != nil {
		return nil, fmt.Errorf("embedding model: %w", err)
	}
	info := e.Info()
	log.Info("[Catalog] embedding model loaded", "description", info.Description, "name", info.Name, "dims", e.Dim(), "pooling", e.Pooling(), "max_tokens", e.MaxTokens())
	name := info.Name
	if name == "" {
		name = info.Architecture
	}
	return &catalogEmbedder{emb: e,
		id:    fmt.Sprintf("sha256:%s/%d", blob.Hex(), e.Dim()),
		desc:  fmt.Sprintf("%s (%s, %d dims, %s pooling, blob %.12s)", name, info.Description, e.Dim(), e.Pooling(), blob.Hex()),
		close: e.Close}, nil
}

// reembed replaces another embedder's vectors in the background, logging
// progress every tenth.
func reembed(ctx context.Context, log *slog.Logger, c *catalog.Catalog, s *object.Store) {
	last := -1
	err := c.Reembed(ctx, s, func(done, total int) {
		if step := done * 10 / max(total, 1); step != last {
			last = step
			log.Info("[Catalog] re-embedding with the new embedder; vector and hybrid search wait for it", "done", done, "documents", total)
		}
	})
	switch {
	case err == nil && last >= 0:
		log.Info("[Catalog] re-embedding complete")
	case err != nil && !errors.Is(err, context.Canceled):
		log.Error("[Catalog] re-embedding failed; vector and hybrid search stay unavailable until it completes (restart to resume)", "err", err)
	}
}

// embedderStatus is the status command's view of the catalog's embedder.
func (h *handler) embedderStatus(ctx context.Context) map[string]any {
	if h.catalog == nil || h.embedder == "" {
		return nil
	}
	out := map[string]any{"embedder": h.embedder}
	var st catalog.EmbedderStatus
	err := h.store.View(ctx, func(tx *object.Tx) error {
		var err error
		st, err = h.catalog.EmbedderStatus(tx)
		return err
	})
	switch {
	case err != nil:
		out["embedder_vectors"] = "unknown: " + err.Error()
	case st.Ready:
		out["embedder_vectors"] = "ready"
	case st.Target != "":
		out["embedder_vectors"] = fmt.Sprintf("re-embedding: %d of %d documents", st.Done, st.Total)
	default:
		out["embedder_vectors"] = "from another embedder (re-embedding not started)"
	}
	return out
}

// demoEmbedModel is the demo's embedding model: all-MiniLM-L6-v2's shape
// with random weights, written once beside the demo chat model.
func demoEmbedModel(data string, log *slog.Logger) (string, error) {
	path := filepath.Join(data, "demo", "demo-minilm.gguf")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	o := gguf.MiniLMShape()
	o.Name = "batos-demo-minilm (random weights)"
	o.Seed = 20261202
	if err := gguf.WriteBERT(path, o); err != nil {
		return "", err
	}
	log.Info("demo embedding model written", "file", path)
	return path, nil
}
