#!/bin/bash
# Init of the vm tests' qemu guest (Debian's kernel booted with cgroup_no_v1=all, so pure
# cgroup v2 with every controller), exec'd by initramfs_init.sh inside the host's / shared
# read-only over 9p. Runs every check with stack-runtime and prints its facts on the console as
#   VM-RESULT CHECK.key=value
# lines, which run_vm_check.sh compares with the expected ones. It asserts nothing itself, so
# that a failing check still reports everything it saw. Each check runs in its own bash (this
# script with --check NAME) under a timeout and ends with "VM-RESULT CHECK.rc=N"; the whole
# run ends with "VM-EXIT rc=N" and a power-off.
#
# The kernel passes unknown command-line parameters to init as environment variables:
#   stack_vm_checks   comma-separated check names (check_* below)
#   stack_vm_runtime  stack-runtime, stack_vm_probe  the static probe, stack_vm_runc  runc
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

readonly STATE_ROOT=/run/stack-runtime
# Scratch space on the guest's tmpfs /run: /tmp is left alone, because the build directory
# (and so the runtime and probe this script runs) may live below the host's /tmp.
readonly SCRATCH=/run/vm-scratch
readonly ROOTFS=$SCRATCH/rootfs
readonly BUNDLES=$SCRATCH/bundles
readonly PARENT=stack-vm              # cgroup made here, so that delete must leave it alone
readonly CG=/sys/fs/cgroup/$PARENT

readonly CHECK_TIMEOUT_S=40           # one check; the driver's limit on the whole VM is larger

RUNTIME=${stack_vm_runtime:-} PROBE=${stack_vm_probe:-} RUNC=${stack_vm_runc:-/usr/sbin/runc}
CHECK=vm                              # prefix of the result keys: the running check's name

result() { echo "VM-RESULT $CHECK.$1=$2"; }

# Everything the kernel leaves to init: the pseudo filesystems, cgroup2 with every controller
# delegated to children, and tmpfs on /run for the places the runtime writes (the 9p / is read-only).
setup_vm() {
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
  mount -t tmpfs tmpfs /run
  mkdir -p "$SCRATCH"
  mkdir /dev/pts /dev/shm
  mount -t devpts devpts /dev/pts
  mount -t tmpfs tmpfs /dev/shm
  local c
  for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control
  done
  mkdir "$CG"
  for c in $(cat "$CG/cgroup.controllers"); do echo "+$c" >"$CG/cgroup.subtree_control"; done
  result controllers "$(cat "$CG/cgroup.subtree_control")"
}

# A read-only busybox rootfs shared by every bundle, with the static probe.
make_rootfs() {
  mkdir -p "$ROOTFS"/{bin,dev,proc,sys,tmp}
  cp /bin/busybox "$PROBE" "$ROOTFS/bin/"
  local applet
  for applet in sh cat echo head mknod sleep grep ls; do ln -s busybox "$ROOTFS/bin/$applet"; done
}

# new_bundle NAME ARGS_JSON RESOURCES_JSON [JQ_FILTER]: a bundle from `stack-runtime spec` with
# the process, resources and an absolute cgroupsPath below $PARENT.
new_bundle() {
  local name=$1 args=$2 resources=$3 extra=${4:-.}
  local dir=$BUNDLES/$name
  mkdir -p "$dir"
  (cd "$dir" && "$RUNTIME" spec)
  jq --argjson args "$args" --argjson res "$resources" \
    --arg cg "/$PARENT/$name" --arg rootfs "$ROOTFS" \
    '.process.terminal = false | .process.args = $args
     | .root.path = $rootfs | .linux.cgroupsPath = $cg
     | .linux.resources = (.linux.resources + $res)' "$dir/config.json" |
    jq "$extra" >"$dir/config.new"
  mv "$dir/config.new" "$dir/config.json"
}

rt() { "$RUNTIME" --root "$STATE_ROOT" "$@"; }

# wait_status ID STATUS: polls `state` (at most ~5 s).
wait_status() {
  local _
  for _ in $(seq 100); do
    [[ $(rt state "$1" | jq -r .status) == "$2" ]] && return 0
    sleep 0.05
  done
  return 1
}

# Prints a container's output lines as results: "KEY=VALUE" lines are the container's facts.
results_from() {
  local line
  while IFS= read -r line; do
    [[ $line == *=* ]] && result "${line%%=*}" "${line#*=}"
  done <"$1"
}

leftovers() {
  local left
  left=$(find "$CG" -mindepth 1 -maxdepth 1 -type d -printf '%f ')
  result cgroup_leftover "${left:-none}"
  left=$(ls -A "$STATE_ROOT" 2>/dev/null | tr '\n' ' ')
  result state_leftover "${left:-none}"
}

# 1. The runtime sees pure v2, puts the container in its own cgroup and writes the limits.
check_detect() {
  new_bundle detect '["sh","-c","echo inner_cgroup=$(cat /proc/self/cgroup); echo inner_memory_max=$(cat /sys/fs/cgroup/memory.max); echo inner_pids_max=$(cat /sys/fs/cgroup/pids.max)"]' \
    '{"memory":{"limit":67108864},"pids":{"limit":20}}'
  rt create --bundle "$BUNDLES/detect" --pid-file $SCRATCH/detect.pid detect >$SCRATCH/detect.out 2>&1
  local pid
  pid=$(cat $SCRATCH/detect.pid)
  result host_cgroup "$(cat "/proc/$pid/cgroup")"
  result host_memory_max "$(cat "$CG/detect/memory.max")"
  result host_pids_max "$(cat "$CG/detect/pids.max")"
  result host_procs "$(cat "$CG/detect/cgroup.procs" | wc -l)"
  rt start detect
  wait_status detect stopped
  rt delete detect
  results_from $SCRATCH/detect.out
  leftovers
}

# 2. memory.max 32 MiB: allocating 200 MiB gets the init OOM-killed (SIGKILL, 128+9).
check_oom() {
  local res='{"memory":{"limit":33554432}}'
  new_bundle oom '["/bin/probe","alloc","200"]' "$res"
  local rc=0
  rt run --bundle "$BUNDLES/oom" oom >$SCRATCH/oom.out 2>&1 || rc=$?
  result run_exit "$rc"
  # memory.events is hierarchical: the parent counts the kills of the (now removed) child.
  result parent_oom_kill "$(awk '$1 == "oom_kill" {print $2}' "$CG/memory.events")"
  # The container's own memory.events, read before delete.
  new_bundle oom2 '["/bin/probe","alloc","200"]' "$res"
  rt create --bundle "$BUNDLES/oom2" oom2 >$SCRATCH/oom2.out 2>&1
  rt start oom2
  wait_status oom2 stopped
  result container_oom_kill "$(awk '$1 == "oom_kill" {print $2}' "$CG/oom2/memory.events")"
  result container_memory_max "$(cat "$CG/oom2/memory.max")"
  rt delete oom2
  # Neither container may get as far as printing "allocated".
  result probe_output "$(cat $SCRATCH/oom.out $SCRATCH/oom2.out | grep -c allocated || true)"
  leftovers
}

# 3. pids.max 10: the probe (1 task) forks until fork fails with EAGAIN.
check_pids() {
  new_bundle pids '["/bin/probe","fork","50"]' '{"pids":{"limit":10}}'
  local rc=0
  rt run --bundle "$BUNDLES/pids" pids >$SCRATCH/pids.out 2>&1 || rc=$?
  result run_exit "$rc"
  local line
  line=$(grep '^forked=' $SCRATCH/pids.out || true)
  result forked "$(sed -n 's/^forked=\([0-9]*\).*/\1/p' <<<"$line")"
  result fork_error "$(sed -n 's/.*error=//p' <<<"$line")"
  leftovers
}

# 4. CPU bandwidth and weight, as runc converts them (shares → cpu.weight).
check_cpu() {
  new_bundle cpu '["sh","-c","echo cpu_max=$(cat /sys/fs/cgroup/cpu.max); echo cpu_weight=$(cat /sys/fs/cgroup/cpu.weight)"]' \
    '{"cpu":{"shares":1024,"quota":50000,"period":100000}}'
  local rc=0
  rt run --bundle "$BUNDLES/cpu" cpu >$SCRATCH/cpu.out 2>&1 || rc=$?
  result run_exit "$rc"
  results_from $SCRATCH/cpu.out
  leftovers
}

# 5. blockIO.weight 500: Debian's kernel has iocost, so io.weight exists and takes runc's
# conversion of the blkio range (1 + (500 - 10) * 9999 / 990 = 4950); once the bfq scheduler is
# loaded, io.bfq.weight exists too and takes the blkio value unchanged (io.weight stays default).
check_io() {
  local cmd='["sh","-c","echo io_weight=$(cat /sys/fs/cgroup/io.weight); [ -e /sys/fs/cgroup/io.bfq.weight ] && echo io_bfq_weight=$(cat /sys/fs/cgroup/io.bfq.weight); true"]'
  new_bundle io "$cmd" '{"blockIO":{"weight":500}}'
  local rc=0
  CHECK=io.iocost
  rt run --bundle "$BUNDLES/io" io >$SCRATCH/io_iocost.out 2>&1 || rc=$?
  result run_exit "$rc"
  results_from $SCRATCH/io_iocost.out
  leftovers
  modprobe bfq
  rc=0
  CHECK=io.bfq
  rt run --bundle "$BUNDLES/io" io >$SCRATCH/io_bfq.out 2>&1 || rc=$?
  result run_exit "$rc"
  results_from $SCRATCH/io_bfq.out
  leftovers
}

# 6. Device access through the cgroup BPF program: deny-all plus runc's defaults lets /dev/null
# be read and any node be made (mknod "m" is allowed for all), but opening 8:0 is refused with
# EPERM by the program. Without a program the open would reach the kernel: ENXIO (no such disk).
# A second container allows "b 8:0 r" and must get that ENXIO, so rules are not just deny-all.
check_devices() {
  local script='head -c1 /dev/null >/dev/null && echo null_read=ok;
    mknod /dev/xsda b 8 0 && echo mknod=ok;
    echo sda_read=$(head -c1 /dev/xsda 2>&1 >/dev/null | sed "s/.*: //")'
  local args
  args=$(jq -cn --arg s "$script" '["sh","-c",$s]')
  local caps='.process.capabilities |= map_values(. + ["CAP_MKNOD"])'
  new_bundle devices "$args" '{}' "$caps"
  rt run --bundle "$BUNDLES/devices" devices >$SCRATCH/devices.out 2>&1 || true
  results_from $SCRATCH/devices.out
  new_bundle devices_allow "$args" \
    '{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"b","major":8,"minor":0,"access":"r"}]}' "$caps"
  rt run --bundle "$BUNDLES/devices_allow" devices_allow >$SCRATCH/devices_allow.out 2>&1 || true
  result allow.sda_read "$(sed -n 's/^sda_read=//p' $SCRATCH/devices_allow.out)"
  leftovers
}

# 7. pause/resume through cgroup.freeze, then kill and delete leave nothing behind.
check_freeze() {
  new_bundle freeze '["/bin/sleep","60"]' '{}'
  rt create --bundle "$BUNDLES/freeze" freeze >/dev/null 2>&1
  rt start freeze
  rt pause freeze
  result paused.status "$(rt state freeze | jq -r .status)"
  result paused.freeze "$(cat "$CG/freeze/cgroup.freeze")"
  result paused.events "$(grep frozen "$CG/freeze/cgroup.events")"
  rt resume freeze
  result resumed.status "$(rt state freeze | jq -r .status)"
  result resumed.freeze "$(cat "$CG/freeze/cgroup.freeze")"
  result resumed.events "$(grep frozen "$CG/freeze/cgroup.events")"
  rt kill freeze KILL
  wait_status freeze stopped
  rt delete freeze
  leftovers
}

# 9. A running container below parents that create makes: swap and unified limits, exec joins
# the container's cgroup, update rewrites the limits, delete removes the parents it made too.
check_update() {
  new_bundle update '["/bin/sleep","60"]' \
    '{"memory":{"limit":67108864,"swap":134217728},"pids":{"limit":20},"unified":{"memory.high":"50331648"}}' \
    '.linux.cgroupsPath = "/stack-vm/nest/a/update"'
  local dir=$CG/nest/a/update
  rt create --bundle "$BUNDLES/update" update >$SCRATCH/update.out 2>&1
  rt start update
  result swap_max "$(cat "$dir/memory.swap.max")"
  result memory_high "$(cat "$dir/memory.high")"
  result exec_cgroup "$(rt exec update cat /proc/self/cgroup 2>&1)"
  rt update --memory 134217728 --pids-limit 30 --cpu-quota 20000 --cpu-period 100000 update \
    >>$SCRATCH/update.out 2>&1
  result updated.memory_max "$(cat "$dir/memory.max")"
  result updated.pids_max "$(cat "$dir/pids.max")"
  result updated.cpu_max "$(cat "$dir/cpu.max")"
  result updated.memory_high "$(cat "$dir/memory.high")"
  rt kill update KILL
  wait_status update stopped
  rt delete update
  leftovers
}

# 8. runc 1.1 on the same kernel and bundle, for comparison with check_cpu/check_detect.
check_runc() {
  new_bundle runc '["sh","-c","echo cpu_max=$(cat /sys/fs/cgroup/cpu.max); echo cpu_weight=$(cat /sys/fs/cgroup/cpu.weight); echo memory_max=$(cat /sys/fs/cgroup/memory.max); echo pids_max=$(cat /sys/fs/cgroup/pids.max)"]' \
    '{"cpu":{"shares":1024,"quota":50000,"period":100000},"memory":{"limit":67108864},"pids":{"limit":20}}'
  local rc=0
  "$RUNC" --root /run/runc run --bundle "$BUNDLES/runc" runc >$SCRATCH/runc.out 2>&1 || rc=$?
  result runc.run_exit "$rc"
  sed 's/^/runc./' $SCRATCH/runc.out >$SCRATCH/runc.results
  results_from $SCRATCH/runc.results
  rc=0
  rt run --bundle "$BUNDLES/runc" stack >$SCRATCH/runc_stack.out 2>&1 || rc=$?
  result stack.run_exit "$rc"
  sed 's/^/stack./' $SCRATCH/runc_stack.out >$SCRATCH/runc_stack.results
  results_from $SCRATCH/runc_stack.results
  leftovers
}

# Run by PID 1 after each check: removes whatever a failed check left behind (containers,
# their cgroups, the bundles) so that the next check starts clean.
scrub() {
  local id
  for id in $(rt list -q 2>/dev/null); do rt delete --force "$id" >/dev/null 2>&1 || true; done
  find "$CG" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
  rm -rf "$BUNDLES"
}

run_check() {
  CHECK=$1
  # The line that failed, for the driver's console dump (the result lines say what was seen).
  # To stderr (also the console): inside $(…) stdout would become part of a result's value.
  trap 'echo "VM-LOG $CHECK: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
  set -E
  "check_$1"
}

# Everything the containers and runtimes printed, for the driver to show on failure; then off.
power_off() {
  local rc=$? f
  for f in "$SCRATCH"/*.out; do [[ -e $f ]] && sed "s|^|VM-LOG ${f##*/}: |" "$f"; done
  echo "VM-EXIT rc=$rc"
  sync
  exec /bin/busybox poweroff -f
}

main() {
  trap power_off EXIT
  # The firmware's last escape sequences have no newline: start the results on a line of their own.
  echo
  : "${RUNTIME:?stack_vm_runtime= missing from the kernel command line}"
  : "${PROBE:?stack_vm_probe= missing from the kernel command line}"
  : "${stack_vm_checks:?stack_vm_checks= missing from the kernel command line}"
  setup_vm
  # The guest's clock starts at the kernel's boot: this is the boot time, END minus it the checks'.
  echo "VM-BEGIN uptime=$(cut -d' ' -f1 /proc/uptime)"
  make_rootfs
  local check rc start
  for check in ${stack_vm_checks//,/ }; do
    rc=0
    start=$(cut -d' ' -f1 /proc/uptime)
    timeout -k 2 "$CHECK_TIMEOUT_S" "$0" --check "$check" || rc=$?
    echo "VM-LOG $check: took $(awk -v s="$start" '{print $1 - s}' /proc/uptime) s (exit $rc)"
    CHECK=$check result rc "$rc"
    scrub
  done
  echo "VM-END uptime=$(cut -d' ' -f1 /proc/uptime)"
}

if [[ ${1:-} == --check ]]; then
  run_check "$2"
else
  main
fi
