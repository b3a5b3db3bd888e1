#!/bin/bash
# Asserts one check's results from the console of the VM that boot_vm.sh booted once for every
# check (ctest fixture "vm"): compares the check's "VM-RESULT CHECK.key=value" lines with the
# expected values below, and wants "CHECK.rc=0" (vm_init.sh ran the check to its end).
#
#   run_vm_check.sh CONSOLE CHECK
#
# Exit 0 when every expected line matched; otherwise prints each mismatch and the check's part
# of the console (its results and everything its containers and runtimes printed).
set -euo pipefail

die() { echo "FAIL: $*" >&2; exit 1; }
(($# == 2)) || die "usage: run_vm_check.sh CONSOLE CHECK"
readonly CONSOLE=$1 CHECK=$2
[[ -r $CONSOLE ]] || die "no VM console at $CONSOLE: the 'vm: boot' test (boot_vm.sh) makes it"

# The check's own keys, without the "CHECK." prefix; "vm." keys are the whole VM's.
declare -A got=()
while IFS= read -r line; do
  kv=${line#VM-RESULT }
  key=${kv%%=*}
  case $key in
    "$CHECK".*) got[${key#"$CHECK".}]=${kv#*=} ;;
    vm.*) got[$key]=${kv#*=} ;;
  esac
done < <(grep -a '^VM-RESULT ' "$CONSOLE" || true)

failures=0
pass() { echo "  ok   $1"; }
fail() { echo "  FAIL $1"; failures=$((failures + 1)); }
value() { if [[ -v got[$1] ]]; then printf '%s' "${got[$1]}"; else printf '<missing>'; fi; }

# expect KEY VALUE: exact match.
expect() {
  local v; v=$(value "$1")
  if [[ $v == "$2" ]]; then pass "$1=$v"; else fail "$1: expected '$2', got '$v'"; fi
}
# expect_num KEY OP N: integer comparison (OP is -ge, -lt, -ne, …).
expect_num() {
  local v; v=$(value "$1")
  if [[ $v =~ ^[0-9]+$ ]] && test "$v" "$2" "$3"; then pass "$1=$v ($2 $3)"
  else fail "$1: expected $2 $3, got '$v'"; fi
}
# Nothing left in the parent cgroup or the state directory after the check's containers.
expect_clean() {
  expect "${1:+$1.}cgroup_leftover" none
  expect "${1:+$1.}state_leftover" none
}

expect_detect() {
  expect host_cgroup "0::/stack-vm/detect"
  expect host_memory_max 67108864
  expect host_pids_max 20
  expect host_procs 1
  expect inner_cgroup "0::/"
  expect inner_memory_max 67108864
  expect inner_pids_max 20
  expect_clean
}
expect_oom() {
  expect run_exit 137
  expect_num parent_oom_kill -ge 1
  expect_num container_oom_kill -ge 1
  expect container_memory_max 33554432
  expect probe_output 0
  expect_clean
}
expect_pids() {
  expect run_exit 0
  expect_num forked -ge 1
  expect_num forked -lt 10
  expect fork_error EAGAIN
  expect_clean
}
expect_cpu() {
  expect run_exit 0
  expect cpu_max "50000 100000"
  expect cpu_weight 39  # 1 + (1024 - 2) * 9999 / 262142, runc's conversion
  expect_clean
}
expect_io() {
  expect iocost.run_exit 0
  expect iocost.io_weight "default 4950"  # 1 + (500 - 10) * 9999 / 990, runc's conversion
  expect_clean iocost
  expect bfq.run_exit 0
  expect bfq.io_bfq_weight "default 500"
  expect bfq.io_weight "default 100"      # bfq takes the weight instead of iocost
  expect_clean bfq
}
expect_devices() {
  expect null_read ok
  expect mknod ok
  expect sda_read "Operation not permitted"
  expect allow.sda_read "No such device or address"
  expect_clean
}
expect_freeze() {
  expect paused.status paused
  expect paused.freeze 1
  expect paused.events "frozen 1"
  expect resumed.status running
  expect resumed.freeze 0
  expect resumed.events "frozen 0"
  expect_clean
}
expect_update() {
  expect swap_max 67108864       # v2 holds swap alone: memory+swap 128 MiB - memory 64 MiB
  expect memory_high 50331648
  expect exec_cgroup "0::/"      # in the container's cgroup (and cgroup namespace)
  expect updated.memory_max 134217728
  expect updated.pids_max 30
  expect updated.cpu_max "20000 100000"
  expect updated.memory_high 50331648  # update leaves the fields it was not given alone
  expect_clean                   # including nest/a, which create made
}
expect_runc() {
  local rt
  for rt in runc stack; do
    expect "$rt.run_exit" 0
    expect "$rt.cpu_max" "50000 100000"
    expect "$rt.cpu_weight" 39
    expect "$rt.memory_max" 67108864
    expect "$rt.pids_max" 20
  done
  expect_clean
}

declare -F "expect_$CHECK" >/dev/null || die "unknown check '$CHECK'"
# Debian's kernel with cgroup_no_v1=all: every controller is on cgroup2.
expect vm.controllers "cpuset cpu io memory hugetlb pids rdma misc"
"expect_$CHECK"
expect rc 0

if ((failures > 0)); then
  echo "---- VM console: check '$CHECK' ----"
  grep -a -E "^VM-RESULT $CHECK\\.|^VM-LOG ${CHECK}[:.]|^VM-LOG ${CHECK}[a-z_0-9]*\\.out:" "$CONSOLE" || true
  echo "---- $failures failure(s) in vm check '$CHECK' ----"
  exit 1
fi
echo "vm check '$CHECK': all passed"
