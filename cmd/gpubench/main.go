// Command gpubench measures the llama package on a GPU (issue 9): an
// 8B-shaped Q4_K model with a Llama 3.1 vocabulary, three rank-16 LoRA
// adapters, a CUDA backend loaded by absolute path. It writes JSON results
// that its report step turns into a Markdown table beside the Python
// stack's numbers (scripts/hf_baseline.py). scripts/gpubench.sh runs the
// whole sequence on the GPU machine.
//
// Usage:
//
//	gpubench gen    -dir D                      write D/model.gguf and D/{alfred,robin,oracle}.gguf
//	gpubench put    -dir D -store S             import the model as a blob of the store S and
//	                                            place its cache file as the VM does
//	gpubench bench  -dir D -backend LIB -ngl N -out F.json [-probe] [-grammar]
//	gpubench ttft   -mode plain|blob|blobpar -dir D -store S -backend LIB -ngl N -out F.jsonl
//	gpubench report -o gpu.md -full F.json -partial F.json -ttft F.jsonl -hf hf.json ...
//
// -ngl -1 offloads every layer (33 of 33: 32 blocks and the output layer).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

var start = time.Now()

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "gen":
		err = cmdGen(args)
	case "put":
		err = cmdPut(args)
	case "bench":
		err = cmdBench(args)
	case "ttft":
		err = cmdTTFT(args)
	case "report":
		err = cmdReport(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpubench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gpubench gen|put|bench|ttft|report [flags] (see go doc ./cmd/gpubench)")
	os.Exit(2)
}

// common flags
type common struct {
	dir     string
	backend string
	ngl     int
	threads int
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dir, "dir", "gpubench-data", "directory of the generated model and adapters")
	fs.StringVar(&c.backend, "backend", "", "absolute path of libggml-cuda.so (empty: CPU only)")
	fs.IntVar(&c.ngl, "ngl", -1, "layers to offload (-1: all)")
	fs.IntVar(&c.threads, "threads", 0, "CPU threads (0: all cores)")
}
