#!/usr/bin/env python3
"""Writes the initramfs that boots the vm tests' qemu guest (newc cpio, uncompressed).

    make_initramfs.py --kernel-version V --init FILE --busybox FILE --out FILE MODULE...

Contents: /init (the given script), /bin/busybox with the applets the init uses, and the
kernel modules named on the command line plus everything they depend on, in load order, under
/modules with their load order in /modules/order. The modules come from /lib/modules/V: Debian
builds 9p and virtio as modules, and the guest cannot read them before it has mounted the share.

Written in Python rather than with cpio(1) so that the tests need no extra tool; the format is
the "newc" one from the kernel's Documentation/driver-api/early-userspace/buffer-format.rst.
"""
import argparse
import lzma
import os
import stat
import sys

APPLETS = ["sh", "mount", "umount", "mkdir", "insmod", "switch_root", "cat", "echo", "poweroff"]


def module_order(modules_dir, wanted):
    """The .ko paths (relative to modules_dir) to load for `wanted`, dependencies first."""
    deps = {}
    with open(os.path.join(modules_dir, "modules.dep")) as f:
        for line in f:
            path, _, rest = line.partition(":")
            deps[path] = rest.split()
    by_name = {}
    for path in deps:
        name = os.path.basename(path).split(".ko")[0]
        by_name[name.replace("-", "_")] = path
    builtin = set()
    builtin_file = os.path.join(modules_dir, "modules.builtin")
    if os.path.exists(builtin_file):
        with open(builtin_file) as f:
            builtin = {os.path.basename(l.strip()).split(".ko")[0] for l in f}
    order, seen = [], set()

    def visit(path):
        if path in seen:
            return
        seen.add(path)
        # modules.dep lists every (transitive) dependency; visiting them first keeps the order
        # right even when the list is not sorted.
        for dep in deps[path]:
            visit(dep)
        order.append(path)

    for name in wanted:
        key = name.replace("-", "_")
        if key in by_name:
            visit(by_name[key])
        elif key not in builtin:
            sys.exit(f"make_initramfs: module {name} is neither in modules.dep nor built in "
                     f"({modules_dir})")
    return order


def read_module(path):
    data = open(path, "rb").read()
    # Debian 12 ships plain .ko files; later kernels' packages compress them, and busybox's
    # insmod cannot always decompress, so the archive holds them decompressed.
    if path.endswith(".xz"):
        data = lzma.decompress(data)
    elif path.endswith(".zst") or path.endswith(".gz"):
        sys.exit(f"make_initramfs: cannot decompress {path}")
    return data


class Newc:
    def __init__(self, out):
        self.out = out
        self.ino = 1

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_bytes = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name_bytes), 0]
        self.ino += 1
        self.out.write(b"070701" + b"".join(b"%08X" % v for v in fields))
        self.out.write(name_bytes)
        self._pad()
        self.out.write(data)
        self._pad()

    def _pad(self):
        self.out.write(b"\0" * (-self.out.tell() % 4))

    def directory(self, name):
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o644):
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, name, major, minor):
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def close(self):
        self._entry("TRAILER!!!", 0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kernel-version", required=True)
    p.add_argument("--init", required=True)
    p.add_argument("--busybox", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("modules", nargs="+")
    args = p.parse_args()

    modules_dir = f"/lib/modules/{args.kernel_version}"
    order = module_order(modules_dir, args.modules)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        a = Newc(f)
        for d in ["bin", "dev", "proc", "sys", "newroot", "modules"]:
            a.directory(d)
        # The kernel opens /dev/console for init before anything could mount devtmpfs.
        a.char_device("dev/console", 5, 1)
        a.file("init", open(args.init, "rb").read(), 0o755)
        a.file("bin/busybox", open(args.busybox, "rb").read(), 0o755)
        for applet in APPLETS:
            a.symlink(f"bin/{applet}", "busybox")
        names = []
        for rel in order:
            name = os.path.basename(rel).split(".ko")[0] + ".ko"
            a.file(f"modules/{name}", read_module(os.path.join(modules_dir, rel)))
            names.append(name)
        a.file("modules/order", ("\n".join(names) + "\n").encode())
        a.close()
    os.replace(tmp, args.out)
    print(" ".join(names))


if __name__ == "__main__":
    main()
