package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/batos/batos/llama"
	"github.com/batos/batos/object"
)

// cmdTTFT measures one restart: from the start of this process to the first
// generated token. Run it as a fresh process per sample.
//
//	plain:   load the backend, llama.Open the generated file, first token.
//	blob:     load the backend, open the store, look the blob up, check the
//	          cache file as vm.MaterializeModel does since commit 8e3d6be
//	          (size, then the ".verified" stamp of size, modification time
//	          and hash; SHA-256 of the whole file only without a matching
//	          stamp, which it then writes), llama.Open it, first token.
//	blobfull: as blob, but always the full SHA-256 (vm before 8e3d6be).
//	blobpar:  as blobfull, but the SHA-256 runs concurrently with
//	          llama.Open (the model would be discarded on a mismatch).
func cmdTTFT(args []string) error {
	fs := flag.NewFlagSet("ttft", flag.ExitOnError)
	var c common
	c.register(fs)
	mode := fs.String("mode", "plain", "plain, blob, blobfull or blobpar")
	store := fs.String("store", "gpubench-store", "store directory (blob modes)")
	out := fs.String("out", "", "append the result as a JSON line to this file")
	fs.Parse(args)
	ctx := context.Background()
	res := map[string]any{"mode": *mode, "ngl": c.ngl}
	lap := time.Now()
	phase := func(name string) {
		res[name+"_s"] = time.Since(lap).Seconds()
		lap = time.Now()
	}
	res["process_to_main_s"] = time.Since(start).Seconds()
	if c.backend != "" {
		if _, err := llama.LoadBackend(c.backend); err != nil {
			return err
		}
	}
	phase("backend")
	path := modelPath(c.dir)
	var verify chan error
	switch *mode {
	case "plain":
	case "blob", "blobfull", "blobpar":
		b, err := os.ReadFile(blobInfoPath(*store))
		if err != nil {
			return err
		}
		var bi blobInfo
		if err := json.Unmarshal(b, &bi); err != nil {
			return err
		}
		s, err := object.Open(*store, object.Options{})
		if err != nil {
			return err
		}
		ref, err := s.Blob(ctx, bi.ID)
		s.Close()
		if err != nil {
			return err
		}
		phase("store")
		path = bi.CachePath
		verify = make(chan error, 1)
		if *mode == "blob" {
			hit, err := stampMatches(path, ref)
			if err != nil {
				return err
			}
			res["stamp_hit"] = hit
			if hit {
				verify <- nil
			} else {
				go func() {
					err := fileMatches(path, ref)
					if err == nil {
						writeStamp(path, ref)
					}
					verify <- err
				}()
			}
		} else {
			go func() { verify <- fileMatches(path, ref) }()
		}
		if *mode != "blobpar" {
			if err := <-verify; err != nil {
				return err
			}
			verify = nil
			phase("verify")
		}
	default:
		return fmt.Errorf("unknown -mode %q", *mode)
	}
	m, err := llama.Open(ctx, path, llama.ModelOptions{GPULayers: c.ngl, Threads: c.threads})
	if err != nil {
		return err
	}
	defer m.Close()
	phase("open")
	if verify != nil {
		if err := <-verify; err != nil {
			return err
		}
		phase("verify_wait")
	}
	s, err := m.NewSession(llama.SessionOptions{ContextSize: 512})
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := s.Generate(ctx, llama.Request{Prompt: "Hello, Alfred.", MaxTokens: 1})
	if err != nil {
		return err
	}
	if len(r.Tokens) != 1 {
		return fmt.Errorf("ttft: %d tokens", len(r.Tokens))
	}
	phase("first_token")
	res["ttft_s"] = time.Since(start).Seconds()
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		f.Write(append(b, '\n'))
	}
	return nil
}

// stampSuffix and stampLine are vm's verification stamp (vm/tiers.go since
// commit 8e3d6be): a file beside the cache file recording the size,
// modification time and hash of its last full check.
const stampSuffix = ".verified"

func stampLine(st os.FileInfo, ref object.BlobRef) string {
	return fmt.Sprintf("%d %d %s\n", st.Size(), st.ModTime().UnixNano(), ref.Hex())
}

// stampMatches reports whether the file has the blob's size and a stamp
// that still matches its size and modification time.
func stampMatches(path string, ref object.BlobRef) (bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	if st.Size() != ref.Size {
		return false, fmt.Errorf("%s: size %d, blob %d", path, st.Size(), ref.Size)
	}
	stamp, err := os.ReadFile(path + stampSuffix)
	return err == nil && string(stamp) == stampLine(st, ref), nil
}

func writeStamp(path string, ref object.BlobRef) {
	if st, err := os.Stat(path); err == nil {
		_ = os.WriteFile(path+stampSuffix, []byte(stampLine(st, ref)), 0o644)
	}
}

// fileMatches is vm's full check (vm/tiers.go): the file has the blob's size
// and SHA-256.
func fileMatches(path string, ref object.BlobRef) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != ref.Size {
		return fmt.Errorf("%s: size %d, blob %d", path, st.Size(), ref.Size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	if sum != ref.SHA256 {
		return fmt.Errorf("%s: sha256 %s does not match the blob", path, hex.EncodeToString(sum[:8]))
	}
	return nil
}
