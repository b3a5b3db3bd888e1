#!/usr/bin/env bash
# Benchmark: loading and rendering a Compose project — `stack config` against the peer that
# Debian 12 packages, `docker-compose config` (Compose 1.29; Compose v2 is not packaged), on
# generated projects of 1, 50 and 500 services with ports, volumes, environment, healthchecks,
# depends_on and an override file. Prints the median wall time of RUNS runs each and the ratio.
#
#   bench/compose_config.sh [BUILD_DIR]      (RUNS=15 by default)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${STACK_BUILD_DIR:-$root/build}}
stack="$build/cmd/stack"
runs=${RUNS:-15}
[ -x "$stack" ] || { echo "build stack first (scripts/build.sh)"; exit 1; }
if ! command -v docker-compose >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

generate() {  # generate N DIR
  local n=$1 dir=$2
  mkdir -p "$dir"
  {
    echo 'version: "3.8"'
    echo 'services:'
    for i in $(seq 1 "$n"); do
      cat <<YAML
  svc$i:
    image: "registry.local:5000/app/svc$i:\${TAG:-1.0}"
    command: ["/bin/server", "--port", "80$((i % 10))"]
    ports: ["$((20000 + i)):80", "127.0.0.1:$((30000 + i)):443/tcp"]
    volumes: ["data$i:/var/lib/data", "./conf/svc$i:/etc/svc:ro"]
    environment:
      SERVICE_NAME: svc$i
      LOG_LEVEL: "\${LOG_LEVEL:-info}"
      REPLICA: "$i"
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost/health"]
      interval: 10s
      timeout: 2s
      retries: 3
    depends_on: [$( [ "$i" -gt 1 ] && echo "svc$((i - 1))" || echo "" )]
    labels: {team: core, tier: "$((i % 3))"}
    networks: [front, back]
YAML
    done
    echo 'networks: {front: {}, back: {internal: true}}'
    echo 'volumes:'
    for i in $(seq 1 "$n"); do echo "  data$i: {}"; done
  } >"$dir/docker-compose.yml"
  sed -i 's/depends_on: \[\]/depends_on: []/' "$dir/docker-compose.yml"
  {
    echo 'version: "3.8"'
    echo 'services:'
    echo '  svc1:'
    echo '    environment: {LOG_LEVEL: debug}'
  } >"$dir/docker-compose.override.yml"
}

median_ms() {  # median_ms CMD... : runs the command $runs times in the current directory
  local t=()
  for _ in $(seq 1 "$runs"); do
    local s e
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }
    e=$(date +%s%N)
    t+=($(( (e - s) / 1000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'
}

printf '%-10s %14s %22s %8s\n' services "stack (ms)" "docker-compose (ms)" ratio
for n in 1 50 500; do
  dir="$work/p$n"
  generate "$n" "$dir"
  cd "$dir"
  s=$(median_ms "$stack" config)
  d=$(median_ms docker-compose config)
  printf '%-10s %14s %22s %7.1fx\n' "$n" "$s" "$d" "$(awk -v a="$d" -v b="$s" 'BEGIN {print a / b}')"
done
echo "(median of $runs runs; ratio = docker-compose / stack, higher is better for stack)"
