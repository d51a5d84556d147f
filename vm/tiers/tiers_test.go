package tiers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batos/batos/object"
)

// loader is a Loader that only records loads and unloads.
type loader struct {
	mu     sync.Mutex
	events []string
}

func (l *loader) LoadAdapter(_ context.Context, name, path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	l.mu.Lock()
	l.events = append(l.events, "load "+name)
	l.mu.Unlock()
	return nil
}

func (l *loader) UnloadAdapter(_ context.Context, name string) error {
	l.mu.Lock()
	l.events = append(l.events, "unload "+name)
	l.mu.Unlock()
	return nil
}

func blob(n byte) object.BlobRef {
	var b object.BlobRef
	b.ID, b.SHA256[0] = uint64(n), n
	b.Size = 4
	return b
}

// write is a Materialize that writes a small file.
func write(_ context.Context, _ object.BlobRef, path, name string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(name), 0o644)
}

// A generation whose adapter is hot does not wait while another adapter's
// file is written from its blob.
func TestHotAdapterDoesNotWaitBehindColdLoad(t *testing.T) {
	entered, gate := make(chan struct{}), make(chan struct{})
	tr := New(Options{Dir: t.TempDir(), Hot: 2, Warm: 4, Materialize: func(ctx context.Context, b object.BlobRef, path, name string) error {
		if name == "B" {
			close(entered)
			<-gate // B's materialization is stuck until the test lets it go
		}
		return write(ctx, b, path, name)
	}})
	ctx := context.Background()
	m := &loader{}
	rel, err := tr.Acquire(ctx, m, "A", blob(1))
	if err != nil {
		t.Fatal(err)
	}
	rel()
	coldDone := make(chan error, 1)
	go func() {
		rel, err := tr.Acquire(ctx, m, "B", blob(2))
		if err == nil {
			rel()
		}
		coldDone <- err
	}()
	<-entered
	hot := make(chan error, 1)
	go func() {
		rel, err := tr.Acquire(ctx, m, "A", blob(1))
		if err == nil {
			rel()
		}
		hot <- err
	}()
	select {
	case err := <-hot:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // a deadlock guard, not a speed check
		close(gate)
		t.Fatal("acquiring a hot adapter waited behind another adapter's cold load")
	}
	close(gate)
	if err := <-coldDone; err != nil {
		t.Fatal(err)
	}
	if st := tr.Status(); st.HotHits != 1 || st.ColdLoads != 2 || st.HotLoads != 2 {
		t.Errorf("counters %+v", st)
	}
}

// The least recently used unpinned adapter is evicted; a pinned one never
// is (the tiers go over capacity instead), and a warm file evicted for
// capacity is written again when its adapter comes back.
func TestEviction(t *testing.T) {
	tr := New(Options{Dir: t.TempDir(), Hot: 1, Warm: 2, Materialize: write})
	ctx := context.Background()
	m := &loader{}
	acquire := func(name string) func() {
		t.Helper()
		rel, err := tr.Acquire(ctx, m, name, blob(name[0]))
		if err != nil {
			t.Fatal(err)
		}
		return rel
	}
	acquire("A")() // load A
	relB := acquire("B")
	relC := acquire("C") // B is pinned: over capacity, nothing unloaded for C
	relB()
	relC()
	acquire("A")() // unload B and C, A written again (its file was evicted)
	if got := fmt.Sprint(m.events); got != "[load A unload A load B load C unload B unload C load A]" {
		t.Errorf("events %s", got)
	}
	st := tr.Status()
	if !slices.Equal(st.Hot, []string{"A"}) || !slices.Equal(st.Warm, []string{"A", "C"}) || st.ColdLoads != 4 || st.WarmEvictions != 2 || st.HotEvictions != 3 {
		t.Errorf("status %+v", st)
	}
	if rel, err := tr.Acquire(ctx, nil, "A", blob(1)); err != nil || rel == nil {
		t.Errorf("a model without adapters: %v", err)
	}
}
