// Package blobfile checks files materialized from object blobs: the model
// and adapter files the VM writes from the living image to a cache
// directory so that llama.cpp can map them.
//
// A materialized file matches its blob when it has the blob's size and
// SHA-256. Hashing a multi-gigabyte model at every start is slow, so a
// stamp file beside it (path + Suffix) records the size, modification time
// and hash of the last full check; while the file's size and modification
// time still match the stamp, Matches trusts it. Any write to the file
// changes its modification time and so forces a full check.
//
// The functions are safe for concurrent use on different paths; two
// writers of one stamp race harmlessly (the stamp is only a shortcut).
package blobfile

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/batos/batos/object"
)

// Suffix names the verification stamp beside a materialized file.
const Suffix = ".verified"

func stampLine(st os.FileInfo, blob object.BlobRef) string {
	return fmt.Sprintf("%d %d %s\n", st.Size(), st.ModTime().UnixNano(), blob.Hex())
}

// StampMatches reports whether the file at path has the blob's size and a
// stamp that still matches its size and modification time: the check
// without hashing. A missing file is false with no error.
func StampMatches(path string, blob object.BlobRef) (bool, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if st.Size() != blob.Size {
		return false, nil
	}
	stamp, err := os.ReadFile(path + Suffix)
	return err == nil && string(stamp) == stampLine(st, blob), nil
}

// HashMatches reports whether the file at path has the blob's size and
// SHA-256, reading it whole. It writes no stamp. A missing file is false
// with no error.
func HashMatches(path string, blob object.BlobRef) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	if st.Size() != blob.Size {
		return false, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum == blob.SHA256, nil
}

// Matches reports whether the file at path holds the blob's bytes: by its
// stamp when the file is untouched since the last full check, else by
// hashing it (and then stamping it).
func Matches(path string, blob object.BlobRef) (bool, error) {
	if ok, err := StampMatches(path, blob); err != nil || ok {
		return ok, err
	}
	ok, err := HashMatches(path, blob)
	if ok {
		WriteStamp(path, blob)
	}
	return ok, err
}

// WriteStamp records that the file at path was verified against blob.
// Failing to write it only costs a full check next time, so it reports
// nothing.
func WriteStamp(path string, blob object.BlobRef) {
	st, err := os.Stat(path)
	if err != nil {
		return
	}
	_ = os.WriteFile(path+Suffix, []byte(stampLine(st, blob)), 0o644)
}
