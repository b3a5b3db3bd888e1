// fd-relative tree walks: copy-up into a new volume, removal, size. Every open is below an
// already open directory with O_NOFOLLOW, so no symlink inside either tree is ever followed.
#include "stack/volumes/tree.h"
#include "tree_internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "stack/common/unique_fd.h"

namespace stack::volumes {

namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

Result<UniqueFd> open_dir_at(int dirfd, const std::string& name, const std::string& shown) {
  int fd = ::openat(dirfd, name.c_str(), kDirFlags);
  if (fd < 0) return errno_error("open " + shown);
  return UniqueFd(fd);
}


// statx's STATX_ATTR_MOUNT_ROOT sees bind mounts of the same file system, which st_dev misses.
Result<bool> is_mount_root(int fd, const std::string& shown) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
    return errno_error("stat " + shown);
  if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) return false;
  return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

std::string join(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

// ---- copy-up ----

struct Copier {
  int dst_root;
  std::map<std::pair<dev_t, ino_t>, std::string> links;  // first copy of a multi-link file

  Status copy_dir(int src, int dst, const std::string& rel);
  Status copy_entry(int src, int dst, const std::string& name, const std::string& rel);
};

// Copies every xattr of src_fd to dst_fd. ENOTSUP/EOPNOTSUPP on either side skips them all:
// the destination file system may lack user xattrs (tmpfs before 6.6).
Status copy_xattrs(int src_fd, int dst_fd, const std::string& rel) {
  ssize_t n = ::flistxattr(src_fd, nullptr, 0);
  if (n < 0) return errno == ENOTSUP ? Status() : errno_error("list xattrs of " + rel);
  if (n == 0) return {};
  std::string names(static_cast<size_t>(n), '\0');
  n = ::flistxattr(src_fd, names.data(), names.size());
  if (n < 0) return errno_error("list xattrs of " + rel);
  names.resize(static_cast<size_t>(n));
  for (size_t at = 0; at < names.size();) {
    std::string key = names.c_str() + at;
    at += key.size() + 1;
    ssize_t len = ::fgetxattr(src_fd, key.c_str(), nullptr, 0);
    if (len < 0) return errno_error("read xattr " + key + " of " + rel);
    std::string value(static_cast<size_t>(len), '\0');
    len = ::fgetxattr(src_fd, key.c_str(), value.data(), value.size());
    if (len < 0) return errno_error("read xattr " + key + " of " + rel);
    value.resize(static_cast<size_t>(len));
    if (::fsetxattr(dst_fd, key.c_str(), value.data(), value.size(), 0) < 0) {
      if (errno == ENOTSUP) return {};
      return errno_error("write xattr " + key + " of " + rel);
    }
  }
  return {};
}

// Owner first: chown clears the set-id bits and the security.capability xattr, so the mode and
// the xattrs come after it.
Status copy_meta_fd(int src_fd, int fd, const struct stat& st, const std::string& rel) {
  if (::fchown(fd, st.st_uid, st.st_gid) < 0) return errno_error("chown " + rel);
  STACK_TRY_VOID(copy_xattrs(src_fd, fd, rel));
  if (::fchmod(fd, st.st_mode & 07777) < 0) return errno_error("chmod " + rel);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(fd, times) < 0) return errno_error("set times of " + rel);
  return {};
}

Status copy_file(int src, int dst, const std::string& name, const struct stat& st,
                 const std::string& rel) {
  UniqueFd in(::openat(src, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!in) return errno_error("open " + rel);
  UniqueFd out(::openat(dst, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0600));
  if (!out) return errno_error("create " + rel);
  bool plain = false;  // copy_file_range refused (EXDEV on old kernels, EINVAL on some fs)
  while (true) {
    ssize_t n = plain ? -1 : ::copy_file_range(in.get(), nullptr, out.get(), nullptr, 1 << 30, 0);
    if (!plain && n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                            errno == EOPNOTSUPP)) {
      plain = true;
    }
    if (plain) {
      char buf[1 << 16];
      n = ::read(in.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("read " + rel);
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(out.get(), buf + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno_error("write " + rel);
        off += w;
      }
    } else if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("copy " + rel);
    }
    if (n == 0) break;
  }
  return copy_meta_fd(in.get(), out.get(), st, rel);
}

// Symlinks, device nodes, fifos and sockets: no fd to hold, so metadata goes by name with
// AT_SYMLINK_NOFOLLOW. Linux has no lchmod; symlink modes are always 0777.
Status copy_special(int src, int dst, const std::string& name, const struct stat& st,
                    const std::string& rel) {
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlinkat(src, name.c_str(), target.data(), target.size());
    if (n < 0) return errno_error("readlink " + rel);
    target.resize(static_cast<size_t>(n));
    if (::symlinkat(target.c_str(), dst, name.c_str()) < 0) return errno_error("symlink " + rel);
  } else {
    if (::mknodat(dst, name.c_str(), st.st_mode & S_IFMT, st.st_rdev) < 0)
      return errno_error("mknod " + rel);
  }
  if (::fchownat(dst, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    return errno_error("chown " + rel);
  if (!S_ISLNK(st.st_mode) && ::fchmodat(dst, name.c_str(), st.st_mode & 07777, 0) < 0)
    return errno_error("chmod " + rel);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dst, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
    return errno_error("set times of " + rel);
  return {};
}

Status Copier::copy_entry(int src, int dst, const std::string& name, const std::string& rel) {
  struct stat st {};
  if (::fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return errno_error("stat " + rel);
  if (S_ISDIR(st.st_mode)) {
    if (::mkdirat(dst, name.c_str(), 0700) < 0) return errno_error("mkdir " + rel);
    STACK_TRY(UniqueFd s, open_dir_at(src, name, rel));
    STACK_TRY(UniqueFd d, open_dir_at(dst, name, rel));
    STACK_TRY_VOID(copy_dir(s.get(), d.get(), rel));
    return copy_meta_fd(s.get(), d.get(), st, rel);  // after the children: the times stick
  }
  if (st.st_nlink > 1) {
    auto key = std::make_pair(st.st_dev, st.st_ino);
    if (auto it = links.find(key); it != links.end()) {
      // The first copy's path below dst_root: only directories this walk made lie on it.
      if (::linkat(dst_root, it->second.c_str(), dst, name.c_str(), 0) < 0)
        return errno_error("link " + rel + " to " + it->second);
      return {};
    }
    links.emplace(key, rel);
  }
  if (S_ISREG(st.st_mode)) return copy_file(src, dst, name, st, rel);
  return copy_special(src, dst, name, st, rel);
}

Status Copier::copy_dir(int src, int dst, const std::string& rel) {
  STACK_TRY(auto names, dir_entries(src, rel.empty() ? "." : rel));
  for (auto& n : names) STACK_TRY_VOID(copy_entry(src, dst, n, join(rel, n)));
  return {};
}

// ---- removal and size ----

Status remove_children(int dirfd, const std::string& shown) {
  STACK_TRY(auto names, dir_entries(dirfd, shown));
  for (auto& n : names) {
    std::string rel = shown + "/" + n;
    struct stat st {};
    if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue;
      return errno_error("stat " + rel);
    }
    if (S_ISDIR(st.st_mode)) {
      STACK_TRY_VOID(remove_tree_at(dirfd, n));
    } else if (::unlinkat(dirfd, n.c_str(), 0) < 0 && errno != ENOENT) {
      return errno_error("remove " + rel);
    }
  }
  return {};
}

Status add_sizes(int dirfd, const std::string& shown, std::set<std::pair<dev_t, ino_t>>& seen,
                 std::uint64_t& total) {
  STACK_TRY(auto names, dir_entries(dirfd, shown));
  for (auto& n : names) {
    struct stat st {};
    if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) continue;  // raced away
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(dirfd, n.c_str(), kDirFlags));
      if (!sub) continue;
      auto mounted = is_mount_root(sub.get(), n);
      if (!mounted.ok() || *mounted) continue;
      STACK_TRY_VOID(add_sizes(sub.get(), shown + "/" + n, seen, total));
      continue;
    }
    if (st.st_nlink > 1 && !seen.insert({st.st_dev, st.st_ino}).second) continue;
    total += static_cast<std::uint64_t>(st.st_size);
  }
  return {};
}

}  // namespace

// The names in an open directory (without . and ..), read through a duplicate so that the
// caller's fd keeps its offset and stays open.
Result<std::vector<std::string>> dir_entries(int dirfd, const std::string& shown) {
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return errno_error("dup " + shown);
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return errno_error("read " + shown);
  }
  ::rewinddir(d);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  int err = errno;
  ::closedir(d);
  if (err) return errno_error("read " + shown, err);
  return names;
}

Status copy_up(int src_dirfd, int dst_dirfd) {
  STACK_TRY(auto existing, dir_entries(dst_dirfd, "destination"));
  if (!existing.empty()) return {};
  struct stat st {};
  if (::fstat(src_dirfd, &st) < 0) return errno_error("stat source");
  Copier c{dst_dirfd, {}};
  STACK_TRY_VOID(c.copy_dir(src_dirfd, dst_dirfd, ""));
  // The volume root takes the mount path's owner and mode (Docker's copyOwnership).
  if (::fchown(dst_dirfd, st.st_uid, st.st_gid) < 0) return errno_error("chown destination");
  if (::fchmod(dst_dirfd, st.st_mode & 07777) < 0) return errno_error("chmod destination");
  return {};
}

Status remove_tree_at(int dirfd, const std::string& name) {
  UniqueFd fd(::openat(dirfd, name.c_str(), kDirFlags));
  if (!fd) {
    if (errno == ENOENT) return {};
    // Not a directory (or a symlink, refused by O_NOFOLLOW): unlink the entry itself.
    if (errno == ENOTDIR || errno == ELOOP) {
      if (::unlinkat(dirfd, name.c_str(), 0) < 0 && errno != ENOENT)
        return errno_error("remove " + name);
      return {};
    }
    return errno_error("open " + name);
  }
  STACK_TRY(bool mounted, is_mount_root(fd.get(), name));
  if (mounted) return Error(EBUSY, "remove " + name + ": is a mount point");
  STACK_TRY_VOID(remove_children(fd.get(), name));
  fd.reset();
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
    return errno_error("remove " + name);
  return {};
}

Result<std::uint64_t> tree_size_at(int dirfd, const std::string& name) {
  STACK_TRY(UniqueFd fd, open_dir_at(dirfd, name, name));
  std::set<std::pair<dev_t, ino_t>> seen;
  std::uint64_t total = 0;
  STACK_TRY_VOID(add_sizes(fd.get(), name, seen, total));
  return total;
}

}  // namespace stack::volumes
