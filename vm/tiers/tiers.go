package tiers

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/batos/batos/object"
	"github.com/batos/batos/object/blobfile"
)

// Loader is a model that can hold LoRA adapters resident ("hot"). The
// Tiers serialize calls to LoadAdapter and UnloadAdapter and never unload
// an adapter a running generation has pinned.
type Loader interface {
	// LoadAdapter makes the adapter stored in the file at path resident
	// under name.
	LoadAdapter(ctx context.Context, name, path string) error
	// UnloadAdapter releases the resident adapter name.
	UnloadAdapter(ctx context.Context, name string) error
}

// Options configure Tiers.
type Options struct {
	Dir  string // the warm tier: files under Dir/adapters
	Hot  int    // adapters resident at once (at least 1)
	Warm int    // files kept in Dir (at least 1)
	// Materialize writes the blob's bytes to path (the cold-to-warm move);
	// it is called outside the tiers' lock.
	Materialize func(ctx context.Context, blob object.BlobRef, path, name string) error
	// Log receives the operator's trace lines ("[MemMan] ...").
	Log func(msg string, attrs ...any)
}

// Status reports the LoRA adapters by memory tier and the tier counters
// since New.
type Status struct {
	Hot  []string // resident in the model
	Warm []string // materialized as files in the cache directory
	Cold []string // every adapter in the image (blobs): filled by the owner of the blobs

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

// Tiers move adapters between cold, warm and hot with LRU eviction. They
// are safe for concurrent use.
type Tiers struct {
	o    Options
	mu   sync.Mutex // serializes every tier move
	tick uint64
	hot  map[string]*hotEntry
	warm map[string]*warmEntry
	st   Status // counters only
}

// New returns empty tiers.
func New(o Options) *Tiers {
	o.Hot, o.Warm = max(o.Hot, 1), max(o.Warm, 1)
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	return &Tiers{o: o, hot: map[string]*hotEntry{}, warm: map[string]*warmEntry{}}
}

// Reset forgets the hot set (a new model holds no adapters).
func (t *Tiers) Reset() {
	t.mu.Lock()
	t.hot = map[string]*hotEntry{}
	t.mu.Unlock()
}

// Acquire makes adapter name hot on m, if m is a Loader, and pins it
// until release is called (a no-op release when name is empty or m holds
// no adapters). Writing a cold adapter's file from its blob
// (the slow part: it may be gigabytes) happens outside the tiers' lock, so
// a generation whose adapter is hot never waits behind another adapter's
// materialization; loading and evicting resident adapters stay serialized.
func (t *Tiers) Acquire(ctx context.Context, m any, name string, blob object.BlobRef) (release func(), err error) {
	loader, ok := m.(Loader)
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
	path := filepath.Join(t.o.Dir, "adapters", blob.Hex()+".gguf")
	t.mu.Lock()
	t.tick++
	if t.pinLocked(name) {
		t.mu.Unlock()
		return release, nil
	}
	warm := t.warmHitLocked(name)
	t.mu.Unlock()
	if !warm {
		t.o.Log("[MemMan] Expert not in the warm cache. Loading from cold storage...", "adapter", name)
		if err := t.o.Materialize(ctx, blob, path, name); err != nil {
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
		if err := t.o.Materialize(ctx, blob, path, name); err != nil {
			return nil, err
		}
		warm = false
	}
	if !warm {
		t.st.ColdLoads++
		t.addWarmLocked(name, path)
	}
	for len(t.hot) >= t.o.Hot {
		victim := lru(t.hot, func(h *hotEntry) (uint64, bool) { return h.last, h.pins == 0 })
		if victim == "" {
			break // every resident adapter is in use; go over capacity briefly
		}
		if err := loader.UnloadAdapter(ctx, victim); err != nil {
			return nil, fmt.Errorf("tiers: unload adapter %s: %w", victim, err)
		}
		delete(t.hot, victim)
		t.st.HotEvictions++
		t.o.Log("[MemMan] Evicted expert from the model.", "adapter", victim)
	}
	t.o.Log("[MemMan] Activating expert into the model...", "adapter", name)
	if err := loader.LoadAdapter(ctx, name, path); err != nil {
		return nil, fmt.Errorf("tiers: load adapter %s: %w", name, err)
	}
	t.st.HotLoads++
	t.hot[name] = &hotEntry{pins: 1, last: t.tick}
	return release, nil
}

// pinLocked pins name when it is hot.
func (t *Tiers) pinLocked(name string) bool {
	h, ok := t.hot[name]
	if ok {
		h.pins++
		h.last = t.tick
		t.st.HotHits++
	}
	return ok
}

// warmHitLocked reports whether the adapter's file is materialized.
func (t *Tiers) warmHitLocked(name string) bool {
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
// used others beyond Options.Warm.
func (t *Tiers) addWarmLocked(name, path string) {
	for len(t.warm) >= t.o.Warm {
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

// Status returns the hot and warm tiers and the counters (Cold empty).
func (t *Tiers) Status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.st
	s.Hot = slices.Sorted(maps.Keys(t.hot))
	s.Warm = slices.Sorted(maps.Keys(t.warm))
	return s
}
