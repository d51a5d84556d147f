package vm

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos/batos/object"
)

// loaderModel is an AdapterLoader that only records loads.
type loaderModel struct {
	mu    sync.Mutex
	loads []string
}

func (l *loaderModel) Generate(context.Context, Generation) (string, error) { return "", nil }
func (l *loaderModel) LoadAdapter(_ context.Context, name, _ string) error {
	l.mu.Lock()
	l.loads = append(l.loads, name)
	l.mu.Unlock()
	return nil
}
func (l *loaderModel) UnloadAdapter(context.Context, string) error { return nil }

// A generation whose adapter is hot does not wait while another adapter's
// file is written from its blob.
func TestHotAdapterDoesNotWaitBehindColdLoad(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{}
	for _, n := range []string{"a", "b"} {
		files[n] = filepath.Join(src, n+".gguf")
		if err := os.WriteFile(files[n], []byte(strings.Repeat(n, 4096)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	entered, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	store, err := object.Open(t.TempDir(), object.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	m := &loaderModel{}
	v, err := Open(ctx, store, Options{Model: m, Adapters: files, CacheDir: t.TempDir(), HotAdapters: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Progress: func(name string, done, total int64) {
			if name == "B" && done == total {
				once.Do(func() { close(entered) })
				<-gate // B's materialization is stuck until the test lets it go
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(ctx)
	blob := func(name string) object.BlobRef {
		var ref object.BlobRef
		store.View(ctx, func(tx *object.Tx) error {
			p, err := tx.Get(v.r.pLLM)
			if err != nil {
				return err
			}
			proxy, err := tx.Get(object.OID(p.Slots["lora_repository"].(object.Map)[name].(object.Ref)))
			if err != nil {
				return err
			}
			ref = proxy.Slots["model_blob"].(object.BlobRef)
			return nil
		})
		return ref
	}
	rel, err := v.tiers.acquire(ctx, m, "A", blob("A"))
	if err != nil {
		t.Fatal(err)
	}
	rel()
	coldDone := make(chan error, 1)
	go func() {
		rel, err := v.tiers.acquire(ctx, m, "B", blob("B"))
		if err == nil {
			rel()
		}
		coldDone <- err
	}()
	<-entered
	hot := make(chan error, 1)
	go func() {
		rel, err := v.tiers.acquire(ctx, m, "A", blob("A"))
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
	if st := v.tiers.status(); st.HotHits != 1 || st.ColdLoads != 2 || st.HotLoads != 2 {
		t.Errorf("counters %+v", st)
	}
}
