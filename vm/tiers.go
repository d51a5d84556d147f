package vm

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/batos/batos/object"
	"github.com/batos/batos/object/blobfile"
)

// AdapterStatus reports the LoRA adapters by memory tier and the tier
// counters since Open.
type AdapterStatus struct {
	Hot  []string // resident in the model
	Warm []string // materialized as files in the cache directory
	Cold []string // every adapter in the image (blobs)

	HotHits       int64 // activations that found the adapter resident
	WarmHits      int64 // activations that found its file materialized
	ColdLoads     int64 // files materialized from blobs
	HotLoads      int64 // LoadAdapter calls
	HotEvictions  int64 // UnloadAdapter calls for capacity
	WarmEvictions int64 // files removed for capacity
}

type hotEntry struct {
	pins int // running generations using it
	last uint64
}

type warmEntry struct {
	path string
	last uint64
}

// tiers moves adapters between cold, warm and hot with LRU eviction.
type tiers struct {
	v    *VM
	mu   sync.Mutex // serializes every tier move
	tick uint64
	hot  map[string]*hotEntry
	warm map[string]*warmEntry
	st   AdapterStatus // counters only
}

func newTiers(v *VM) *tiers {
	return &tiers{v: v, hot: map[string]*hotEntry{}, warm: map[string]*warmEntry{}}
}

// reset forgets the hot set (a new model holds no adapters).
func (t *tiers) reset() {
	t.mu.Lock()
	t.hot = map[string]*hotEntry{}
	t.mu.Unlock()
}

// acquire makes adapter name hot on m, if m is an AdapterLoader, and pins
// it until release is called. Writing a cold adapter's file from its blob
// (the slow part: it may be gigabytes) happens outside the tiers' lock, so
// a generation whose adapter is hot never waits behind another adapter's
// materialization; loading and evicting resident adapters stay serialized.
func (t *tiers) acquire(ctx context.Context, m Model, name string, blob object.BlobRef) (release func(), err error) {
	loader, ok := m.(AdapterLoader)
	if name == "" || !ok {
		return func() {}, nil
	}
	release = func() {
		t.mu.Lock()
		if h, ok := t.hot[name]; ok && h.pins > 0 {
			h.pins--
		}
		t.mu.Unlock()
	}
	path := filepath.Join(t.v.cacheDir(), "adapters", blob.Hex()+".gguf")
	t.mu.Lock()
	t.tick++
	if t.pinLocked(name) {
		t.mu.Unlock()
		return release, nil
	}
	warm := t.warmHitLocked(name)
	t.mu.Unlock()
	if !warm {
		t.v.line("[MemMan] Expert not in the warm cache. Loading from cold storage...", "adapter", name)
		if err := t.v.materialize(ctx, blob, path, name); err != nil {
			return nil, err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pinLocked(name) { // another generation made it hot meanwhile
		return release, nil
	}
	if _, err := os.Stat(path); warm && err != nil {
		// Evicted from the warm tier between the two locks: write it
		// again, under the lock this once.
		if err := t.v.materialize(ctx, blob, path, name); err != nil {
			return nil, err
		}
		warm = false
	}
	if !warm {
		t.st.ColdLoads++
		t.addWarmLocked(name, path)
	}
	for len(t.hot) >= t.v.opts.HotAdapters {
		victim := lru(t.hot, func(h *hotEntry) (uint64, bool) { return h.last, h.pins == 0 })
		if victim == "" {
			break // every resident adapter is in use; go over capacity briefly
		}
		if err := loader.UnloadAdapter(ctx, victim); err != nil {
			return nil, fmt.Errorf("vm: unload adapter %s: %w", victim, err)
		}
		delete(t.hot, victim)
		t.st.HotEvictions++
		t.v.line("[MemMan] Evicted expert from the model.", "adapter", victim)
	}
	t.v.line("[MemMan] Activating expert into the model...", "adapter", name)
	if err := loader.LoadAdapter(ctx, name, path); err != nil {
		return nil, fmt.Errorf("vm: load adapter %s: %w", name, err)
	}
	t.st.HotLoads++
	t.hot[name] = &hotEntry{pins: 1, last: t.tick}
	return release, nil
}

// pinLocked pins name when it is hot.
func (t *tiers) pinLocked(name string) bool {
	h, ok := t.hot[name]
	if ok {
		h.pins++
		h.last = t.tick
		t.st.HotHits++
	}
	return ok
}

// warmHitLocked reports whether the adapter's file is materialized.
func (t *tiers) warmHitLocked(name string) bool {
	if w, ok := t.warm[name]; ok {
		if _, err := os.Stat(w.path); err == nil {
			w.last = t.tick
			t.st.WarmHits++
			return true
		}
		delete(t.warm, name)
	}
	return false
}

// addWarmLocked records a materialized file, evicting the least recently
// used others beyond Options.WarmAdapters.
func (t *tiers) addWarmLocked(name, path string) {
	for len(t.warm) >= t.v.opts.WarmAdapters {
		victim := lru(t.warm, func(w *warmEntry) (uint64, bool) { return w.last, true })
		os.Remove(t.warm[victim].path)
		os.Remove(t.warm[victim].path + blobfile.Suffix)
		delete(t.warm, victim)
		t.st.WarmEvictions++
	}
	t.warm[name] = &warmEntry{path: path, last: t.tick}
}

func lru[E any](m map[string]E, key func(E) (uint64, bool)) string {
	best, bestLast := "", uint64(0)
	for _, name := range slices.Sorted(maps.Keys(m)) {
		last, ok := key(m[name])
		if ok && (best == "" || last < bestLast) {
			best, bestLast = name, last
		}
	}
	return best
}

func (t *tiers) status() AdapterStatus {
	t.mu.Lock()
	s := t.st
	s.Hot = slices.Sorted(maps.Keys(t.hot))
	s.Warm = slices.Sorted(maps.Keys(t.warm))
	t.mu.Unlock()
	err := t.v.store.View(context.Background(), func(tx *object.Tx) error {
		p, err := tx.Get(t.v.r.pLLM)
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
		t.v.log.Warn("[UVM] adapter status: cannot read the cold tier", "err", err)
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
