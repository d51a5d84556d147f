#!/usr/bin/env bash
# Fails when a generated file is not what its //go:generate line makes
# from the current sources: regenerates each into a scratch directory and
# compares. Run from the repository root (make lint does).
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
while IFS= read -r src; do
  dir=$(dirname "$src")
  line=$(grep -m1 '^//go:generate go run github.com/tinylib/msgp' "$src")
  out=$(sed -E 's/.* -o ([^ ]+).*/\1/' <<<"$line")
  file=$(sed -E 's/.* -file ([^ ]+).*/\1/' <<<"$line")
  args=$(sed -E 's|^//go:generate go run ([^ ]+) (.*) -o [^ ]+ (.*)$|\1\t\2 \3|' <<<"$line")
  tool=${args%%$'\t'*}
  rest=${args#*$'\t'}
  mkdir -p "$tmp/$dir"
  # shellcheck disable=SC2086
  (cd "$dir" && go run "$tool" $rest -o "$tmp/$dir/$out" >/dev/null)
  if ! diff -u "$dir/$out" "$tmp/$dir/$out" >"$tmp/diff"; then
    echo "check-generated: $dir/$out is stale; run 'go generate ./$dir' ($file changed):"
    head -40 "$tmp/diff"
    status=1
  fi
done < <(git ls-files '*.go' | xargs grep -l '^//go:generate go run github.com/tinylib/msgp')
exit $status
