#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root), builds and installs stack into /usr/local/bin,
# and runs it: `stack config` of an example compose file, a container run by stack-runtime from
# a busybox bundle (its own pid 1, hostname, capabilities and memory limit), an image's round
# trip through a local registry (`image import` → `push` → `pull` into a fresh store), and then
# the engine end to end on examples/migrate-chain, with images built offline: `stack up -d`
# (db becomes healthy, the one-shot migrate runs, then app starts), `ps`, `logs`, `scale`,
# `down -v`, and examples/web-backend on a bridge network (web asks the backend by service name,
# web's published port answers curl on 127.0.0.1), in a private state root so that nothing is
# left behind.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${STACK_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh" stack stack-runtime stack-shim stack-init stack-netd
cmake --install "$build" >/dev/null
echo "installed: $(command -v stack) $(command -v stack-runtime) $(command -v stack-shim) $(command -v stack-init) $(command -v stack-netd)"
cd "$root/examples/webapp"
echo "\$ stack config   (in examples/webapp)"
stack config

bundle=$(mktemp -d /tmp/stack-demo.XXXXXX)
registry_pid=
cleanup() {
  [ -z "$registry_pid" ] || kill "$registry_pid" 2>/dev/null || true
  if [ -d "$bundle/engine" ]; then
    (cd "$root/examples/migrate-chain" && stack --root "$bundle/engine" down -v -t 0 >/dev/null 2>&1) || true
    (cd "$root/examples/web-backend" && stack --root "$bundle/engine" down -v -t 0 >/dev/null 2>&1) || true
  fi
  rm -rf "$bundle"
}
trap cleanup EXIT
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

# --- images: the CNCF registry on 127.0.0.1, our push and pull -----------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$bundle/registry"
printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' \
  "$bundle/registry" "$port" >"$bundle/registry.yml"
docker-registry serve "$bundle/registry.yml" >"$bundle/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
image=127.0.0.1:$port/demo/busybox:1
echo
echo "\$ stack image import -c 'CMD [\"sh\"]' rootfs $image   (the bundle's rootfs)"
stack --root "$bundle/one" image import -c 'CMD ["sh"]' "$bundle/rootfs" "$image"
echo "\$ stack push $image"
stack --root "$bundle/one" push "$image"
echo "\$ stack pull $image   (into a fresh store)"
stack --root "$bundle/two" pull "$image"
echo "\$ stack images"
stack --root "$bundle/two" images
# The pulled layer, read-only, as the rootfs of a container.
layer=$(stack --root "$bundle/two" image inspect "$image" | jq -r '.[0].LowerDirs[0]')
jq --arg rootfs "$layer" '.root = {"path": $rootfs, "readonly": true}
  | .process.args = ["sh", "-c", "echo hello from the pulled image; ls /bin | head -3"]
  | del(.linux.resources)' "$bundle/config.json" >"$bundle/config.new"
mv "$bundle/config.new" "$bundle/config.json"
echo "\$ stack-runtime run   (rootfs: the pulled layer, read-only)"
(cd "$bundle" && stack-runtime --root "$bundle/state" run "demo-image-$$")

# --- the engine: examples/migrate-chain ------------------------------------------------------------
export STACK_ROOT=$bundle/engine
echo
echo "\$ scripts/build_example_images.sh   (busybox-based images, offline)"
"$root/scripts/build_example_images.sh" "$STACK_ROOT"
cd "$root/examples/migrate-chain"
echo "\$ stack up -d   (in examples/migrate-chain: db → healthy → migrate runs once → app)"
stack up -d
echo "\$ stack ps -a"
stack ps -a
echo "\$ stack logs"
stack logs --no-color
echo "\$ stack exec -T app cat /var/lib/db/schema"
stack exec -T app cat /var/lib/db/schema
echo "\$ stack scale app=3 && stack ps"
stack scale app=3
stack ps
echo "\$ stack down -v"
stack down -v -t 1

# --- networks: examples/web-backend ----------------------------------------------------------------
# web asks backend by its service name (the embedded DNS); web's port is published on the host by
# an nftables rule. A free port is picked so the demo never collides with a local server.
web_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cd "$root/examples/web-backend"
echo
echo "\$ WEB_PORT=$web_port stack up -d   (in examples/web-backend: backend → healthy → web)"
WEB_PORT=$web_port stack up -d
echo "\$ stack ps"
WEB_PORT=$web_port stack ps
echo "\$ curl http://127.0.0.1:$web_port/cgi-bin/api   (web asks http://backend:8081 by name)"
curl -sS --retry 5 --retry-connrefused --retry-delay 1 "http://127.0.0.1:$web_port/cgi-bin/api"
echo "\$ stack down"
WEB_PORT=$web_port stack down -t 1
