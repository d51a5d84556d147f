package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/batos/batos/llama/gguf"
	"github.com/batos/batos/object"
)

// adapterNames are the three persona adapters the benchmark switches among.
var adapterNames = []string{"alfred", "robin", "oracle"}

func modelPath(dir string) string { return filepath.Join(dir, "model.gguf") }

func adapterPath(dir, name string) string { return filepath.Join(dir, name+".gguf") }

// cmdGen writes the 8B-shaped model and three rank-16 adapters.
func cmdGen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	dir := fs.String("dir", "gpubench-data", "output directory")
	layers := fs.Int("layers", 0, "override the layer count (0: 32; for quick tests)")
	fs.Parse(args)
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	o := gguf.Llama8BShape()
	if *layers > 0 {
		o.Layers = *layers
	}
	t := time.Now()
	if err := gguf.WriteLlama(modelPath(*dir), o); err != nil {
		return err
	}
	st, err := os.Stat(modelPath(*dir))
	if err != nil {
		return err
	}
	fmt.Printf("gen: %s: %.2f GiB in %.1fs\n", modelPath(*dir), float64(st.Size())/(1<<30), time.Since(t).Seconds())
	for i, n := range adapterNames {
		t = time.Now()
		if err := gguf.WriteLoRA(adapterPath(*dir, n), o, gguf.LoRAOptions{Rank: 16, Seed: int64(100 + i)}); err != nil {
			return err
		}
		st, _ := os.Stat(adapterPath(*dir, n))
		fmt.Printf("gen: %s: %.1f MiB in %.1fs\n", adapterPath(*dir, n), float64(st.Size())/(1<<20), time.Since(t).Seconds())
	}
	// Adapters of the same rank on fewer targets, for the cost of each
	// (bench: decode with each).
	for _, ta := range targetAdapters {
		t = time.Now()
		if err := gguf.WriteLoRA(adapterPath(*dir, ta.name), o, gguf.LoRAOptions{Rank: 16, Seed: 200, Targets: ta.targets}); err != nil {
			return err
		}
		st, _ := os.Stat(adapterPath(*dir, ta.name))
		fmt.Printf("gen: %s: %.1f MiB in %.1fs\n", adapterPath(*dir, ta.name), float64(st.Size())/(1<<20), time.Since(t).Seconds())
	}
	return nil
}

// targetAdapters are rank-16 adapters on subsets of the default targets.
var targetAdapters = []struct {
	name    string
	targets []string
}{
	{"t-qv", []string{"attn_q", "attn_v"}},
	{"t-attn", []string{"attn_q", "attn_k", "attn_v", "attn_output"}},
	{"t-ffn", []string{"ffn_gate", "ffn_up", "ffn_down"}},
}

// blobInfo is what put leaves for ttft: the blob's id and where its cache
// file is.
type blobInfo struct {
	ID        uint64 `json:"id"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	CachePath string `json:"cache_path"`
}

func blobInfoPath(store string) string { return filepath.Join(store, "gpubench-blob.json") }

// cmdPut imports the model into a living image's store as a blob and places
// the cache file where the VM keeps it (cache/model-<sha256>.gguf), as after
// an earlier MaterializeModel: a hard link to the generated file (same
// bytes; the VM itself writes it from the blob).
func cmdPut(args []string) error {
	fs := flag.NewFlagSet("put", flag.ExitOnError)
	dir := fs.String("dir", "gpubench-data", "directory of the generated model")
	store := fs.String("store", "gpubench-store", "store directory")
	fs.Parse(args)
	ctx := context.Background()
	t := time.Now()
	s, err := object.Open(*store, object.Options{NoSync: true})
	if err != nil {
		return err
	}
	f, err := os.Open(modelPath(*dir))
	if err != nil {
		s.Close()
		return err
	}
	ref, err := s.PutBlob(ctx, f)
	f.Close()
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	sum := hex.EncodeToString(ref.SHA256[:])
	cache := filepath.Join(*store, "cache", "model-"+sum+".gguf")
	if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
		return err
	}
	if err := os.Link(modelPath(*dir), cache); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	b, _ := json.Marshal(blobInfo{ID: ref.ID, Size: ref.Size, SHA256: sum, CachePath: cache})
	if err := os.WriteFile(blobInfoPath(*store), b, 0o644); err != nil {
		return err
	}
	fmt.Printf("put: blob %d, %d bytes, sha256 %s, in %.1fs\n", ref.ID, ref.Size, sum[:16], time.Since(t).Seconds())
	return nil
}
