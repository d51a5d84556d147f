package blobfile_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batos/batos/object"
	"github.com/batos/batos/object/blobfile"
)

func refOf(b []byte) object.BlobRef {
	return object.BlobRef{ID: 1, Size: int64(len(b)), SHA256: sha256.Sum256(b)}
}

func TestMatches(t *testing.T) {
	data := []byte("the model's bytes")
	ref := refOf(data)
	for _, tc := range []struct {
		name    string
		setup   func(path string)
		stamp   bool // StampMatches before Matches
		matches bool
		after   bool // StampMatches after Matches
	}{
		{"missing", func(string) {}, false, false, false},
		{"same bytes, no stamp: hashed, then stamped", func(p string) { os.WriteFile(p, data, 0o644) }, false, true, true},
		{"stamped", func(p string) { os.WriteFile(p, data, 0o644); blobfile.WriteStamp(p, ref) }, true, true, true},
		{"other bytes of the same size", func(p string) { os.WriteFile(p, []byte("THE MODEL'S BYTES"), 0o644) }, false, false, false},
		{"shorter", func(p string) { os.WriteFile(p, data[:5], 0o644) }, false, false, false},
		{"rewritten after its stamp: checked again", func(p string) {
			os.WriteFile(p, data, 0o644)
			blobfile.WriteStamp(p, ref)
			time.Sleep(10 * time.Millisecond)
			os.WriteFile(p, []byte("THE MODEL'S BYTES"), 0o644)
		}, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.gguf")
			tc.setup(path)
			if got, err := blobfile.StampMatches(path, ref); err != nil || got != tc.stamp {
				t.Errorf("StampMatches = %v, %v; want %v", got, err, tc.stamp)
			}
			if got, err := blobfile.Matches(path, ref); err != nil || got != tc.matches {
				t.Errorf("Matches = %v, %v; want %v", got, err, tc.matches)
			}
			if got, _ := blobfile.StampMatches(path, ref); got != tc.after {
				t.Errorf("StampMatches after Matches = %v, want %v", got, tc.after)
			}
		})
	}
}

func Example() {
	dir, _ := os.MkdirTemp("", "blobfile")
	defer os.RemoveAll(dir)
	data := []byte("weights")
	ref := object.BlobRef{ID: 7, Size: int64(len(data)), SHA256: sha256.Sum256(data)}
	path := filepath.Join(dir, "model-"+ref.Hex()+".gguf")
	os.WriteFile(path, data, 0o644)

	quick, _ := blobfile.StampMatches(path, ref) // no stamp yet
	ok, _ := blobfile.Matches(path, ref)         // hashes, then stamps
	again, _ := blobfile.StampMatches(path, ref) // trusted without hashing
	fmt.Println(quick, ok, again)
	// Output: false true true
}
