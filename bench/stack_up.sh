#!/usr/bin/env bash
# Benchmark: `stack up -d` of 1, 10 and 50 services (busybox sleep) until every container runs,
# and `down`, side by side in the same run with the peer Debian 12 packages: podman-compose
# (1.0.3, runc as podman's runtime) on the same compose file and the same image from a local
# registry. Also: plain `podman run -d` ×10 (bridge network and --network none), the raw
# runtime's start latency (`stack-runtime run -d` of a bundle, per container) against stack's
# cost per additional container, a no-op `stack up -d` on a converged 50-service project, and
# the peak RSS of every shim (VmHWM of /proc/<shim pid>/status; median and max).
#
#   bench/stack_up.sh [BUILD_DIR]     (RUNS=5 rounds; PC50_RUNS=2 for podman-compose's 50, which
#                                      sleeps 1 s per container; NOOP_RUNS=3 no-op ups per round)
#
# Needs root. Installs podman and podman-compose with apt-get if missing (and says so).
# podman is confined to this run: a private containers.conf (CONTAINERS_CONF: runc, cgroupfs,
# default_ulimits nofile 20000 and nproc 32768, which these hosts need, private tmp_dir and CNI
# config dir) and a private storage.conf (CONTAINERS_STORAGE_CONF: overlay under the work dir).
# Neither touches /etc/containers. podman-compose 1.0.3 always puts containers on a
# <project>_default CNI bridge network (it adds --net even with network_mode), which creates a
# bridge interface, CNI IPAM state under /var/lib/cni and iptables-nft chains; the script removes
# what it created. stack's containers get a private network namespace with loopback only (bridge
# networks are issue 6): the `podman run --network none` row is the like-for-like one.
#
# The services run `sh -c 'trap "exit 0" TERM; sleep … & wait'`: a bare `sleep` as a namespace's
# pid 1 ignores SIGTERM, and every `down` would measure the 10 s grace period instead of a stop.
# Rounds interleave all tools so load drift on the shared 2-core machine hits each alike; for
# quieter figures hold the build lock: flock /tmp/stack-build.lock bench/stack_up.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-${STACK_BUILD_DIR:-$root/build}}" && pwd)
runs=${RUNS:-5}
pc50_runs=${PC50_RUNS:-2}
noop_runs=${NOOP_RUNS:-3}
stack="$build/cmd/stack"
runtime="$build/cmd/stack-runtime"

# --- prerequisites -------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || { echo "stack_up.sh: needs root" >&2; exit 1; }
for bin in stack stack-runtime stack-shim; do
  [ -x "$build/cmd/$bin" ] || { echo "build $bin first: ninja -C $build $bin" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "needs busybox-static at /bin/busybox" >&2; exit 1; }
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v podman-compose >/dev/null || missing+=(podman-compose)
command -v runc >/dev/null || missing+=(runc)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
if [ ${#missing[@]} -gt 0 ]; then
  echo "stack_up.sh: installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /var/tmp/stack_up.XXXXXX)
registry_pid=
rt_prefix="sub$$"
# Machine state podman's CNI plugins may create, recorded before so that only ours is removed.
links_before=$(ip -o link show | awk -F': ' '{print $2}' | sort)
had_cni_dir=0; [ -e /var/lib/cni ] && had_cni_dir=1
nft_before=$(nft list tables 2>/dev/null || true)

export CONTAINERS_CONF="$work/podman/containers.conf"
export CONTAINERS_STORAGE_CONF="$work/podman/storage.conf"
mkdir -p "$work/podman/net" "$work/podman/tmp"
cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$work/podman/tmp"
[network]
network_config_dir = "$work/podman/net"
EOF
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/podman/root"
runroot = "$work/podman/run"
EOF

cleanup() {
  set +e
  local dir
  for dir in "$work"/proj/*; do
    [ -f "$dir/compose.yaml" ] || continue
    (cd "$dir" && "$stack" --root "$work/stack-root" -p "sb${dir##*/}" down -t 0 >/dev/null 2>&1)
  done
  for id in $("$runtime" --root "$work/rt-root" list -q 2>/dev/null); do
    "$runtime" --root "$work/rt-root" delete -f "$id" >/dev/null 2>&1
  done
  if [ -f "$CONTAINERS_CONF" ]; then
    podman rm -af -t 0 >/dev/null 2>&1
    podman network ls -q 2>/dev/null | grep -v '^podman$' | xargs -r podman network rm -f >/dev/null 2>&1
    podman network rm -f podman >/dev/null 2>&1
  fi
  [ -z "$registry_pid" ] || { kill "$registry_pid"; wait "$registry_pid"; } 2>/dev/null
  # podman's overlay mounts, then what CNI left on the machine that was not there before.
  awk -v d="$work/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    xargs -r -n1 umount -l 2>/dev/null
  comm -13 <(echo "$links_before") <(ip -o link show | awk -F': ' '{print $2}' | sort) |
    grep '^cni-podman' | xargs -r -n1 ip link delete 2>/dev/null
  [ "$had_cni_dir" = 1 ] || rm -rf /var/lib/cni
  for table in filter nat; do
    grep -qx "table ip $table" <<<"$nft_before" || nft delete table ip "$table" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {  # fail LOG MESSAGE
  tail -n 20 "$1" >&2
  echo "stack_up.sh: $2" >&2
  exit 1
}

# --- registry and image --------------------------------------------------------------------------
start_registry() {  # tries random loopback ports until a registry answers /v2/ there
  mkdir -p "$work/registry"
  for _ in $(seq 1 20); do
    port=$(shuf -i 20000-60000 -n 1)
    printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' \
      "$work/registry" "$port" >"$work/registry.yml"
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
image="127.0.0.1:$port/bench/busybox:1"
STACK="$stack" "$root/scripts/build_example_images.sh" "$work/image-root" >"$work/image.log" 2>&1 ||
  fail "$work/image.log" "building the busybox image"
"$stack" --root "$work/image-root" image tag stack-examples/busybox:1 "$image"
"$stack" --root "$work/image-root" push "$image" >"$work/push.log" 2>&1 || fail "$work/push.log" "stack push"
# Both tools pull the same image from the registry; both must end with the same config digest.
"$stack" --root "$work/stack-root" pull "$image" >"$work/pull.log" 2>&1 || fail "$work/pull.log" "stack pull"
podman pull -q --tls-verify=false "$image" >"$work/pull.log" 2>&1 || fail "$work/pull.log" "podman pull"
stack_id=$("$stack" --root "$work/stack-root" image inspect "$image" | jq -r '.[0].Id')
podman_id=$(podman images --no-trunc --format '{{.ID}}' "$image")
[ "$stack_id" = "$podman_id" ] || { echo "image differs: stack $stack_id, podman $podman_id" >&2; exit 1; }

# One compose file per size, used by both tools (stack -p sbN, podman-compose -p pcN).
for n in 1 10 50; do
  mkdir -p "$work/proj/$n"
  {
    echo "services:"
    for ((i = 1; i <= n; i++)); do
      printf '  s%d:\n    image: %s\n' "$i" "$image"
      printf '    command: ["sh", "-c", "trap \\"exit 0\\" TERM; sleep 2147483647 & wait"]\n'
    done
  } >"$work/proj/$n/compose.yaml"
done

# The raw runtime's bundle: the same busybox, `stack-runtime spec`, the same sleep.
bundle="$work/bundle"
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/tmp"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for applet in sh sleep; do ln -s busybox "$bundle/rootfs/bin/$applet"; done
(cd "$bundle" && "$runtime" spec)
jq '.process.terminal = false | .process.args = ["sh", "-c", "trap \"exit 0\" TERM; sleep 2147483647 & wait"]' \
  "$bundle/config.json" >"$bundle/config.new" && mv "$bundle/config.new" "$bundle/config.json"

# --- measurements --------------------------------------------------------------------------------
now_us() { echo "${EPOCHREALTIME/./}"; }  # builtin clock: no fork inside the timed span
# timed OUT LOG CMD…: runs CMD (output to LOG), appends its wall time in µs to OUT.
timed() {
  local out=$1 log=$2 t0 t1
  shift 2
  t0=$(now_us)
  "$@" >"$log" 2>&1 || fail "$log" "$*"
  t1=$(now_us)
  echo $((t1 - t0)) >>"$out"
}
S() { "$stack" --root "$work/stack-root" -p "sb$1" "${@:2}"; }  # S N ARGS…: stack on project N

stack_round() {  # stack_round N
  local n=$1 running k
  cd "$work/proj/$n"
  timed "$work/s.stack-up-$n" "$work/stack.log" S "$n" up -d
  running=$(S "$n" ps --format json | jq -r 'select(.State == "running") | .Name' | wc -l)
  [ "$running" = "$n" ] || fail "$work/stack.log" "stack up -d of $n: $running running"
  if [ "$n" = 50 ]; then
    for ((k = 0; k < noop_runs; k++)); do
      timed "$work/s.stack-noop" "$work/stack.log" S 50 up -d
      if grep -q 'Creat\|Start\|Recreat' "$work/stack.log"; then
        fail "$work/stack.log" "the no-op up changed something"
      fi
    done
    local id pid
    for id in $(S 50 ps -q); do
      pid=$(jq -r .shim_pid "$work/stack-root/containers/$id/status.json")
      awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" >>"$work/s.shim-hwm"
      awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" >>"$work/s.shim-anon"
    done
  fi
  timed "$work/s.stack-down-$n" "$work/stack.log" S "$n" down
  [ -z "$(S "$n" ps -a -q)" ] || fail "$work/stack.log" "stack down of $n left containers"
}

pc_round() {  # pc_round N
  local n=$1 running
  cd "$work/proj/$n"
  timed "$work/s.pc-up-$n" "$work/pc.log" podman-compose -p "pc$n" up -d
  running=$(podman ps --filter "label=io.podman.compose.project=pc$n" --filter status=running -q | wc -l)
  [ "$running" = "$n" ] || fail "$work/pc.log" "podman-compose up -d of $n: $running running"
  timed "$work/s.pc-down-$n" "$work/pc.log" podman-compose -p "pc$n" down
  [ -z "$(podman ps -aq --filter "label=io.podman.compose.project=pc$n")" ] ||
    fail "$work/pc.log" "podman-compose down of $n left containers"
}

podman_run_round() {  # podman_run_round MODE(bridge|none) ROUND: 10 × podman run -d, timed together
  local mode=$1 r=$2 t0 t1 i net=()
  [ "$mode" = none ] && net=(--network none)
  t0=$(now_us)
  for ((i = 1; i <= 10; i++)); do
    podman run -d "${net[@]}" --name "pr-$mode-$r-$i" "$image" \
      sh -c 'trap "exit 0" TERM; sleep 2147483647 & wait' >>"$work/podman.log" 2>&1 ||
      fail "$work/podman.log" "podman run"
  done
  t1=$(now_us)
  echo $((t1 - t0)) >>"$work/s.podman-run-$mode"
  [ "$(podman ps -q --filter "name=pr-$mode-$r-" --filter status=running | wc -l)" = 10 ] ||
    fail "$work/podman.log" "podman run: not 10 running"
  podman ps -aq --filter "name=pr-$mode-$r-" | xargs podman rm -f -t 0 >>"$work/podman.log" 2>&1
}

runtime_round() {  # runtime_round ROUND: 10 × stack-runtime run -d, each timed
  local r=$1 i
  for ((i = 1; i <= 10; i++)); do
    timed "$work/s.runtime" "$work/runtime.log" "$runtime" --root "$work/rt-root" run -d \
      --bundle "$bundle" "$rt_prefix-$r-$i"
  done
  [ "$("$runtime" --root "$work/rt-root" list -q | wc -l)" = 10 ] || fail "$work/runtime.log" "runtime: not 10"
  for ((i = 1; i <= 10; i++)); do "$runtime" --root "$work/rt-root" delete -f "$rt_prefix-$r-$i"; done
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "tools: $("$stack" version --short 2>/dev/null || echo stack), $(podman --version), podman-compose" \
  "$(dpkg-query -W -f='${Version}' podman-compose), $(runc --version | head -n1)"
echo "image: $image ($stack_id)"
echo "rounds: $runs (podman-compose 50: $pc50_runs), load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Warm-up (untimed): page cache, seccomp cache, podman's first-run setup, CNI's first network.
cd "$work/proj/1"
S 1 up -d >"$work/stack.log" 2>&1 && S 1 down >>"$work/stack.log" 2>&1
podman-compose -p pc1 up -d >"$work/pc.log" 2>&1 && podman-compose -p pc1 down >>"$work/pc.log" 2>&1
podman run -d --name pr-warm "$image" true >/dev/null 2>&1 && podman rm -f pr-warm >/dev/null 2>&1

steps=(s1 s10 s50 p1 p10 prb prn rt)
for ((r = 0; r < runs; r++)); do
  for ((k = 0; k < ${#steps[@]}; k++)); do
    case ${steps[$(( (k + r) % ${#steps[@]} ))]} in  # rotate the order each round
      s1) stack_round 1 ;; s10) stack_round 10 ;; s50) stack_round 50 ;;
      p1) pc_round 1 ;; p10) pc_round 10 ;;
      prb) podman_run_round bridge "$r" ;; prn) podman_run_round none "$r" ;;
      rt) runtime_round "$r" ;;
    esac
  done
  if ((r < pc50_runs)); then pc_round 50; fi
  echo "round $((r + 1))/$runs done, load $(cut -d' ' -f1-3 /proc/loadavg)"
done

# --- statistics ----------------------------------------------------------------------------------
median() {  # median FILE → the median (mean of the two middle values for an even count)
  sort -n "$1" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
ms() { awk -v v="$1" 'BEGIN {printf "%.1f", v / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f×", a / b}'; }
count() { wc -l <"$1"; }
declare -A m
for f in "$work"/s.*; do m[${f##*/s.}]=$(median "$f"); done

echo
echo "| services | stack up -d (ms) | podman-compose up -d (ms) | up: pc/stack | stack down (ms) | podman-compose down (ms) | down: pc/stack |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for n in 1 10 50; do
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$(ms "${m[stack-up-$n]}")" \
    "$(ms "${m[pc-up-$n]}")" "$(ratio "${m[pc-up-$n]}" "${m[stack-up-$n]}")" \
    "$(ms "${m[stack-down-$n]}")" "$(ms "${m[pc-down-$n]}")" \
    "$(ratio "${m[pc-down-$n]}" "${m[stack-down-$n]}")"
done
echo
echo "(medians: stack and podman-compose 1 and 10 of $runs runs each, podman-compose 50 of $(count "$work/s.pc-up-50") runs)"
echo
slope=$(awk -v a="${m[stack-up-50]}" -v b="${m[stack-up-1]}" 'BEGIN {print (a - b) / 49}')
slope10=$(awk -v a="${m[stack-up-10]}" -v b="${m[stack-up-1]}" 'BEGIN {print (a - b) / 9}')
echo "| measure | median | note |"
echo "|---|---:|---|"
printf '| podman run -d ×10, bridge network | %s ms | stack up -d of 10 is %s faster |\n' \
  "$(ms "${m[podman-run-bridge]}")" "$(ratio "${m[podman-run-bridge]}" "${m[stack-up-10]}")"
printf '| podman run -d ×10, --network none | %s ms | stack up -d of 10 is %s faster |\n' \
  "$(ms "${m[podman-run-none]}")" "$(ratio "${m[podman-run-none]}" "${m[stack-up-10]}")"
printf '| stack-runtime run -d, per container | %.2f ms | %s samples |\n' \
  "$(awk -v v="${m[runtime]}" 'BEGIN {print v / 1000}')" "$(count "$work/s.runtime")"
printf '| stack up -d, cost per additional container (1→50) | %.2f ms | %.2f× the runtime start |\n' \
  "$(awk -v v="$slope" 'BEGIN {print v / 1000}')" "$(awk -v a="$slope" -v b="${m[runtime]}" 'BEGIN {print a / b}')"
printf '| stack up -d, cost per additional container (1→10) | %.2f ms | %.2f× the runtime start |\n' \
  "$(awk -v v="$slope10" 'BEGIN {print v / 1000}')" "$(awk -v a="$slope10" -v b="${m[runtime]}" 'BEGIN {print a / b}')"
printf '| no-op stack up -d, 50 services converged | %s ms | %s samples; goal < 200 ms |\n' \
  "$(ms "${m[stack-noop]}")" "$(count "$work/s.stack-noop")"
printf '| shim peak RSS (VmHWM) | median %.2f MB, max %.2f MB | %s shims; goal < 2 MB |\n' \
  "$(awk -v v="${m[shim-hwm]}" 'BEGIN {print v / 1024}')" \
  "$(sort -n "$work/s.shim-hwm" | tail -n1 | awk '{print $1 / 1024}')" "$(count "$work/s.shim-hwm")"
printf '| shim RssAnon (own anonymous memory) | median %.0f kB | |\n' "${m[shim-anon]}"
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
