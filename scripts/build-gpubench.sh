#!/usr/bin/env bash
# Build the GPU benchmark for the GPU machine (no Go there) and stage the
# ggml sources its CUDA backend is built from, all under bin/gpu (ignored
# by git; carried to the device with `carry: ["bin/gpu"]`):
#
#   bin/gpu/gpubench       x86-64-v3 (AVX2, FMA): runs on any recent x86 host
#   bin/gpu/gpubench-v4    x86-64-v4 (AVX-512), with V4=1
#   bin/gpu/_ollama-src    CMakeLists.txt, CMakePresets.json, ml/backend/ggml/ggml
#                          (the leading underscore keeps its .go files out of
#                          `go build ./...` and `go vet ./...`)
#
# ggml's CPU backend is compiled into the binary by cgo, so the -march
# level here is the CPU backend's instruction set (what partial offload
# runs its CPU layers with). A separate GOCACHE keeps these objects apart
# from the -march=native ones of the usual build.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bin/gpu
mkdir -p "$out"
mod=$(go list -m -f '{{.Dir}}' github.com/ollama/ollama)
if [[ ! -f $out/_ollama-src/${mod##*/} ]]; then
	rm -rf "$out"/_ollama-src
	mkdir -p "$out"/_ollama-src/ml/backend/ggml
	cp "$mod"/CMakeLists.txt "$mod"/CMakePresets.json "$out"/_ollama-src/
	cp -r "$mod"/ml/backend/ggml/ggml "$out"/_ollama-src/ml/backend/ggml/
	chmod -R u+w "$out"/_ollama-src
	touch "$out/_ollama-src/${mod##*/}" # which version is staged
fi
build() { # name march
	GOCACHE=${GOCACHE_GPU:-/tmp/gocache-gpu}-$2 \
		CGO_CFLAGS="-O3 -march=$2 -DNDEBUG" CGO_CXXFLAGS="-O3 -march=$2 -DNDEBUG" \
		CGO_CPPFLAGS="-I$PWD/llama/include -DGGML_USE_CPU_REPACK" \
		go build -ldflags="-s -w" -o "$out/$1" ./cmd/gpubench
}
build gpubench x86-64-v3
if [[ ${V4:-0} == 1 ]]; then
	build gpubench-v4 x86-64-v4
fi
du -sh "$out"/*
