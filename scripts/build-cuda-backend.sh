#!/usr/bin/env bash
# Build ggml's CUDA backend (libggml-cuda.so and libggml-base.so, whose
# SONAME is libggml-base.so.0) from the pinned github.com/ollama/ollama
# sources (go.mod's version, v0.17.4), for the llama package to
# load by absolute path (llama.LoadBackend, or BATOS_GGML_BACKEND).
#
#   scripts/build-cuda-backend.sh [SRC] [BUILD] [INSTALL]
#
#   SRC      ollama module root holding CMakeLists.txt, CMakePresets.json and
#            ml/backend/ggml/ggml (default: the module's directory in the
#            module cache, `go list -m -f '{{.Dir}}' github.com/ollama/ollama`,
#            which is read-only: CMake only reads it)
#   BUILD    CMake build directory (default: .batos/cuda-build)
#   INSTALL  where the libraries are copied (default: .batos/lib)
#
# Environment: CUDA_ARCH (default 90: H100/H200), JOBS (default: nproc).
# Needs CMake >= 3.21 and nvcc (measured with CMake 4.4 and CUDA 13.0:
# about 140 s on 16 cores for sm_90). Prints the library's absolute path.
#
# The CPU backend is not built here: the llama package links ggml's CPU
# backend into the Go binary through cgo, so it is built for the host's
# instruction set by CGO_CFLAGS (see scripts/build-gpubench.sh and
# llama/doc.go). A separately built libggml-cpu.so would register a second
# CPU device that llama.cpp does not use for its CPU layers.
set -euo pipefail

src=${1:-}
if [[ -z $src ]]; then
	src=$(cd "$(dirname "$0")/.." && go list -m -f '{{.Dir}}' github.com/ollama/ollama)
fi
build=${2:-.batos/cuda-build}
install=${3:-.batos/lib}
arch=${CUDA_ARCH:-90}
jobs=${JOBS:-$(nproc)}

for f in CMakeLists.txt CMakePresets.json ml/backend/ggml/ggml; do
	[[ -e $src/$f ]] || { echo "build-cuda-backend: $src/$f missing" >&2; exit 1; }
done
command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]] || { echo "build-cuda-backend: nvcc not found" >&2; exit 1; }
[[ -d /usr/local/cuda/bin ]] && export PATH=$PATH:/usr/local/cuda/bin

cmake -S "$src" -B "$build" \
	-DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_CUDA_ARCHITECTURES="$arch" \
	-DGGML_CCACHE=OFF \
	-DGGML_CPU_ALL_VARIANTS=OFF >&2
cmake --build "$build" --target ggml-cuda -j "$jobs" >&2

mkdir -p "$install"
# libggml-cuda.so needs libggml-base.so.0 (its SONAME since v0.17.4's
# ggml); -P keeps the version links as links.
cp -fP "$build"/lib/ollama/libggml-base.so* "$build"/lib/ollama/libggml-cuda.so "$install"/
# libggml-cuda.so finds libggml-base.so.0 through its build-tree RUNPATH;
# for the installed copy, point it at its own directory when patchelf exists.
if command -v patchelf >/dev/null; then
	patchelf --set-rpath '$ORIGIN' "$install"/libggml-cuda.so
fi
echo "$(cd "$install" && pwd)/libggml-cuda.so"
