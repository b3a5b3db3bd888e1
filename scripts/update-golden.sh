#!/usr/bin/env bash
# Rewrites the golden `stack config` expectations (tests/golden) from the current build.
# Review the diff before committing: a golden change is a behaviour change.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${STACK_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" stack
for dir in "$root"/examples/*/; do
  name=$(basename "$dir")
  mkdir -p "$root/tests/golden/examples/$name"
  "$root/tests/golden/golden.sh" "$build/cmd/stack" "$dir" "$root/tests/golden/examples/$name" --update
done
for dir in "$root"/tests/fixtures/*/; do
  "$root/tests/golden/golden.sh" "$build/cmd/stack" "$dir" "$dir" --update
done
