//go:build !race

// The race detector's shadow memory would dominate the RSS being measured
// (and slows the 1 GiB stream tenfold), so this test is built without -race;
// `make test` runs it in a separate plain `go test`.

package object

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"testing"
)

func TestBlobRoundTripLarge(t *testing.T) {
	size := int64(1 << 30)
	if testing.Short() {
		size = 64 << 20
	}
	s := openTest(t, Options{})
	ctx := context.Background()
	want := sha256.New()
	io.Copy(want, newPRNG(1, size))
	base := rssBytes(t)
	var ref BlobRef
	peak := peakRSS(t, func() {
		var err error
		ref, err = s.PutBlob(ctx, newPRNG(1, size))
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.OpenBlob(ctx, ref.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.New()
		n, err := io.Copy(got, r)
		r.Close()
		if err != nil || n != size {
			t.Fatalf("read %d bytes, err %v", n, err)
		}
		if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
			t.Fatal("blob content differs")
		}
	})
	if ref.Size != size || !bytes.Equal(ref.SHA256[:], want.Sum(nil)) {
		t.Fatalf("ref = %+v", ref)
	}
	growth := peak - base
	t.Logf("blob %d MiB: RSS base %d MiB, peak %d MiB", size>>20, base>>20, peak>>20)
	// The bound is far below the blob's size: the blob is never held whole.
	if limit := int64(256 << 20); growth > limit {
		t.Errorf("RSS grew by %d MiB while streaming a %d MiB blob (limit %d MiB)", growth>>20, size>>20, limit>>20)
	}
}
