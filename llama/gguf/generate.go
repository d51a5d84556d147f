package gguf

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// genTensor is a tensor to generate: constant Fill when Sigma is 0,
// otherwise bell-shaped random values with standard deviation Sigma
// around Fill.
type genTensor struct {
	TensorInfo
	Sigma float32
	Fill  float32
	// Direct draws Q4_K and Q8_0 blocks at random (randomQ4K, randomQ8_0)
	// instead of quantizing random float values.
	Direct bool
}

// chunkElems is the number of elements generated per work item; a
// multiple of every block size.
const chunkElems = 1 << 20

type chunk struct {
	ti     int   // tensor index
	ci     int64 // chunk index within the tensor
	n      int64 // elements
	result chan chunkResult
}

type chunkResult struct {
	b   []byte
	err error
}

// writeGenerated writes a GGUF file with metadata md and generated
// tensors to path, atomically (a temporary file renamed into place).
// Tensor data is produced in chunks by parallel workers and written in
// order, so memory stays at a few chunks per worker whatever the model
// size.
func writeGenerated(path string, md Metadata, specs []genTensor, seed int64) (err error) {
	infos := make([]TensorInfo, len(specs))
	for i, s := range specs {
		infos[i] = s.TensorInfo
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w, err := NewWriter(tmp, md, infos)
	if err != nil {
		return err
	}
	if err := generateData(w, specs, seed, runtime.GOMAXPROCS(0)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// generateData streams the data of specs, in order, to w.
func generateData(w io.Writer, specs []genTensor, seed int64, workers int) error {
	workers = max(workers, 1)
	jobs := make(chan chunk, workers)
	order := make(chan chunk, 2*workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // producer
		defer wg.Done()
		defer close(jobs)
		defer close(order)
		for ti, s := range specs {
			total := s.Elements()
			for ci := int64(0); ci*chunkElems < total; ci++ {
				c := chunk{ti: ti, ci: ci, n: min(chunkElems, total-ci*chunkElems), result: make(chan chunkResult, 1)}
				select {
				case order <- c:
				case <-stop:
					return
				}
				select {
				case jobs <- c:
				case <-stop:
					return
				}
			}
		}
	}()
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := make([]float32, chunkElems)
			var q Q4KQuantizer
			for c := range jobs {
				b, err := genChunk(specs[c.ti], c, seed, x[:c.n], &q)
				c.result <- chunkResult{b, err}
			}
		}()
	}
	var err error
	for c := range order {
		r := <-c.result
		if r.err == nil {
			_, r.err = w.Write(r.b)
		}
		if r.err != nil {
			err = fmt.Errorf("tensor %q: %w", specs[c.ti].Name, r.err)
			break
		}
	}
	close(stop)
	for range order { // let the producer finish
	}
	for range jobs {
	}
	wg.Wait()
	return err
}

func genChunk(s genTensor, c chunk, seed int64, x []float32, q *Q4KQuantizer) ([]byte, error) {
	if s.Direct && s.Sigma != 0 {
		rng := mix(seed, uint64(c.ti), uint64(c.ci))
		out := make([]byte, 0, s.Type.RowSize(int64(len(x))))
		switch s.Type {
		case Q4_K:
			return randomQ4K(out, int64(len(x)), rng, s.Sigma), nil
		case Q8_0:
			return randomQ8_0(out, int64(len(x)), rng, s.Sigma), nil
		}
	}
	if s.Sigma == 0 {
		for i := range x {
			x[i] = s.Fill
		}
	} else {
		fillBell(x, mix(seed, uint64(c.ti), uint64(c.ci)), s.Sigma)
		if s.Fill != 0 {
			for i := range x {
				x[i] += s.Fill
			}
		}
	}
	out := make([]byte, 0, s.Type.RowSize(int64(len(x))))
	if s.Type == Q4_K {
		return q.Quantize(out, x)
	}
	return Encode(out, s.Type, x)
}
