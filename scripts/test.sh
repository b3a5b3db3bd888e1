#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as root: installs what is missing, builds,
# and runs every CTest label (unit, root, vm, e2e). Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${STACK_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "$build"
# --no-tests=error: a run that finds no tests is a failure, not a pass.
ctest --output-on-failure --no-tests=error -j "$(nproc)" "$@"
