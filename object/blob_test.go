package object

import (
	"context"

	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// prng is a deterministic, fast reader of pseudo-random bytes.
type prng struct {
	r    *rand.ChaCha8
	left int64
}

func newPRNG(seed byte, n int64) *prng {
	var s [32]byte
	s[0] = seed
	return &prng{r: rand.NewChaCha8(s), left: n}
}

func (p *prng) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, _ := p.r.Read(b)
	p.left -= int64(n)
	return n, nil
}

// rssBytes returns the process's resident set size.
func rssBytes(t testing.TB) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("VmRSS not found")
	return 0
}

// peakRSS samples RSS while fn runs and returns the peak.
func peakRSS(t testing.TB, fn func()) int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if r := rssBytes(t); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	return peak.Load()
}

func TestBlobCorruption(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	ref, err := s.PutBlob(ctx, newPRNG(2, 3*BlobChunkSize+17))
	if err != nil {
		t.Fatal(err)
	}
	readAll := func() error {
		r, err := s.OpenBlob(ctx, ref.ID)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(io.Discard, r)
		return err
	}
	if err := readAll(); err != nil {
		t.Fatalf("intact blob: %v", err)
	}
	key := chunkKey(ref.ID, 1)
	v, closer, err := s.db.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), v...)
	closer.Close()
	flipped[100] ^= 1
	cases := []struct {
		name  string
		apply func() error
	}{
		{"flipped bit", func() error { return s.db.Set(key, flipped, nil) }},
		{"missing chunk", func() error { return s.db.Delete(key, nil) }},
		{"truncated tail", func() error { return s.db.Delete(chunkKey(ref.ID, 3), nil) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.apply(); err != nil {
				t.Fatal(err)
			}
			if err := readAll(); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
	if _, err := s.OpenBlob(ctx, 987654); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing blob: %v", err)
	}
}

func TestBlobCollect(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	kept, _ := s.PutBlob(ctx, strings.NewReader("kept"))
	nested, _ := s.PutBlob(ctx, strings.NewReader("nested"))
	dropped, _ := s.PutBlob(ctx, strings.NewReader("dropped"))
	mustUpdate(t, s, func(tx *Tx) error {
		_, err := tx.New(map[string]Value{"model": kept, "adapters": Map{"brick": List{nested}}})
		return err
	})
	if dry, err := s.UnreferencedBlobs(ctx); err != nil || len(dry) != 1 || dry[0].ID != dropped.ID {
		t.Fatalf("UnreferencedBlobs = %v, %v; want the dropped one", dry, err)
	}
	if _, err := s.Blob(ctx, dropped.ID); err != nil {
		t.Fatalf("the dry run deleted: %v", err)
	}
	gone, err := s.CollectBlobs(ctx)
	if n := len(gone); err != nil || n != 1 {
		t.Fatalf("CollectBlobs = %d, %v; want 1", n, err)
	}
	for _, id := range []uint64{kept.ID, nested.ID} {
		if _, err := s.Blob(ctx, id); err != nil {
			t.Errorf("referenced blob %d: %v", id, err)
		}
	}
	if _, err := s.Blob(ctx, dropped.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("unreferenced blob survived: %v", err)
	}
	if orphans := countChunks(t, s, dropped.ID); orphans != 0 {
		t.Errorf("%d chunks of the deleted blob remain", orphans)
	}
}

// countChunks counts the stored chunks of blob id.
func countChunks(t testing.TB, s *Store, id uint64) int {
	n := 0
	for i := uint64(0); ; i++ {
		_, closer, err := s.db.Get(chunkKey(id, i))
		if err != nil {
			return n
		}
		closer.Close()
		n++
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n > 2*BlobChunkSize {
		return 0, errors.New("source failed")
	}
	f.n += len(p)
	return len(p), nil
}

func TestBlobFailedWriteLeavesNothing(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	if _, err := s.PutBlob(ctx, &failingReader{}); err == nil {
		t.Fatal("PutBlob succeeded on a failing source")
	}
	blobs, err := s.Blobs(ctx)
	if err != nil || len(blobs) != 0 {
		t.Fatalf("Blobs = %v, %v", blobs, err)
	}
	it, _ := s.db.NewIter(nil)
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if it.Key()[0] == prefixChunk {
			t.Fatalf("chunk %x left behind", it.Key())
		}
	}
}
