// Writes one tar entry below the layer root: limits, path cleaning, whiteout conversion, then
// the entry itself and its metadata, every call relative to a directory fd opened in the root.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "image/layer_internal.h"
#include "stack/common/log.h"

namespace stack::engine::image::layer_detail {
namespace {

constexpr const char kWhiteoutPrefix[] = ".wh.";
constexpr const char kWhiteoutMetaPrefix[] = ".wh..wh.";
constexpr const char kOpaqueMarker[] = ".wh..wh..opq";
constexpr const char kOverlayXattrPrefix[] = "trusted.overlay.";

bool starts_with(const std::string& s, const char* prefix) {
  return s.compare(0, std::strlen(prefix), prefix) == 0;
}

void entry_times(struct archive_entry* entry, struct timespec times[2]) {
  times[1].tv_sec = archive_entry_mtime(entry);
  times[1].tv_nsec = archive_entry_mtime_nsec(entry);
  if (archive_entry_atime_is_set(entry)) {
    times[0].tv_sec = archive_entry_atime(entry);
    times[0].tv_nsec = archive_entry_atime_nsec(entry);
  } else {
    times[0] = times[1];
  }
}

// Sets the entry's xattrs through `set` (fsetxattr or lsetxattr). Like Docker, EPERM and ENOTSUP
// are logged and skipped (file systems and non-root callers differ). trusted.overlay.* is never
// taken from a layer: it would let an image forge whiteouts, redirects or metacopy in overlayfs.
template <class SetFn>
Status apply_xattrs(struct archive_entry* entry, SetFn set) {
  archive_entry_xattr_reset(entry);
  const char* key = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(entry, &key, &value, &size) == ARCHIVE_OK) {
    if (starts_with(key, kOverlayXattrPrefix)) continue;
    if (set(key, value, size) == 0) continue;
    if (errno == EPERM || errno == ENOTSUP) {
      log::warn(std::string("layer: skipping xattr ") + key + ": " + std::strerror(errno));
      continue;
    }
    return errno_error(std::string("set xattr ") + key);
  }
  return {};
}

// Ownership before mode: chown(2) clears setuid/setgid, so the mode must come after it.
Status apply_fd_metadata(int fd, struct archive_entry* entry) {
  if (::fchown(fd, archive_entry_uid(entry), archive_entry_gid(entry)) != 0)
    return errno_error("chown");
  if (::fchmod(fd, archive_entry_perm(entry) & 07777) != 0) return errno_error("chmod");
  return apply_xattrs(entry, [fd](const char* k, const void* v, size_t n) {
    return ::fsetxattr(fd, k, v, n, 0);
  });
}

// For entries that cannot be opened for writing (symlinks, devices, fifos): by name in their
// parent, never following the name itself.
Status apply_name_metadata(int parent_fd, const std::string& name, struct archive_entry* entry,
                           bool is_symlink) {
  if (::fchownat(parent_fd, name.c_str(), archive_entry_uid(entry), archive_entry_gid(entry),
                 AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error("chown");
  // The node was just created by this process as a non-symlink in a directory only we write.
  if (!is_symlink && ::fchmodat(parent_fd, name.c_str(), archive_entry_perm(entry) & 07777, 0) != 0)
    return errno_error("chmod");
  std::string proc_path = "/proc/self/fd/" + std::to_string(parent_fd) + "/" + name;
  STACK_TRY_VOID(apply_xattrs(entry, [&](const char* k, const void* v, size_t n) {
    return ::lsetxattr(proc_path.c_str(), k, v, n, 0);
  }));
  struct timespec times[2];
  entry_times(entry, times);
  if (::utimensat(parent_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error("set times");
  return {};
}

}  // namespace

Status EntryWriter::check_limits(struct archive_entry* entry, const std::string& path) {
  if (path.size() > limits_.max_path_bytes)
    return Error(ENAMETOOLONG, "path longer than " + std::to_string(limits_.max_path_bytes) +
                                   " bytes");
  if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry)) return {};
  const int64_t declared = archive_entry_size(entry);
  const uint64_t size = declared < 0 ? 0 : static_cast<uint64_t>(declared);
  if (size > limits_.max_entry_bytes)
    return Error(EFBIG, "size " + std::to_string(size) + " exceeds the per-entry limit of " +
                            std::to_string(limits_.max_entry_bytes) + " bytes");
  if (bytes_ + size > limits_.max_total_bytes)
    return Error(EFBIG, "layer exceeds the total size limit of " +
                            std::to_string(limits_.max_total_bytes) + " bytes");
  bytes_ += size;
  return {};
}

Status EntryWriter::write(struct archive* ar, struct archive_entry* entry) {
  if (++entries_ > limits_.max_entries)
    return Error(EFBIG, "more than " + std::to_string(limits_.max_entries) + " entries");
  const char* raw_c = archive_entry_pathname(entry);
  const std::string raw = raw_c ? raw_c : "";
  auto in_entry = [&raw](Error e) { return std::move(e).wrap("entry \"" + raw + "\""); };

  auto components = clean_path(raw);
  if (!components.ok()) return in_entry(std::move(components).error());
  const std::string path = join_path(*components, components->size());
  if (auto st = check_limits(entry, path); !st.ok()) return in_entry(std::move(st).error());
  const bool hardlink = archive_entry_hardlink(entry) != nullptr;
  const auto type = archive_entry_filetype(entry);

  if (components->empty()) {  // "./": metadata of the layer root itself
    if (type != AE_IFDIR || hardlink) return in_entry(Error(EINVAL, "layer root is not a directory"));
    root_seen_ = true;
    if (auto st = apply_fd_metadata(root_fd_, entry); !st.ok()) return in_entry(std::move(st).error());
    DirTime dt{"", {}};
    entry_times(entry, dt.times);
    dir_times_.push_back(std::move(dt));
    return {};
  }
  const std::string base = components->back();
  auto parent = open_parent(root_fd_, *components);
  if (!parent.ok()) return in_entry(std::move(parent).error());
  const int parent_fd = parent->get();

  Status st;
  if (base == kOpaqueMarker) {
    // overlayfs hides the lower layers' content of a directory marked opaque.
    if (::fsetxattr(parent_fd, "trusted.overlay.opaque", "y", 1, 0) != 0)
      st = errno_error("set trusted.overlay.opaque");
  } else if (starts_with(base, kWhiteoutMetaPrefix)) {
    // Other AUFS meta files (.wh..wh.plnk, .wh..wh.aufs) carry nothing for overlayfs.
  } else if (starts_with(base, kWhiteoutPrefix)) {
    st = write_whiteout(parent_fd, base.substr(std::strlen(kWhiteoutPrefix)));
  } else {
    struct stat existing;
    if (::fstatat(parent_fd, base.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
        !(S_ISDIR(existing.st_mode) && type == AE_IFDIR && !hardlink)) {
      // A later entry replaces an earlier one; only directories merge (as in Docker).
      st = remove_at(parent_fd, base);
    }
    if (st.ok()) {
      if (hardlink) st = write_hardlink(entry, parent_fd, base);
      else if (type == AE_IFREG) st = write_file(ar, entry, parent_fd, base);
      else if (type == AE_IFDIR) st = write_dir(entry, parent_fd, base, path);
      else st = write_other(entry, parent_fd, base);
    }
  }
  if (!st.ok()) return in_entry(std::move(st).error());
  return {};
}

Status EntryWriter::write_whiteout(int parent_fd, const std::string& name) {
  if (name.empty() || name == "." || name == "..") return Error(EINVAL, "invalid whiteout name");
  // OCI image spec (layer.md, Whiteouts): a whiteout applies only to lower layers, so content of
  // the same name in this layer wins and the whiteout is dropped.
  struct stat existing;
  if (::fstatat(parent_fd, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) return {};
  // overlayfs' whiteout: a character device 0:0 (Documentation/filesystems/overlayfs.rst).
  if (::mknodat(parent_fd, name.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
    return errno_error("create whiteout \"" + name + "\"");
  return {};
}

Status EntryWriter::write_file(struct archive* ar, struct archive_entry* entry, int parent_fd,
                               const std::string& name) {
  UniqueFd fd(::openat(parent_fd, name.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return errno_error("create");
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  la_int64_t end = 0;  // where the last data block ended
  for (;;) {
    int r = archive_read_data_block(ar, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Error(EPROTO, archive_error_string(ar));
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t n = ::pwrite(fd.get(), p, size, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("write");
      p += n;
      size -= static_cast<size_t>(n);
      offset += n;
    }
    end = offset;
  }
  // Sparse entries may end in a hole that no data block covers.
  if (end != archive_entry_size(entry) && ::ftruncate(fd.get(), archive_entry_size(entry)) != 0)
    return errno_error("truncate");
  STACK_TRY_VOID(apply_fd_metadata(fd.get(), entry));
  struct timespec times[2];
  entry_times(entry, times);
  if (::futimens(fd.get(), times) != 0) return errno_error("set times");
  return {};
}

Status EntryWriter::write_dir(struct archive_entry* entry, int parent_fd, const std::string& name,
                              const std::string& path) {
  if (::mkdirat(parent_fd, name.c_str(), 0700) != 0 && errno != EEXIST)
    return errno_error("mkdir");
  UniqueFd fd(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno_error("open");
  STACK_TRY_VOID(apply_fd_metadata(fd.get(), entry));
  DirTime dt{path, {}};
  entry_times(entry, dt.times);
  dir_times_.push_back(std::move(dt));
  return {};
}

Status EntryWriter::write_hardlink(struct archive_entry* entry, int parent_fd,
                                   const std::string& name) {
  const std::string target = archive_entry_hardlink(entry);
  auto components = clean_path(target);
  if (!components.ok() || components->empty())
    return Error(EPERM, "hardlink target \"" + target + "\" escapes the layer");
  // The target's directory is resolved inside the root, and linkat(2) without AT_SYMLINK_FOLLOW
  // links the final name itself, so the new link can only share an inode already in the layer.
  auto dir = open_in_root(root_fd_, join_path(*components, components->size() - 1),
                          O_RDONLY | O_DIRECTORY);
  if (!dir.ok()) return std::move(dir).error().wrap("hardlink target \"" + target + "\"");
  if (::linkat(dir->get(), components->back().c_str(), parent_fd, name.c_str(), 0) != 0)
    return errno_error("hardlink to \"" + target + "\"");
  return {};
}

Status EntryWriter::write_other(struct archive_entry* entry, int parent_fd,
                                const std::string& name) {
  const auto type = archive_entry_filetype(entry);
  if (type == AE_IFLNK) {
    // Symlinks are stored, never followed here: their target may point anywhere.
    const char* target = archive_entry_symlink(entry);
    if (!target || !*target) return Error(EINVAL, "symlink without a target");
    if (::symlinkat(target, parent_fd, name.c_str()) != 0) return errno_error("symlink");
    return apply_name_metadata(parent_fd, name, entry, true);
  }
  if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO) {
    const dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(entry);
    if (::mknodat(parent_fd, name.c_str(), type | (archive_entry_perm(entry) & 07777), dev) != 0)
      return errno_error("mknod");
    return apply_name_metadata(parent_fd, name, entry, false);
  }
  return Error(EINVAL, "unsupported entry type " + std::to_string(type));
}

Status EntryWriter::finish() {
  // Children were created after their directory's entry; set directory times last, deepest
  // (latest) first, as Docker's pkg/archive does after the whole stream.
  for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
    auto fd = open_in_root(root_fd_, it->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!fd.ok()) continue;  // replaced later by a non-directory: nothing to stamp
    if (::futimens(fd->get(), it->times) != 0)
      return errno_error("set times").wrap("entry \"" + it->path + "\"");
  }
  return {};
}

}  // namespace stack::engine::image::layer_detail
