#!/usr/bin/env bash
# Configures and builds stack in $STACK_BUILD_DIR (default: build/ in the repository).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${STACK_BUILD_DIR:-$root/build}
jobs=${STACK_JOBS:-$(nproc)}
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$build" -j "$jobs" "$@"
