#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root), builds and installs stack into /usr/local/bin,
# and runs it on the example stack. Until the engine lands, the demo is `stack config`:
# the example compose file as stack understood it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${STACK_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh" stack stack-runtime stack-shim
cmake --install "$build" >/dev/null
echo "installed: $(command -v stack) $(command -v stack-runtime) $(command -v stack-shim)"
cd "$root/examples/webapp"
echo "\$ stack config   (in examples/webapp)"
stack config
