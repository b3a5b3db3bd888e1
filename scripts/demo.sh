#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root), builds and installs stack into /usr/local/bin,
# and runs it on the example stack. Until the engine lands, the demo is `stack config` (the
# example compose file as stack understood it) and a container run by stack-runtime from a
# busybox bundle: its own pid 1, hostname, capabilities and memory limit.
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

bundle=$(mktemp -d /tmp/stack-demo.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/sys" "$bundle/rootfs/dev"
cp /bin/busybox "$bundle/rootfs/bin/"
for applet in sh cat hostname grep ps; do ln -s busybox "$bundle/rootfs/bin/$applet"; done
(cd "$bundle" && stack-runtime spec)
# terminal off, a command, and a 64 MiB memory limit in the container's cgroup.
jq '.process.terminal = false
  | .process.args = ["sh", "-c", "echo pid $$ on $(hostname); grep Cap[EB] /proc/self/status; ps; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"]
  | .linux.resources.memory = {"limit": 67108864}' "$bundle/config.json" >"$bundle/config.new"
mv "$bundle/config.new" "$bundle/config.json"
echo
echo "\$ stack-runtime run demo   (a busybox bundle from \`stack-runtime spec\`)"
(cd "$bundle" && stack-runtime --root "$bundle/state" run "demo-$$")
