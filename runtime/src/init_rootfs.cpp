// The container init's filesystem steps: make the mount tree private, bind the rootfs onto
// itself, perform the spec's mounts, create /dev, pivot_root, then mask and write-protect paths.
//
// Every path inside the rootfs is opened with openat2(RESOLVE_IN_ROOT) relative to the rootfs,
// and mounts target the resulting fd through /proc/self/fd/N, so a symlink in a hostile rootfs
// cannot redirect a mount onto the host (CVE-2021-30465 class).
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "init_internal.h"

namespace stack::runtime {
namespace {

constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

std::string fd_path(const UniqueFd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

std::pair<std::string, std::string> split_parent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

// Flags the kernel locks on a mount seen from a less privileged user namespace; a remount of a
// bind mount must repeat them or fail with EPERM (mount(2), "Locked mounts").
unsigned long locked_flags(Syscalls& sys, const std::string& path) {
  auto st = sys.statvfs_flags(path);
  if (!st.ok()) return 0;
  unsigned long out = 0;
  if (*st & ST_NOSUID) out |= MS_NOSUID;
  if (*st & ST_NODEV) out |= MS_NODEV;
  if (*st & ST_NOEXEC) out |= MS_NOEXEC;
  if (*st & ST_NOATIME) out |= MS_NOATIME;
  if (*st & ST_NODIRATIME) out |= MS_NODIRATIME;
  if (*st & ST_RELATIME) out |= MS_RELATIME;
  return out;
}

}  // namespace

Result<UniqueFd> open_in_root(Syscalls& sys, int root_fd, const std::string& path, int flags) {
  return sys.openat2(root_fd, path, flags, 0, kInRoot);
}

Result<UniqueFd> ensure_dir_in_root(Syscalls& sys, int root_fd, const std::string& path) {
  auto fd = open_in_root(sys, root_fd, path, O_PATH | O_DIRECTORY);
  if (fd.ok() || fd.error().code != ENOENT) return fd;
  // Walk from the root, creating each missing component below the already resolved parent.
  STACK_TRY(UniqueFd current, open_in_root(sys, root_fd, "/", O_PATH | O_DIRECTORY));
  std::string prefix;
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string name = path.substr(i, j - i);
    i = j + 1;
    if (name.empty()) continue;
    prefix += "/" + name;
    auto next = open_in_root(sys, root_fd, prefix, O_PATH | O_DIRECTORY);
    if (!next.ok() && next.error().code == ENOENT) {
      auto made = sys.mkdirat(current.get(), name, 0755);
      if (!made.ok() && made.error().code != EEXIST) return std::move(made).error();
      next = open_in_root(sys, root_fd, prefix, O_PATH | O_DIRECTORY);
    }
    if (!next.ok()) return std::move(next).error();
    current = std::move(*next);
  }
  return current;
}

Result<UniqueFd> ensure_file_in_root(Syscalls& sys, int root_fd, const std::string& path) {
  auto existing = open_in_root(sys, root_fd, path, O_PATH);
  if (existing.ok() || existing.error().code != ENOENT) return existing;
  STACK_TRY_VOID(ensure_dir_in_root(sys, root_fd, split_parent(path).first));
  STACK_TRY(UniqueFd made, sys.openat2(root_fd, path, O_CREAT | O_WRONLY, 0644, kInRoot));
  return open_in_root(sys, root_fd, path, O_PATH);
}

// Makes the mount tree private (or what rootfsPropagation says) so nothing the container mounts
// propagates to the host (runc: prepareRoot), then binds the rootfs onto itself so that it is a
// mount point, which pivot_root(2) requires. root_fd is opened after the bind, on the new mount.
Status prepare_rootfs(const InitPlan& plan, Syscalls& sys, UniqueFd& root_fd) {
  STACK_TRY_VOID(with_context(sys.mount("", "/", "", plan.root_propagation, ""), "setting root propagation"));
  STACK_TRY_VOID(with_context(sys.mount(plan.rootfs, plan.rootfs, "", MS_BIND | MS_REC, ""),
                              "binding rootfs " + plan.rootfs));
  STACK_TRY(root_fd, sys.open(plan.rootfs, O_PATH | O_DIRECTORY, 0));
  return {};
}

Status mount_one(const MountStep& m, Syscalls& sys, int root_fd) {
  const std::string what = m.spec_path + " (" + (m.type.empty() ? "bind" : m.type) + " on " + m.destination + ")";
  if (!m.symlink_target.empty()) {
    auto [parent, name] = split_parent(m.destination);
    STACK_TRY(UniqueFd dir, with_context(ensure_dir_in_root(sys, root_fd, parent), what));
    auto made = sys.symlinkat(m.symlink_target, dir.get(), name);
    if (!made.ok() && made.error().code != EEXIST) return std::move(made).error().wrap(what);
    return {};
  }
  if (m.flags & MS_REMOUNT) {
    STACK_TRY(UniqueFd target, with_context(open_in_root(sys, root_fd, m.destination, O_PATH), what));
    return with_context(sys.mount("", fd_path(target), "", m.flags, m.data), what);
  }
  auto target_or = m.file_target ? ensure_file_in_root(sys, root_fd, m.destination)
                                 : ensure_dir_in_root(sys, root_fd, m.destination);
  STACK_TRY(UniqueFd target, with_context(std::move(target_or), what));
  if (m.flags & MS_BIND) {
    STACK_TRY_VOID(with_context(sys.mount(m.source, fd_path(target), "", m.flags & (MS_BIND | MS_REC), ""), what));
  } else {
    STACK_TRY_VOID(with_context(sys.mount(m.source, fd_path(target), m.type, m.flags, m.data), what));
  }
  // The fd still names the directory under the new mount; reopen to reach the mount itself.
  STACK_TRY(UniqueFd mounted, with_context(open_in_root(sys, root_fd, m.destination, O_PATH), what));
  const unsigned long extra = m.flags & ~(MS_BIND | MS_REC);
  if ((m.flags & MS_BIND) && extra != 0) {
    unsigned long flags = MS_BIND | MS_REMOUNT | extra | locked_flags(sys, fd_path(mounted));
    STACK_TRY_VOID(with_context(sys.mount("", fd_path(mounted), "", flags, ""), what + ": remount"));
  }
  for (unsigned long p : m.propagation)
    STACK_TRY_VOID(with_context(sys.mount("", fd_path(mounted), "", p, ""), what + ": propagation"));
  if (m.attr_set || m.attr_clr)
    STACK_TRY_VOID(with_context(sys.mount_setattr(mounted.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, m.attr_set, m.attr_clr),
                                what + ": recursive attributes"));
  return {};
}

Status mount_all(const InitPlan& plan, Syscalls& sys, int root_fd) {
  for (const auto& m : plan.mounts) STACK_TRY_VOID(mount_one(m, sys, root_fd));
  return {};
}

// /dev: the default and spec devices, then the standard links (runc: createDevices, setupDevSymlinks,
// setupPtmx). In a user namespace mknod(2) is denied, so host nodes are bind-mounted instead.
Status create_devices(const InitPlan& plan, Syscalls& sys, int root_fd) {
  if (!plan.dev_is_tmpfs) return {};
  for (const auto& d : plan.devices) {
    const std::string what = "creating device " + d.path;
    auto [parent, name] = split_parent(d.path);
    STACK_TRY(UniqueFd dir, with_context(ensure_dir_in_root(sys, root_fd, parent), what));
    if (plan.bind_devices) {
      STACK_TRY(UniqueFd target, with_context(ensure_file_in_root(sys, root_fd, d.path), what));
      STACK_TRY_VOID(with_context(sys.mount(d.path, fd_path(target), "", MS_BIND, ""), what));
      continue;
    }
    auto made = sys.mknodat(dir.get(), name, d.mode, d.dev);
    if (!made.ok() && made.error().code != EEXIST) return std::move(made).error().wrap(what);
    STACK_TRY_VOID(with_context(sys.fchownat(dir.get(), name, d.uid, d.gid), what));
  }
  static const std::pair<const char*, const char*> kLinks[] = {
      {"/proc/self/fd", "fd"},     {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
  };
  STACK_TRY(UniqueFd dev, with_context(ensure_dir_in_root(sys, root_fd, "/dev"), "opening /dev"));
  for (const auto& [target, name] : kLinks) {
    auto made = sys.symlinkat(target, dev.get(), name);
    if (!made.ok() && made.error().code != EEXIST)
      return std::move(made).error().wrap(std::string("linking /dev/") + name);
  }
  return {};
}

// pivot_root(".", ".") stacks the old root on top of the new one; it is then made a slave (so
// the detach does not propagate to the host) and detached (runc: pivotRoot). With --no-pivot the
// rootfs is moved over / and chrooted into, for ramfs roots where pivot_root is impossible.
Status enter_rootfs(const InitPlan& plan, Syscalls& sys, int root_fd) {
  STACK_TRY_VOID(with_context(sys.fchdir(root_fd), "entering rootfs"));
  if (plan.no_pivot) {
    STACK_TRY_VOID(with_context(sys.mount(".", "/", "", MS_MOVE, ""), "moving rootfs to /"));
    STACK_TRY_VOID(with_context(sys.chroot("."), "chroot"));
    return with_context(sys.chdir("/"), "chdir /");
  }
  STACK_TRY(UniqueFd old_root, with_context(sys.open("/", O_PATH | O_DIRECTORY, 0), "opening old root"));
  STACK_TRY_VOID(with_context(sys.pivot_root(".", "."), "pivot_root"));
  STACK_TRY_VOID(with_context(sys.fchdir(old_root.get()), "entering old root"));
  STACK_TRY_VOID(with_context(sys.mount("", ".", "", MS_SLAVE | MS_REC, ""), "making old root a slave"));
  STACK_TRY_VOID(with_context(sys.umount2(".", MNT_DETACH), "detaching old root"));
  return with_context(sys.chdir("/"), "chdir /");
}

// Masked paths hide kernel interfaces (/proc/kcore, …): directories get an empty read-only tmpfs,
// files /dev/null. Read-only paths are bound onto themselves and remounted read-only. Paths that
// do not exist are skipped, as runc does.
Status protect_paths(const InitPlan& plan, Syscalls& sys) {
  for (const auto& path : plan.masked_paths) {
    auto dir = sys.openat2(AT_FDCWD, path, O_PATH | O_DIRECTORY, 0, 0);
    if (!dir.ok() && dir.error().code == ENOENT) continue;
    Status done = dir.ok() ? sys.mount("tmpfs", path, "tmpfs", MS_RDONLY, "")
                           : sys.mount("/dev/null", path, "", MS_BIND, "");
    if (!done.ok() && done.error().code != ENOENT) return std::move(done).error().wrap("masking " + path);
  }
  for (const auto& path : plan.readonly_paths) {
    auto bound = sys.mount(path, path, "", MS_BIND | MS_REC, "");
    if (!bound.ok() && bound.error().code == ENOENT) continue;
    STACK_TRY_VOID(with_context(std::move(bound), "making " + path + " read-only"));
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(sys, path);
    STACK_TRY_VOID(with_context(sys.mount("", path, "", flags, ""), "making " + path + " read-only"));
  }
  if (plan.readonly_rootfs) {
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(sys, "/");
    STACK_TRY_VOID(with_context(sys.mount("", "/", "", flags, ""), "making rootfs read-only"));
  }
  return {};
}

}  // namespace stack::runtime
