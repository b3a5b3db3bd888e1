#!/usr/bin/env bash
# Networks: the cost of stack's published ports (nftables DNAT, no proxy process) against the
# same path without the port mapping and against a userland proxy (socat, what docker-proxy
# does), the embedded DNS's answer latency, and the cost of attaching a container to a network.
# Side by side in the same run:
#   throughput (iperf3, 5 s per run, one TCP stream):
#     container → container over the bridge           (direct, the floor)
#     host → container address                        (direct, no mapping)
#     host → 127.0.0.1:published port                 (stack: DNAT, route_localnet, masquerade)
#     host → 127.0.0.1:socat port → container         (userland proxy)
#   connection rate (ab, no keep-alive: every request a new connection, 5000 requests, 16 at a
#     time, runs spaced by 3 s in rotating order) against busybox httpd in the container, over
#     the same three host paths
#   DNS: 5000 sequential A queries for a service name from inside a container (bench/dns_latency.py)
#   attach: `stack up -d` of 10 replicas on a bridge network vs the same with network_mode: none;
#     the difference per container is what attaching costs (namespace, veth, address, routes,
#     the DNS listener and record, the firewall rebuild)
#
#   bench/network.sh [BUILD_DIR]      (RUNS=3 rounds; needs root)
#
# Installs iperf3, apache2-utils (ab), socat and jq with apt-get if missing (and says so).
# Everything stays on this machine: the containers' namespaces and loopback.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-${STACK_BUILD_DIR:-$root/build}}" && pwd)
runs=${RUNS:-3}
secs=${SECS:-5}
stack="$build/cmd/stack"

[ "$(id -u)" = 0 ] || { echo "network.sh: needs root" >&2; exit 1; }
for bin in stack stack-shim stack-netd; do
  [ -x "$build/cmd/$bin" ] || { echo "build $bin first: ninja -C $build $bin" >&2; exit 1; }
done
missing=()
command -v iperf3 >/dev/null || missing+=(iperf3)
command -v ab >/dev/null || missing+=(apache2-utils)
command -v socat >/dev/null || missing+=(socat)
command -v jq >/dev/null || missing+=(jq)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "network.sh: installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /var/tmp/stack_net.XXXXXX)
state="$work/root"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for d in "$work"/p-*/; do
    [ -d "$d" ] && (cd "$d" && "$stack" --root "$state" down -t 0 >/dev/null 2>&1) || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
# The embedded DNS forwards names it does not know; nothing here asks for one, and should
# anything, it goes to a port where nothing answers rather than to the host's resolver.
export STACK_DNS_UPSTREAMS=127.0.0.1:9
STACK="$stack" "$root/scripts/build_example_images.sh" "$state" >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
record() { jq -r "$2" "$state/containers/$(cd "$work/p-net" && "$stack" --root "$state" ps -q "$1" | head -1)/container.json"; }

# --- the stack: a server (httpd) with two published ports, and a client -------------------------
http_port=$(free_port); iperf_port=$(free_port)
mkdir -p "$work/p-net"
cat >"$work/p-net/compose.yaml" <<EOF
name: netbench
services:
  srv:
    image: stack-examples/busybox:1
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["$http_port:80", "$iperf_port:5201"]
  cli:
    image: stack-examples/busybox:1
    command: ["sleep", "1000000"]
EOF
(cd "$work/p-net" && "$stack" --root "$state" up -d >"$work/up.log" 2>&1) ||
  { cat "$work/up.log" >&2; exit 1; }
srv_ns=$(record srv .netns); cli_ns=$(record cli .netns)
srv_ip=$(record srv '.endpoints[0].ipv4')
# iperf3 in the server container's namespace (a host binary: only the network path matters).
nsenter --net="$srv_ns" iperf3 -s -p 5201 >/dev/null 2>&1 & pids+=($!)
proxy_iperf=$(free_port); proxy_http=$(free_port)
socat TCP-LISTEN:"$proxy_iperf",bind=127.0.0.1,fork,reuseaddr TCP:"$srv_ip":5201 & pids+=($!)
socat TCP-LISTEN:"$proxy_http",bind=127.0.0.1,fork,reuseaddr TCP:"$srv_ip":80 & pids+=($!)
sleep 0.5

iperf() {  # iperf() NETNS|"" HOST PORT → Gbit/s
  local cmd=(iperf3 -c "$2" -p "$3" -t "$secs" -J)
  [ -n "$1" ] && cmd=(nsenter --net="$1" "${cmd[@]}")
  "${cmd[@]}" 2>/dev/null | jq '.end.sum_received.bits_per_second / 1e9'
}
rate() {  # rate() HOST PORT → requests/s
  # Every path ends in the same tuples (the bridge address → the container:80), so the
  # conntrack entries one run leaves in TIME_WAIT make the next run's source NAT search for
  # free ports: runs are kept short, spaced, and their order rotates per round.
  sleep 3
  ab -q -n "$requests" -c 16 "http://$1:$2/" 2>/dev/null | awk '/Requests per second/ {print $4}'
}
requests=${REQUESTS:-5000}

declare -A tput conn
for ((r = 1; r <= runs; r++)); do
  tput[bridge]+="$(iperf "$cli_ns" "$srv_ip" 5201) "
  tput[direct]+="$(iperf "" "$srv_ip" 5201) "
  tput[published]+="$(iperf "" 127.0.0.1 "$iperf_port") "
  tput[socat]+="$(iperf "" 127.0.0.1 "$proxy_iperf") "
  order=(direct published socat)
  for ((k = 0; k < 3; k++)); do
    case ${order[(k + r) % 3]} in
      direct) conn[direct]+="$(rate "$srv_ip" 80) ";;
      published) conn[published]+="$(rate 127.0.0.1 "$http_port") ";;
      socat) conn[socat]+="$(rate 127.0.0.1 "$proxy_http") ";;
    esac
  done
done
dns=$(nsenter --net="$cli_ns" python3 "$root/bench/dns_latency.py" 127.0.0.11 srv 5000)

# --- attach: 10 replicas on a bridge network vs network_mode none --------------------------------
for mode in bridge none; do
  mkdir -p "$work/p-$mode"
  {
    echo "name: attach$mode"
    echo "services:"
    echo "  s:"
    echo "    image: stack-examples/busybox:1"
    echo "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 1000000 & wait\"]"
    echo "    deploy: {replicas: 10}"
    [ "$mode" = none ] && echo "    network_mode: none"
  } >"$work/p-$mode/compose.yaml"
done
declare -A up
for ((r = 1; r <= runs + 2; r++)); do
  for mode in bridge none; do
    cd "$work/p-$mode"
    start=$(date +%s%N)
    "$stack" --root "$state" up -d >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; exit 1; }
    up[$mode]+="$(( ($(date +%s%N) - start) / 1000 )) "
    "$stack" --root "$state" down -t 0 >/dev/null 2>&1
  done
done
cd "$root"

# --- report --------------------------------------------------------------------------------------
m() { tr ' ' '\n' <<<"$1" | grep -v '^$' | median; }
printf '\nnetwork benchmark: %s rounds, iperf3 %s s, one stream; ab %s requests, 16 at a time\n' "$runs" "$secs" "$requests"
printf '%-44s %12s %10s\n' "TCP throughput (iperf3)" "Gbit/s" "vs direct"
d=$(m "${tput[direct]}")
for k in bridge direct published socat; do
  v=$(m "${tput[$k]}")
  case $k in
    bridge) label="container → container (bridge)";;
    direct) label="host → container address (no mapping)";;
    published) label="host → 127.0.0.1 published port (stack)";;
    socat) label="host → 127.0.0.1 socat proxy → container";;
  esac
  printf '%-44s %12.2f %9.0f%%\n' "$label" "$v" "$(awk -v a="$v" -v b="$d" 'BEGIN{print 100*a/b}')"
done
printf '%-44s %12s %10s\n' "connection rate (ab, new connection each)" "req/s" "vs direct"
d=$(m "${conn[direct]}")
for k in direct published socat; do
  v=$(m "${conn[$k]}")
  printf '%-44s %12.0f %9.0f%%\n' "$k" "$v" "$(awk -v a="$v" -v b="$d" 'BEGIN{print 100*a/b}')"
done
echo "DNS (srv from cli, 5000 sequential UDP queries): $dns"
b=$(tr ' ' '\n' <<<"${up[bridge]}" | grep -v '^$' | tail -n "$runs" | median)
n=$(tr ' ' '\n' <<<"${up[none]}" | grep -v '^$' | tail -n "$runs" | median)
printf 'up -d of 10 replicas: bridge %.1f ms, network_mode none %.1f ms → attach %.2f ms per container\n' \
  "$(awk -v x="$b" 'BEGIN{print x/1000}')" "$(awk -v x="$n" 'BEGIN{print x/1000}')" \
  "$(awk -v x="$b" -v y="$n" 'BEGIN{print (x-y)/10000}')"
