#!/bin/bash
# Boots Debian's kernel under qemu (TCG: /dev/kvm is not usable here) once, with pure cgroup v2
# (cgroup_no_v1=all), and runs every check of vm_init.sh in it; run_vm_check.sh then reads the
# console this leaves in OUT_DIR. The guest sees this machine's / read-only over 9p, so it runs
# the freshly built binaries; a small initramfs made here mounts the share (initramfs_init.sh).
#
#   boot_vm.sh --runtime BIN --probe BIN --out-dir DIR [--runc BIN] CHECK...
#
# Exit 0 when the guest ran every check to the end (whatever their results); 1 when qemu or the
# kernel is missing, the guest did not boot, or it did not halt within TIMEOUT_S.
# Environment: STACK_VM_KERNEL=/boot/vmlinuz-VERSION picks a kernel (default: the newest one);
# STACK_VM_TIMEOUT_S (default 180) and STACK_VM_SMP (default 1: TCG on 2 shared cores is slower
# with 2) tune qemu.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly QEMU=qemu-system-x86_64
readonly TIMEOUT_S=${STACK_VM_TIMEOUT_S:-180}
readonly BUSYBOX=/bin/busybox
readonly SMP=${STACK_VM_SMP:-1}
# What the initramfs needs to mount a virtio 9p share; make_initramfs.py adds the dependencies.
readonly MODULES=(virtio_pci 9pnet_virtio 9p)

runtime="" probe="" out_dir="" runc=/usr/sbin/runc checks=()
while (($#)); do
  case $1 in
    --runtime) runtime=$2; shift 2 ;;
    --probe) probe=$2; shift 2 ;;
    --out-dir) out_dir=$2; shift 2 ;;
    --runc) runc=$2; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) checks+=("$1"); shift ;;
  esac
done

die() { echo "FAIL: $*" >&2; exit 1; }

# The kernel whose modules are installed; missing pieces name the package that provides them.
find_kernel() {
  local kernel=${STACK_VM_KERNEL:-}
  if [[ -z $kernel ]]; then
    kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  [[ -n $kernel && -r $kernel ]] ||
    die "no readable /boot/vmlinuz-*: install linux-image-amd64 (scripts/setup.sh does)"
  local version=${kernel#*/vmlinuz-}
  [[ -r /lib/modules/$version/modules.dep ]] ||
    die "/lib/modules/$version/modules.dep missing: reinstall linux-image-$version"
  echo "$kernel"
}

check_inputs() {
  ((${#checks[@]} > 0)) || die "no checks given"
  [[ -n $out_dir ]] || die "--out-dir missing"
  command -v "$QEMU" >/dev/null ||
    die "$QEMU not found: install qemu-system-x86 (scripts/setup.sh does)"
  [[ -x $BUSYBOX ]] || die "$BUSYBOX not found: install busybox-static (scripts/setup.sh does)"
  [[ -x $runc ]] || die "$runc not found: install runc (scripts/setup.sh does)"
  command -v python3 >/dev/null || die "python3 not found (makes the initramfs)"
  local bin
  for bin in "$runtime" "$probe"; do
    [[ -x $bin ]] || die "not executable: '$bin' (build the stack-runtime and probe targets)"
  done
  # The paths travel on the kernel command line, which splits at white space.
  for bin in "$runtime" "$probe" "$runc" "$HERE"; do
    [[ $bin != *[[:space:]]* ]] || die "white space in '$bin': cannot pass it to the guest"
  done
}

check_inputs
kernel=$(find_kernel)
version=${kernel#*/vmlinuz-}
# Results of an earlier boot must not pass for this one's.
rm -rf "$out_dir"
mkdir -p "$out_dir"

modules=$(python3 "$HERE/make_initramfs.py" --kernel-version "$version" \
  --init "$HERE/initramfs_init.sh" --busybox "$BUSYBOX" --out "$out_dir/initramfs.cpio" \
  "${MODULES[@]}")
echo "kernel $kernel; initramfs modules: $modules"

checks_csv=$(IFS=,; echo "${checks[*]}")
# Unknown name=value parameters become init's environment (see initramfs_init.sh, vm_init.sh).
append="console=ttyS0 cgroup_no_v1=all quiet loglevel=3 panic=-1 stack_vm_init=$HERE/vm_init.sh"
append+=" stack_vm_checks=$checks_csv stack_vm_runtime=$runtime stack_vm_probe=$probe"
append+=" stack_vm_runc=$runc"

qemu_pid=""
cleanup() {
  # Only reached with qemu still running when this script is itself killed (ctest's timeout).
  if [[ -n $qemu_pid ]]; then kill "$qemu_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# -no-reboot: a guest panic (panic=-1 reboots at once) or reboot ends qemu instead of looping.
# readonly=on: the guest must not be able to write to this machine's files.
start_ns=$(date +%s%N)
timeout -k 5 "$TIMEOUT_S" "$QEMU" -accel tcg -m 1024 -smp "$SMP" -nographic -no-reboot -nic none \
  -kernel "$kernel" -initrd "$out_dir/initramfs.cpio" -append "$append" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  </dev/null >"$out_dir/console.raw" 2>&1 &
qemu_pid=$!
vm_rc=0
wait "$qemu_pid" || vm_rc=$?
qemu_pid=""
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
tr -d '\r' <"$out_dir/console.raw" >"$out_dir/console"
rm -f "$out_dir/console.raw"

echo "qemu boot + checks + halt: ${elapsed_ms} ms (exit $vm_rc)"
grep -a -E '^VM-(BEGIN|END)|\.rc=' "$out_dir/console" || true
failure=""
if ((vm_rc == 124 || vm_rc == 137)); then
  failure="the VM did not halt within ${TIMEOUT_S} s"
elif ! grep -aqx 'VM-EXIT rc=0' "$out_dir/console"; then
  failure="the VM's init did not finish: $(grep -a '^VM-EXIT' "$out_dir/console" || echo 'no VM-EXIT line')"
fi
if [[ -n $failure ]]; then
  echo "---- VM console ----"
  tail -n 100 "$out_dir/console"
  die "$failure"
fi
echo "console with every check's results: $out_dir/console"
