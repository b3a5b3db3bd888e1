#!/bin/busybox sh
# /init of the vm tests' initramfs (make_initramfs.py), run by busybox sh in the qemu guest.
# Loads the 9p/virtio modules, mounts the host's / (shared read-only by qemu as "hostroot"),
# then switch_root's into it and execs vm_init.sh there, so that the checks run the host's
# freshly built binaries. Any failure powers the guest off with a "VM-EXIT" line saying why.
#
# The kernel hands unknown command-line parameters to init as environment variables, and
# switch_root keeps the environment: stack_vm_init names the script to exec; the others are
# vm_init.sh's (see there).
set -eu
export PATH=/bin

fail() {
  echo "VM-EXIT rc=99 initramfs: $*"
  poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

while read -r module; do
  insmod "/modules/$module" || fail "insmod $module failed"
done </modules/order

# msize: 9p's default of 8 KiB makes every binary load a few thousand round trips under TCG.
# cache=loose: the share is read-only and does not change while the guest runs.
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /newroot ||
  fail "mounting the 9p share 'hostroot' failed"
# devtmpfs, not the host's /dev seen through 9p: the device nodes must be the guest's.
mount -t devtmpfs devtmpfs /newroot/dev || fail "mounting devtmpfs on /newroot/dev failed"
umount /proc /sys /dev

[ -n "${stack_vm_init:-}" ] || fail "stack_vm_init= missing from the kernel command line"
exec switch_root /newroot "$stack_vm_init"
