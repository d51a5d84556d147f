package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/batos/batos/llama"
	"github.com/batos/batos/object"
	"github.com/batos/batos/object/blobfile"
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
			hit, err := blobfile.StampMatches(path, ref)
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
						blobfile.WriteStamp(path, ref)
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

// fileMatches is the full check vm.MaterializeModel makes when the stamp
// does not match (package blobfile): the file has the blob's size and
// SHA-256.
func fileMatches(path string, ref object.BlobRef) error {
	ok, err := blobfile.HashMatches(path, ref)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s does not hold blob %s", path, ref.Hex()[:16])
	}
	return nil
}
