package catalog

import (
	"bytes"
	"testing"
)

// FuzzEmbedRec decodes arbitrary bytes as an embedder record: no panic,
// and what decodes encodes back to the same bytes.
func FuzzEmbedRec(f *testing.F) {
	f.Add(embedRec{}.encode())
	f.Add(embedRec{id: "sha256:ab/384", dim: 384, target: "x", cursor: "doc-1", done: 7}.encode())
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeEmbedRec(b)
		if err != nil {
			return
		}
		if got := r.encode(); !bytes.Equal(got, b) {
			// Uvarints have more than one encoding; the decoded record
			// must survive a round trip.
			r2, err := decodeEmbedRec(got)
			if err != nil || r2 != r {
				t.Fatalf("round trip: %+v -> %+v, %v", r, r2, err)
			}
		}
	})
}
