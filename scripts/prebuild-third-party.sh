#!/usr/bin/env bash
# Builds the third-party cgo packages of llama.cpp and ggml (those under
# github.com/ollama/ that this module imports) into Go's build cache, with
# their compiler output kept off the screen. Cold, they take minutes and
# gcc prints warnings about code that is not ours; the go build, vet and
# test commands that follow find them cached and print only the output of
# our own packages (their cgo warnings and vet findings included).
#
# Prints nothing when the packages are already built. Otherwise it says
# so first, and afterwards where the hidden warnings are (bin/, as
# third-party-build.log). If the build fails, its output is printed in
# full and the script exits with go's status.
#
# Run from the Makefile with GO and the CGO_* flags of the later steps in
# the environment: the cache entries are only reused under the same flags.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
log=bin/third-party-build.log

# Errors in our own packages are left to the steps after this one (-e).
stale=$("$GO" list -e -deps -f '{{if .Stale}}{{.ImportPath}}{{end}}' ./... 2>/dev/null | grep '^github\.com/ollama/' || true)
if [ -z "$stale" ]; then
	exit 0
fi
echo "building llama.cpp and ggml (third-party cgo, minutes on a cold cache; their warnings go to $log)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
# shellcheck disable=SC2086 # one import path per word
"$GO" build $stale >"$out" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
	cat "$out" >&2
	echo "prebuild-third-party: go build of llama.cpp and ggml failed (status $status)" >&2
	exit "$status"
fi
if [ -s "$out" ]; then
	mkdir -p "$(dirname "$log")"
	cp "$out" "$log"
	echo "llama.cpp and ggml built (compiler warnings from their sources: $(grep -c 'warning:' "$log" || true), in $log)"
fi
