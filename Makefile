# BAT OS for Go. `make run` starts the daemon; `make test` runs every test.
# Both install what they need on a fresh Debian 12 machine (as root).
SHELL := /bin/bash
GO ?= go

# One set of cgo flags for every build so Go's build cache is shared: the
# llama.cpp cgo build is minutes cold. -march=native makes ggml's CPU code
# use AVX2/AVX-512 (about 10x SSE2); AMX is masked out because ollama's cgo
# build of ggml-cpu does not compile the AMX buffer type it would reference.
CGO_OPT := -O3 -march=native -mno-amx-tile -mno-amx-int8 -mno-amx-bf16 -DNDEBUG
export CGO_CFLAGS := $(CGO_OPT)
export CGO_CXXFLAGS := $(CGO_OPT)
# ollama's module zip leaves out three headers that llama.cpp's mtmd
# helper includes: nlohmann/json.hpp and stb/stb_image.h come from Debian
# (APT_PACKAGES), miniaudio/miniaudio.h is our stand-in under llama/include
# (no audio: every decoder call fails). A plain `go build` needs the same.
# deps copies it to one place outside the checkout, so that the cgo flags,
# and with them Go's cache of the llama.cpp build (minutes cold), are the
# same for every checkout (CI builds a fresh one).
#
# -DGGML_USE_CPU_REPACK turns on ggml's repacked CPU weight layouts
# (Q4_K as interleaved 8x8 blocks for its AVX2/AVX-512 GEMM), which
# llama.cpp's own CMake build enables by default and ollama's cgo build
# leaves out: about 1.4x the CPU prefill (BENCHMARKS.md, issue 14).
CGO_INCLUDE ?= $(HOME)/.cache/batos/include
export CGO_CPPFLAGS := -I$(CGO_INCLUDE) -DGGML_USE_CPU_REPACK
export GGML_NO_BACKTRACE := 1

APT_PACKAGES := build-essential pkg-config libzmq3-dev cmake python3-zmq python3-msgpack chromium nlohmann-json3-dev libstb-dev

# Packages whose tests build llama.cpp run without -race (a race build
# compiles llama.cpp a second time); all others run with -race.
SLOW_CGO := /llama|/examples/|/cmd/
PKGS = $(shell $(GO) list ./... )
RACE_PKGS = $(shell $(GO) list ./... | grep -vE '$(SLOW_CGO)')
PLAIN_PKGS = $(shell $(GO) list ./... | grep -E '$(SLOW_CGO)')

# Builds llama.cpp and ggml (third-party cgo, through ollama) into the
# build cache first with their gcc warnings kept out of the output (in
# bin/third-party-build.log; a failure prints them in full), so the steps
# after it print only our own packages' warnings.
PREBUILD_THIRD_PARTY = GO='$(GO)' scripts/prebuild-third-party.sh

DATA ?= $(CURDIR)/.batos
# batosd's inspector, /metrics, /healthz and /readyz (empty: off).
HTTP ?= 127.0.0.1:8080
ARGS ?=

.PHONY: all deps build test run bench fuzz lint clean cuda gpubench

all: build

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@cmp -s llama/include/miniaudio/miniaudio.h $(CGO_INCLUDE)/miniaudio/miniaudio.h || \
	  install -D -m 0644 llama/include/miniaudio/miniaudio.h $(CGO_INCLUDE)/miniaudio/miniaudio.h
	@$(GO) mod download

build: deps
	@$(PREBUILD_THIRD_PARTY)
	$(GO) build ./...
	$(GO) build -o bin/ ./examples/batosd ./examples/batosctl

test: deps
	@$(PREBUILD_THIRD_PARTY)
	$(GO) vet ./...
	$(GO) test -race -count=1 $(RACE_PKGS)
	$(GO) test -count=1 -run 'Large' ./object/
	@if [ -n "$(strip $(PLAIN_PKGS))" ]; then echo "$(GO) test -count=1 <llama, examples, cmd>"; $(GO) test -count=1 $(PLAIN_PKGS); fi

run: deps
	@$(PREBUILD_THIRD_PARTY)
	$(GO) build -o bin/ ./examples/batosd ./examples/batosctl
	./bin/batosd -data $(DATA) $(if $(HTTP),-http $(HTTP)) $(ARGS)

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Runs each fuzz target for FUZZTIME.
FUZZTIME ?= 10s
fuzz: deps
	@for pkg in $(PKGS); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 50x $$pkg || exit 1; \
	  done; \
	done

# gofmt, vet, a tidy go.mod, staticcheck (from the module proxy) and
# generated msgp code that matches its sources. .ci/run runs it after test.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint: deps
	@$(PREBUILD_THIRD_PARTY)
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	$(GO) run $(STATICCHECK) ./...
	scripts/check-generated.sh

# The CUDA backend for llama.LoadBackend (needs CMake and nvcc): writes
# .batos/lib/libggml-cuda.so; pass it to batosd with -cuda-lib.
cuda: deps
	scripts/build-cuda-backend.sh

# The GPU benchmark binary and staged ggml sources under bin/gpu, to carry
# to a GPU machine and run there with scripts/gpubench.sh (see BENCHMARKS.md).
gpubench: deps
	V4=1 scripts/build-gpubench.sh

clean:
	rm -rf bin
