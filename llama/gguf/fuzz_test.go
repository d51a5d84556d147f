package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzRead feeds arbitrary bytes to Read: it must return an error or a
// File whose tensors can all be read, and writing that File back must
// reproduce an equivalent file.
func FuzzRead(f *testing.F) {
	f.Add(writeFile(f, allTypes, makeTensors(f)))
	f.Add(writeFile(f, Metadata{{KeyAlignment, uint32(8)}}, makeTensors(f)[:1]))
	f.Add([]byte("GGUF\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	// A small generated model with the real vocabulary.
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.gguf")
	if err := WriteLlama(path, LlamaOptions{Layers: 1, Embd: 32, Heads: 2, HeadsKV: 1, FF: 32, Type: Q8_0}); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)

	f.Fuzz(func(t *testing.T, b []byte) {
		gf, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		var tensors []testTensor
		for _, ti := range gf.Tensors {
			data, err := gf.TensorData(ti.Name)
			if err != nil {
				t.Fatalf("tensor %q of a valid file: %v", ti.Name, err)
			}
			if ti.Type.Codec() {
				if _, err := gf.Float32s(ti.Name); err != nil {
					t.Fatalf("decode %q: %v", ti.Name, err)
				}
			}
			tensors = append(tensors, testTensor{ti, data})
		}
		ValidateLlama(gf) // must not panic
		out := writeFile(t, gf.Metadata, tensors)
		g2, err := Read(bytes.NewReader(out), int64(len(out)))
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if !reflect.DeepEqual(normalize(g2.Metadata), normalize(gf.Metadata)) || len(g2.Tensors) != len(gf.Tensors) {
			t.Fatalf("round trip changed the header")
		}
		for i, ti := range g2.Tensors {
			d2, _ := g2.TensorData(ti.Name)
			if !bytes.Equal(d2, tensors[i].data) {
				t.Fatalf("round trip changed tensor %q", ti.Name)
			}
		}
	})
}

// normalize makes NaNs comparable for DeepEqual by replacing values with
// their encoding.
func normalize(md Metadata) []string {
	var out []string
	for _, kv := range md {
		e := encoder{}
		e.kv(kv)
		out = append(out, string(e.b))
	}
	return out
}

// FuzzCheckHeader feeds arbitrary bytes to CheckHeader: it must return nil
// or a *FormatError, never panic or allocate by what the header claims.
// A generated model passes.
func FuzzCheckHeader(f *testing.F) {
	path := filepath.Join(f.TempDir(), "tiny.gguf")
	if err := WriteLlama(path, TinyLlama()); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	if err := CheckHeader(bytes.NewReader(good), int64(len(good))); err != nil {
		f.Fatalf("generated model rejected: %v", err)
	}
	f.Add(good[:min(len(good), 16384)])
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Add([]byte{})
	f.Add(writeFile(f, allTypes, makeTensors(f)))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkBytes(t, b)
	})
}
