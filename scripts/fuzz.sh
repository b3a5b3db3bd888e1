#!/usr/bin/env bash
# Fuzzes the Compose loader with libFuzzer for SECONDS (default 60) in build-fuzz/, with
# AddressSanitizer and UBSan on the whole library. New interesting inputs go to
# tests/fuzz/corpus/compose; a crash leaves crash-* files in build-fuzz/ — turn each into a
# corpus file and a fix.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=${STACK_FUZZ_BUILD_DIR:-$root/build-fuzz}
"$root/scripts/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DSTACK_FUZZ=ON -DSTACK_WERROR=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fsanitize=fuzzer-no-link" >/dev/null
fi
ninja -C "$build" fuzz_compose
cd "$build"
./tests/fuzz/fuzz_compose -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  "$root/tests/fuzz/corpus/compose"
