#!/usr/bin/env bash
# Benchmark: start-to-exit latency of an OCI runtime's `run` of /bin/true (busybox-static) from a
# prepared bundle — stack-runtime against the peers Debian 12 packages, runc and crun, side by
# side in one run. Reports per runtime/setup/profile: wall median and p90, CPU (user+sys of the
# runtime's process tree), peak RSS, and ratios against runc and crun.
#
#   bench/runtime_start.sh [BUILD_DIR]     (RUNS=50 WARMUP=3 CHUNK=10; RAW_DIR=dir keeps samples)
#
# Setups: "host" is this machine as it is (hybrid cgroups); "private-ns" is a private mount
# namespace (unshare -m) with /sys/fs/cgroup/unified unmounted, because crun refuses hybrid
# hosts and only runs where it sees a pure v1 layout. All three runtimes run in private-ns;
# stack-runtime and runc also on the host. Profiles: "default" is `stack-runtime spec` with
# terminal false and args ["/bin/true"]; "docker-seccomp" adds Docker's default seccomp profile
# (runc and crun compile it at every start; stack-runtime caches the BPF under its --root, which
# the warm-up runs fill; one extra row gives it a fresh --root per run, an empty cache). Runs
# are interleaved in rounds of CHUNK so that load drift on the shared 2-core machine hits every
# runtime alike. Needs root. For quieter figures hold the build lock while it runs:
#   flock /tmp/stack-build.lock bench/runtime_start.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-${STACK_BUILD_DIR:-$root/build}}" && pwd)
runs=${RUNS:-50}
warmup=${WARMUP:-3}
chunk=${CHUNK:-10}
stack="$build/cmd/stack-runtime"

# --- prerequisites -------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || { echo "runtime_start.sh: needs root" >&2; exit 1; }
[ -x "$stack" ] || { echo "build stack-runtime first: ninja -C $build stack-runtime" >&2; exit 1; }
for lib in runtime/libstack_runtime.a common/libstack_common.a; do
  [ -f "$build/$lib" ] || { echo "missing $build/$lib (build stack-runtime)" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "needs busybox-static at /bin/busybox" >&2; exit 1; }
missing=()
command -v runc >/dev/null || missing+=(runc)
command -v crun >/dev/null || missing+=(crun)
command -v jq >/dev/null || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
runc=$(command -v runc)
crun=$(command -v crun)

work=$(mktemp -d /tmp/runtime_start.XXXXXX)
prefix="rsb$$"  # container id prefix: unique per invocation, greppable in cgroup trees

# Runs a command in a private mount namespace without the cgroup2 mount of the hybrid layout.
in_private_ns() {
  unshare -m --propagation private -- bash -c \
    'if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi; exec "$@"' _ "$@"
}

# Deletes containers left in any of our --root dirs and cgroups named after our ids; returns 1
# if anything had to be cleaned, so the final check can fail loudly.
leftovers() {
  local found=0 dir rt ids id
  for dir in "$work"/root-*; do
    [ -d "$dir" ] || continue
    rt=${dir##*/root-}; rt=${rt%%.*}
    case $rt in
      stack) ids=$("$stack" --root "$dir" list -q 2>/dev/null || true) ;;
      stack-cold) ids= ;;  # per-run roots, checked and removed right after each run
      runc) ids=$("$runc" --root "$dir" list -q 2>/dev/null || true) ;;
      crun) ids=$(in_private_ns "$crun" --root "$dir" list -q 2>/dev/null || true) ;;
    esac
    for id in $ids; do
      found=1
      echo "leftover container $id in $dir" >&2
      case $rt in
        stack) "$stack" --root "$dir" delete -f "$id" || true ;;
        runc) "$runc" --root "$dir" delete -f "$id" || true ;;
        crun) in_private_ns "$crun" --root "$dir" delete -f "$id" || true ;;
      esac
    done
  done
  while read -r cg; do
    found=1
    echo "leftover cgroup $cg" >&2
    rmdir "$cg" 2>/dev/null || true
  done < <(find /sys/fs/cgroup -mindepth 2 -maxdepth 6 -type d -name "$prefix-*" 2>/dev/null | sort -r)
  if grep -q " $work/" /proc/self/mountinfo; then
    found=1
    echo "leftover mounts under $work:" >&2
    grep " $work/" /proc/self/mountinfo >&2
  fi
  return $found
}

cleanup() {
  leftovers || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- helpers: driver, Docker seccomp section, bundles ---------------------------------------------
g++ -std=c++20 -O2 -Wall -Wextra -o "$work/driver" "$root/bench/runtime_start_driver.cpp"
g++ -std=c++20 -O2 -I"$root/runtime/include" -I"$root/common/include" \
  -o "$work/seccomp_gen" "$root/bench/runtime_start_seccomp.cpp" \
  "$build/runtime/libstack_runtime.a" "$build/common/libstack_common.a" -lseccomp -lcap -lcrypto
"$work/seccomp_gen" | jq '.linux.seccomp' >"$work/seccomp.json"
[ "$(jq '.syscalls | length' "$work/seccomp.json")" -gt 10 ] || { echo "empty seccomp profile" >&2; exit 1; }

make_bundle() {  # make_bundle DIR PROFILE
  local dir=$1 profile=$2
  mkdir -p "$dir/rootfs/bin"
  cp /bin/busybox "$dir/rootfs/bin/busybox"
  ln -s busybox "$dir/rootfs/bin/true"
  ln -s busybox "$dir/rootfs/bin/sh"
  (cd "$dir" && "$stack" spec)
  # ociVersion 1.1.0: crun 1.8.1 (Debian 12) rejects the 1.2.0 that `stack-runtime spec` writes
  # ("unknown version specified"); every runtime gets the same document.
  local filter='.ociVersion = "1.1.0" | .process.terminal = false | .process.args = ["/bin/true"]'
  # shellcheck disable=SC2016  # $seccomp is a jq variable
  [ "$profile" = docker-seccomp ] && filter+=' | .linux.seccomp = $seccomp[0]'
  jq --slurpfile seccomp "$work/seccomp.json" "$filter" "$dir/config.json" >"$dir/config.json.new"
  mv "$dir/config.json.new" "$dir/config.json"
}
make_bundle "$work/bundle-default" default
make_bundle "$work/bundle-docker-seccomp" docker-seccomp

# --- the measurement matrix ----------------------------------------------------------------------
combos=(
  "stack host default" "runc host default"
  "stack host docker-seccomp" "runc host docker-seccomp"
  "stack private-ns default" "runc private-ns default" "crun private-ns default"
  "stack private-ns docker-seccomp" "runc private-ns docker-seccomp" "crun private-ns docker-seccomp"
  "stack-cold host docker-seccomp"
)

fail_run() {  # fail_run ERR_FILE COMBO: the runtime's last words, then stop
  tail -n 20 "$1" >&2
  echo "FAILED: $2" >&2
  exit 1
}

# measure INDEX FIRST COUNT OUT: runs combo INDEX for ids FIRST.. and appends samples to OUT.
measure() {
  local idx=$1 first=$2 count=$3 out=$4 rt setup profile bin
  read -r rt setup profile <<<"${combos[$idx]}"
  case $rt in stack | stack-cold) bin=$stack ;; runc) bin=$runc ;; crun) bin=$crun ;; esac
  local state="$work/root-$rt.$setup.$profile" err="$work/err.$idx"
  if [ "$rt" = stack-cold ]; then
    # A fresh --root per run: the seccomp cache is empty, so every start compiles the filter
    # and writes the cache file, as the first container of a new profile does.
    local j
    for ((j = first; j < first + count; j++)); do
      "$work/driver" "$j" 1 "$prefix-$idx" "$err" -- "$bin" --root "$state/$j" run \
        --bundle "$work/bundle-$profile" @ID@ >>"$out" || fail_run "$err" "${combos[$idx]}"
      if [ -n "$("$stack" --root "$state/$j" list -q)" ]; then
        echo "leftover container in $state/$j" >&2
        exit 1
      fi
      rm -rf "${state:?}/$j"
    done
    return
  fi
  mkdir -p "$state"
  local cmd=("$work/driver" "$first" "$count" "$prefix-$idx" "$err" --
             "$bin" --root "$state" run --bundle "$work/bundle-$profile" @ID@)
  if [ "$setup" = private-ns ]; then
    in_private_ns "${cmd[@]}" >>"$out" || fail_run "$err" "${combos[$idx]}"
  else
    "${cmd[@]}" >>"$out" || fail_run "$err" "${combos[$idx]}"
  fi
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "runtimes: stack-runtime $("$stack" --version | head -n1 | awk '{print $3}'), $("$runc" --version | head -n1), $("$crun" --version | head -n1)"
echo "runs: $runs per row (+$warmup warm-up), rounds of $chunk, load before: $(cut -d' ' -f1-3 /proc/loadavg)"

n=${#combos[@]}
for ((i = 0; i < n; i++)); do measure "$i" 0 "$warmup" "$work/warm.$i"; done
rounds=$(( (runs + chunk - 1) / chunk ))
for ((r = 0; r < rounds; r++)); do
  count=$(( runs - r * chunk < chunk ? runs - r * chunk : chunk ))
  for ((k = 0; k < n; k++)); do
    i=$(( (k + r) % n ))  # rotate the order so no runtime always runs right after another
    measure "$i" $(( warmup + r * chunk )) "$count" "$work/samples.$i"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${RAW_DIR:-}" ]; then
  mkdir -p "$RAW_DIR"
  for ((i = 0; i < n; i++)); do
    tr ' ' '_' <<<"${combos[$i]}" | xargs -I{} cp "$work/samples.$i" "$RAW_DIR/{}.txt"
  done
fi

# --- statistics and table ------------------------------------------------------------------------
# quantile FILE COLUMN Q: nearest-rank quantile (Q=0.5 median: mean of the two middle values).
quantile() {
  awk -v c="$2" '{print $c}' "$1" | sort -n | awk -v q="$3" '{a[NR] = $1} END {
    if (q == 0.5) m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
    else { k = int(q * NR); if (k < q * NR) k++; m = a[k] }
    print m }'
}
declare -A wall p90 cpu rss
for ((i = 0; i < n; i++)); do
  [ "$(wc -l <"$work/samples.$i")" -eq "$runs" ] || { echo "sample count mismatch: ${combos[$i]}" >&2; exit 1; }
  wall[$i]=$(quantile "$work/samples.$i" 2 0.5)
  p90[$i]=$(quantile "$work/samples.$i" 2 0.9)
  cpu[$i]=$(quantile "$work/samples.$i" 3 0.5)
  rss[$i]=$(quantile "$work/samples.$i" 4 0.5)
done
find_combo() {  # find_combo RUNTIME SETUP PROFILE → index
  local j
  for ((j = 0; j < n; j++)); do [ "${combos[$j]}" = "$1 $2 $3" ] && { echo "$j"; return; }; done
  echo -1
}
ratio() { [ "$2" -ge 0 ] && awk -v a="${wall[$1]}" -v b="${wall[$2]}" 'BEGIN {printf "%.2f×", a / b}' || echo "–"; }

echo
echo "| runtime | setup | profile | wall median (ms) | wall p90 (ms) | CPU median (ms) | peak RSS median (MB) | vs runc | vs crun |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|"
for ((i = 0; i < n; i++)); do
  read -r rt setup profile <<<"${combos[$i]}"
  case $rt in
    stack) name="stack-runtime" ;;
    stack-cold) name="stack-runtime (cold seccomp cache)" ;;
    *) name=$rt ;;
  esac
  printf '| %s | %s | %s | %.2f | %.2f | %.2f | %.1f | %s | %s |\n' "$name" "$setup" "$profile" \
    "$(awk -v v="${wall[$i]}" 'BEGIN {print v / 1000}')" "$(awk -v v="${p90[$i]}" 'BEGIN {print v / 1000}')" \
    "$(awk -v v="${cpu[$i]}" 'BEGIN {print v / 1000}')" "$(awk -v v="${rss[$i]}" 'BEGIN {print v / 1024}')" \
    "$(ratio "$i" "$(find_combo runc "$setup" "$profile")")" \
    "$( [ "$setup" = private-ns ] && ratio "$i" "$(find_combo crun "$setup" "$profile")" || echo "–")"
done
echo
echo "(median of $runs runs; ratios = this row's wall median / the peer's in the same setup and profile: below 1 is faster)"

# --- final check: nothing may be left behind -----------------------------------------------------
if ! leftovers; then
  echo "runtime_start.sh: runtimes left state behind (cleaned up, listed above)" >&2
  exit 1
fi
