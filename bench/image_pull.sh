#!/usr/bin/env bash
# Benchmark: cold pull of a ~130 MB (compressed), two-layer image from a local registry into a
# ready-to-run store — `stack pull` against the peers Debian 12 packages, `podman pull` (download,
# verify, unpack into its storage driver) and `skopeo copy` to an oci: directory (download and
# verify only, no unpacking), side by side in one run; plus the machine's floors for the same
# bytes (loopback download, SHA-256, inflate, untar) and a warm `stack pull` (image present).
#
#   bench/image_pull.sh [BUILD_DIR]     (RUNS=5; WORK=dir caches the image, default below)
#
# The image is built once and cached under $WORK: layer 1 is a `debootstrap --variant=minbase
# bookworm` rootfs (from the configured Debian archive), layer 2 is incompressible bytes from
# /dev/urandom (generated once, sized so the compressed total is ~130 MB), both tar+gzip, in an
# OCI image layout written with jq/sha256sum. Every run starts /usr/bin/docker-registry on a free
# 127.0.0.1 port with a temporary storage dir, pushes the layout there with skopeo, and measures
# RUNS interleaved rounds (podman, skopeo, stack in rotating order, then the floors) so that load
# drift on the shared 2-core machine hits every tool alike. Each cold pull gets fresh state dirs
# on the same filesystem as the untar floor. Page cache is not dropped: the registry's blobs are
# page-cache warm for every tool alike (the push just wrote them). `stack pull` is measured as
#   "$stack" --root STATE_DIR pull 127.0.0.1:PORT/bench/debian:1
# and its rows read "stack: pull not built yet" while the CLI has no pull subcommand.
# Needs root; installs podman, skopeo, debootstrap, jq and docker-registry with apt-get if missing.
# For quieter figures hold the build lock while it runs:
#   flock /tmp/stack-build.lock bench/image_pull.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${STACK_BUILD_DIR:-$root/build}}
stack="$build/cmd/stack"
runs=${RUNS:-5}
cache=${WORK:-/var/tmp/stack-bench-image}
target_mb=130  # compressed image size the layer-2 payload tops up to
ref_path=bench/debian
tag=1

# --- prerequisites -------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || { echo "image_pull.sh: needs root" >&2; exit 1; }
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v skopeo >/dev/null || missing+=(skopeo)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v jq >/dev/null || missing+=(jq)
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in curl openssl gzip tar sha256sum; do
  command -v "$tool" >/dev/null || { echo "image_pull.sh: needs $tool" >&2; exit 1; }
done

# `stack pull --help` alone proves nothing: the CLI prints its top-level help (exit 0) for an
# unknown subcommand, so the pull usage line must name the subcommand.
stack_ok=0
if [ -x "$stack" ] && "$stack" pull --help 2>/dev/null | grep -Eq '^Usage: .*\bpull\b'; then
  stack_ok=1
fi

# All per-run state (registry storage, stores, untar floor) lives on one filesystem, and nothing
# is deleted before the end (about 1 GB per round): ext4 checks recently freed inodes when it
# allocates new ones (recently_deleted()), so deleting a 6,600-file tree just before the next
# tool's run made that run up to twice as slow, whichever tool it was.
work=$(mktemp -d "${TMPDIR:-/var/tmp}/image_pull.XXXXXX")
registry_pid=

# Unmounts anything a tool left mounted under DIR (podman's overlay driver can), then removes it.
remove_tree() {
  local dir=$1 mnt
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v d="$dir" 'index($5, d "/") == 1 || $5 == d {print $5}' /proc/self/mountinfo |
           sort -r)
  rm -rf "$dir"
}

cleanup() {
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  remove_tree "$work"
}
trap cleanup EXIT

fail() {  # fail LOG WHAT: the tool's last words, then stop
  tail -n 20 "$1" >&2
  echo "FAILED: $2" >&2
  exit 1
}

# --- the image (cached) --------------------------------------------------------------------------
# sha256 FILE → hex digest
sha256() { sha256sum "$1" | cut -d' ' -f1; }

# add_blob LAYOUT FILE → hex digest; moves FILE into LAYOUT/blobs/sha256/.
add_blob() {
  local hex
  hex=$(sha256 "$2")
  mv "$2" "$1/blobs/sha256/$hex"
  echo "$hex"
}

build_image() {
  mkdir -p "$cache"
  if [ ! -f "$cache/rootfs.done" ]; then
    echo "building rootfs: debootstrap --variant=minbase bookworm (once, cached in $cache)"
    rm -rf "$cache/rootfs"
    debootstrap --variant=minbase bookworm "$cache/rootfs" http://deb.debian.org/debian \
      >"$cache/debootstrap.log" 2>&1 || fail "$cache/debootstrap.log" "debootstrap"
    touch "$cache/rootfs.done"
  fi
  [ -f "$cache/layout.done" ] && return
  echo "building OCI image layout in $cache/layout (once)"
  rm -rf "$cache/layout" "$cache"/layer*.tar "$cache"/layer*.tar.gz
  # Layer 1: the rootfs as an image ships it — no device nodes, empty /proc and /sys, no apt
  # caches; numeric owners and sorted entries so rebuilds give the same bytes.
  (cd "$cache/rootfs" && tar --numeric-owner --sort=name \
      --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
      --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*' \
      -cf "$cache/layer1.tar" .)
  gzip -n -c "$cache/layer1.tar" >"$cache/layer1.tar.gz"
  # Layer 2: incompressible bytes, topping the compressed total up to ~$target_mb MB (at least
  # 50 MB); generated once so every rebuild pushes the same digests.
  local l1 payload
  l1=$(stat -c %s "$cache/layer1.tar.gz")
  payload=$(( target_mb * 1000000 - l1 ))
  [ "$payload" -ge 50000000 ] || payload=50000000
  if [ ! -f "$cache/payload.bin" ] || [ "$(stat -c %s "$cache/payload.bin")" -ne "$payload" ]; then
    head -c "$payload" /dev/urandom >"$cache/payload.bin.new"
    mv "$cache/payload.bin.new" "$cache/payload.bin"
  fi
  rm -rf "$cache/layer2"
  mkdir -p "$cache/layer2/bench"
  cp "$cache/payload.bin" "$cache/layer2/bench/payload.bin"
  (cd "$cache/layer2" && tar --numeric-owner --sort=name --mtime=@0 --owner=0 --group=0 \
      -cf "$cache/layer2.tar" bench)
  rm -rf "$cache/layer2"
  gzip -n -c "$cache/layer2.tar" >"$cache/layer2.tar.gz"

  local layout="$cache/layout" d1 d2 s1 s2 diff1 diff2 cfg cfg_size man man_size
  mkdir -p "$layout/blobs/sha256"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  diff1=$(sha256 "$cache/layer1.tar")
  diff2=$(sha256 "$cache/layer2.tar")
  s1=$(stat -c %s "$cache/layer1.tar.gz")
  s2=$(stat -c %s "$cache/layer2.tar.gz")
  # The compressed layers move into the layout; hard links keep the floor inputs in $cache.
  ln -f "$cache/layer1.tar.gz" "$cache/l1.tmp"
  ln -f "$cache/layer2.tar.gz" "$cache/l2.tmp"
  d1=$(add_blob "$layout" "$cache/l1.tmp")
  d2=$(add_blob "$layout" "$cache/l2.tmp")
  jq -cn --arg d1 "sha256:$diff1" --arg d2 "sha256:$diff2" '{
      created: "2025-01-01T00:00:00Z", architecture: "amd64", os: "linux",
      config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
               Cmd: ["bash"]},
      rootfs: {type: "layers", diff_ids: [$d1, $d2]},
      history: [{created: "2025-01-01T00:00:00Z",
                 created_by: "debootstrap --variant=minbase bookworm"},
                {created: "2025-01-01T00:00:00Z",
                 created_by: "incompressible payload /bench/payload.bin"}]
    }' >"$cache/config.tmp"
  cfg_size=$(stat -c %s "$cache/config.tmp")
  cfg=$(add_blob "$layout" "$cache/config.tmp")
  jq -cn --arg cfg "sha256:$cfg" --argjson cfg_size "$cfg_size" \
      --arg d1 "sha256:$d1" --argjson s1 "$s1" --arg d2 "sha256:$d2" --argjson s2 "$s2" '{
      schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cfg,
               size: $cfg_size},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $d1, size: $s1},
               {mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $d2, size: $s2}]
    }' >"$cache/manifest.tmp"
  man_size=$(stat -c %s "$cache/manifest.tmp")
  man=$(add_blob "$layout" "$cache/manifest.tmp")
  jq -cn --arg man "sha256:$man" --argjson man_size "$man_size" --arg tag "$tag" '{
      schemaVersion: 2,
      manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $man,
                   size: $man_size, annotations: {"org.opencontainers.image.ref.name": $tag}}]
    }' >"$layout/index.json"
  touch "$cache/layout.done"
}
build_image

layout="$cache/layout"
manifest_hex=$(jq -r '.manifests[0].digest' "$layout/index.json" | cut -d: -f2)
config_digest=$(jq -r '.config.digest' "$layout/blobs/sha256/$manifest_hex")
mapfile -t layer_digests < <(jq -r '.layers[].digest' "$layout/blobs/sha256/$manifest_hex")
compressed=$(jq '[.layers[].size] | add' "$layout/blobs/sha256/$manifest_hex")
uncompressed=$(( $(stat -c %s "$cache/layer1.tar") + $(stat -c %s "$cache/layer2.tar") ))

# --- the registry --------------------------------------------------------------------------------
# Tries random loopback ports until a registry answers /v2/ there (a busy port makes it exit).
start_registry() {
  mkdir -p "$work/registry"
  for _ in $(seq 1 20); do
    port=$(shuf -i 20000-60000 -n 1)
    cat >"$work/registry.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YAML
    /usr/bin/docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
    registry_pid=$!
    for _ in $(seq 1 100); do
      if curl -sf -o /dev/null "http://127.0.0.1:$port/v2/"; then return 0; fi
      kill -0 "$registry_pid" 2>/dev/null || break
      sleep 0.05
    done
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
    registry_pid=
  done
  fail "$work/registry.log" "docker-registry did not start"
}
start_registry
image="127.0.0.1:$port/$ref_path:$tag"
skopeo copy -q --dest-tls-verify=false "oci:$layout:$tag" "docker://$image" \
  >"$work/push.log" 2>&1 || fail "$work/push.log" "skopeo push to $image"
pushed=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$port/v2/$ref_path/manifests/$tag" | sha256sum | cut -d' ' -f1)
if [ "$pushed" != "$manifest_hex" ]; then
  echo "registry serves another manifest for $image than $layout holds" >&2
  exit 1
fi

# --- podman's storage driver: overlay if it initialises on this filesystem, else vfs -----------
podman_driver=vfs
mkdir -p "$work/probe"
if podman --root "$work/probe/root" --runroot "$work/probe/run" --storage-driver overlay \
    --events-backend none info --format '{{.Store.GraphDriverName}}' 2>/dev/null |
    grep -qx overlay; then
  podman_driver=overlay
fi
remove_tree "$work/probe"

# --- measurements --------------------------------------------------------------------------------
# now_us → microseconds since the epoch (bash builtin clock: no fork inside the timed span)
now_us() { echo "${EPOCHREALTIME/./}"; }

# timed OUT LOG CMD...: runs CMD with its output in LOG, appends the wall time (µs) to OUT.
# Syncs first (untimed) so that no run pays for the writeback of the previous tool's store.
timed() {
  local out=$1 log=$2 t0 t1
  shift 2
  sync
  t0=$(now_us)
  "$@" >"$log" 2>&1 || fail "$log" "$*"
  t1=$(now_us)
  echo $(( t1 - t0 )) >>"$out"
}

run_podman() {  # run_podman RUN
  local dir="$work/podman.$1"
  local podman=(podman --root "$dir/root" --runroot "$dir/run" --storage-driver "$podman_driver"
                --events-backend none)
  timed "$work/samples.podman" "$work/podman.log" "${podman[@]}" pull --tls-verify=false "$image"
  # The pulled image's ID is its config digest: anything else means a different image landed.
  local id
  id=$("${podman[@]}" images --no-trunc --format '{{.ID}}' 2>"$work/podman.log")
  if [ "sha256:${id#sha256:}" != "$config_digest" ]; then
    echo "podman holds image '$id' after pulling $image, want $config_digest" >&2
    exit 1
  fi
}

run_skopeo() {  # run_skopeo RUN
  local dir="$work/skopeo.$1"
  timed "$work/samples.skopeo" "$work/skopeo.log" \
    skopeo copy -q --src-tls-verify=false "docker://$image" "oci:$dir:$tag"
  local got
  got=$(jq -r '.manifests[0].digest' "$dir/index.json")
  if [ "$got" != "sha256:$manifest_hex" ]; then
    echo "skopeo wrote manifest $got for $image, want sha256:$manifest_hex" >&2
    exit 1
  fi
}

stack_small_store=0
run_stack() {  # run_stack RUN: a cold pull into a fresh --root, then a warm one into the same
  [ "$stack_ok" = 1 ] || return 0
  local dir="$work/stack.$1"
  timed "$work/samples.stack" "$work/stack.log" "$stack" --root "$dir" pull "$image"
  timed "$work/samples.stack-warm" "$work/stack.log" "$stack" --root "$dir" pull "$image"
  # A ready-to-run store holds the unpacked layers: a much smaller one skipped the unpacking.
  local held
  held=$(du -sb "$dir" | cut -f1)
  [ "$held" -ge $(( uncompressed / 2 )) ] || stack_small_store=$held
}

run_floors() {  # run_floors RUN: the same bytes through curl, openssl, gzip and tar, one by one
  local d urls=()
  for d in "${layer_digests[@]}"; do urls+=("http://127.0.0.1:$port/v2/$ref_path/blobs/$d"); done
  local outs=()
  for d in "${layer_digests[@]}"; do outs+=(-o /dev/null); done
  timed "$work/samples.download" "$work/floor.log" curl -sf "${outs[@]}" "${urls[@]}"
  local blobs=()
  for d in "${layer_digests[@]}"; do blobs+=("$layout/blobs/sha256/${d#sha256:}"); done
  timed "$work/samples.sha256" "$work/floor.log" openssl dgst -sha256 "${blobs[@]}"
  # shellcheck disable=SC2016  # $1.. belong to the inner shell
  timed "$work/samples.inflate" "$work/floor.log" \
    bash -c 'gzip -dc "$1" >/dev/null && gzip -dc "$2" >/dev/null' _ "${blobs[@]}"
  mkdir -p "$work/untar.$1"
  # shellcheck disable=SC2016  # $1.. belong to the inner shell
  timed "$work/samples.untar" "$work/floor.log" bash -c \
    'tar -xf "$1" -C "$3" && tar -xf "$2" -C "$3"' _ \
    "$cache/layer1.tar" "$cache/layer2.tar" "$work/untar.$1"
}

fstype=$(findmnt -n -o FSTYPE --target "$work")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo "machine: $(nproc) cores, $cpu, kernel $(uname -r), stores on $fstype ($work)"
stack_version="stack (pull not built yet)"
if [ "$stack_ok" = 1 ]; then
  stack_version=$("$stack" version 2>/dev/null | head -n1 || true)
  stack_version=${stack_version:-"stack (version unknown)"}
fi
registry_version=$(/usr/bin/docker-registry --version | awk '{print $3}')
echo "tools: $(podman --version) (storage driver $podman_driver), $(skopeo --version)," \
  "docker-registry $registry_version, $stack_version"
printf 'image: %s, 2 layers, %.1f MB compressed, %.1f MB uncompressed\n' "$image" \
  "$(awk -v b="$compressed" 'BEGIN {print b / 1e6}')" \
  "$(awk -v b="$uncompressed" 'BEGIN {print b / 1e6}')"
echo "runs: $runs interleaved rounds, load before: $(cut -d' ' -f1-3 /proc/loadavg)"

tools=(podman skopeo stack)
for ((r = 0; r < runs; r++)); do
  for ((k = 0; k < ${#tools[@]}; k++)); do
    t=${tools[$(( (k + r) % ${#tools[@]} ))]}  # rotate: no tool always runs right after another
    "run_$t" "$r"
  done
  run_floors "$r"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- statistics and tables -----------------------------------------------------------------------
median() {
  sort -n "$1" | awk '{a[NR] = $1}
    END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
minimum() { sort -n "$1" | head -n1; }
ms() { awk -v v="$1" 'BEGIN {printf "%.1f", v / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f×", a / b}'; }
declare -A med low
for s in podman skopeo stack stack-warm download sha256 inflate untar; do
  f="$work/samples.$s"
  [ -f "$f" ] || continue
  [ "$(wc -l <"$f")" -eq "$runs" ] || { echo "sample count mismatch: $s" >&2; exit 1; }
  med[$s]=$(median "$f")
  low[$s]=$(minimum "$f")
done
paste -d' ' "$work"/samples.{download,sha256,inflate,untar} | awk '{print $1 + $2 + $3 + $4}' \
  >"$work/samples.floor"
med[floor]=$(median "$work/samples.floor")
low[floor]=$(minimum "$work/samples.floor")

echo
echo "| floor (same bytes, one core) | median (ms) | min (ms) | MB/s (median) |"
echo "|---|---:|---:|---:|"
floor_row() {  # floor_row KEY LABEL BYTES
  printf '| %s | %s | %s | %.0f |\n' "$2" "$(ms "${med[$1]}")" "$(ms "${low[$1]}")" \
    "$(awk -v b="$3" -v us="${med[$1]}" 'BEGIN {print b / us}')"
}
floor_row download "download (curl of both blobs, loopback)" "$compressed"
floor_row sha256 "sha256 (openssl dgst of both blobs)" "$compressed"
floor_row inflate "inflate (gzip -dc of both layers)" "$uncompressed"
floor_row untar "untar (tar -x of both layers, same fs as the stores)" "$uncompressed"
floor_row floor "sum (MB/s of the compressed image)" "$compressed"

echo
echo "| tool | median (ms) | min (ms) | podman/stack | skopeo/stack | stack/floor |"
echo "|---|---:|---:|---:|---:|---:|"
if [ "$stack_ok" = 1 ]; then
  printf '| podman pull (%s) | %s | %s | %s | – | – |\n' "$podman_driver" \
    "$(ms "${med[podman]}")" "$(ms "${low[podman]}")" "$(ratio "${med[podman]}" "${med[stack]}")"
  printf '| skopeo copy → oci: (no unpack) | %s | %s | – | %s | – |\n' \
    "$(ms "${med[skopeo]}")" "$(ms "${low[skopeo]}")" "$(ratio "${med[skopeo]}" "${med[stack]}")"
  printf '| stack pull (cold) | %s | %s | – | – | %s |\n' \
    "$(ms "${med[stack]}")" "$(ms "${low[stack]}")" "$(ratio "${med[stack]}" "${med[floor]}")"
  printf '| stack pull (warm, goal < 50 ms) | %s | %s | – | – | – |\n' \
    "$(ms "${med[stack-warm]}")" "$(ms "${low[stack-warm]}")"
else
  printf '| podman pull (%s) | %s | %s | – | – | – |\n' "$podman_driver" \
    "$(ms "${med[podman]}")" "$(ms "${low[podman]}")"
  printf '| skopeo copy → oci: (no unpack) | %s | %s | – | – | – |\n' \
    "$(ms "${med[skopeo]}")" "$(ms "${low[skopeo]}")"
  echo "| stack: pull not built yet | – | – | – | – | – |"
  echo "| stack: pull not built yet (warm) | – | – | – | – | – |"
fi
echo
echo "(median and min of $runs rounds; ratios of medians, below 1 means the numerator is faster;"
echo " page cache not dropped: the registry's blobs are page-cache warm for every tool alike)"
if [ "$stack_small_store" != 0 ]; then
  echo "warning: stack's store held only $stack_small_store bytes for an image of" \
    "$uncompressed uncompressed bytes: layers not unpacked?" >&2
fi
