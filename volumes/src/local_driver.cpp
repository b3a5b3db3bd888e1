// Docker's local volume driver over a directory (layout in local.h).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <ctime>

#include "stack/common/atomic_file.h"
#include "stack/common/log.h"
#include "stack/common/path.h"
#include "stack/volumes/local.h"
#include "stack/volumes/tree.h"
#include "tree_internal.h"

namespace stack::volumes {

namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr const char* kTempPrefix = ".tmp-";
constexpr const char* kRemovingPrefix = ".rm-";

Error no_such_volume(const std::string& name) {
  return Error(ENOENT, "no such volume").wrap("get " + name);
}

// A consumer id becomes a file name under consumers/: one plain component.
Status validate_consumer(const std::string& id) {
  if (id.empty() || id.size() > NAME_MAX || id[0] == '.' || id.find('/') != std::string::npos ||
      id.find('\0') != std::string::npos)
    return Error(EINVAL, "invalid consumer id \"" + id + "\"");
  return {};
}

Result<std::vector<std::string>> list_dir(int dirfd, const std::string& shown) {
  STACK_TRY(auto names, dir_entries(dirfd, shown));
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> read_at(int dirfd, const char* name, const std::string& shown) {
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno_error("open " + shown);
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + shown);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string random_suffix() { return anonymous_volume_name().substr(0, 16); }

Status fsync_dir(int fd, const std::string& shown) {
  if (::fsync(fd) < 0) return errno_error("fsync " + shown);
  return {};
}

}  // namespace

// An flock on <dir>/.lock, released when destroyed.
class LocalDriver::Lock {
 public:
  explicit Lock(UniqueFd fd) : fd_(std::move(fd)) {}

 private:
  UniqueFd fd_;  // closing it drops the flock
};

Result<LocalDriver> LocalDriver::open(const std::string& path, Syscalls& sys) {
  if (path.empty()) return Error(EINVAL, "volumes directory: empty path");
  const std::string dir = clean_path(path);
  // Parents as 0711, the volumes dir itself as Docker's 0701: other users may traverse to a
  // volume's _data (a container user's bind), not list the volume names.
  std::string partial;
  size_t at = 0;
  while (at != std::string::npos) {
    at = dir.find('/', at + 1);
    partial = dir.substr(0, at);
    if (partial.empty()) continue;
    bool last = at == std::string::npos;
    if (::mkdir(partial.c_str(), last ? 0701 : 0711) < 0 && errno != EEXIST)
      return errno_error("create volumes directory " + partial);
  }
  char* real = ::realpath(dir.c_str(), nullptr);
  if (!real) return errno_error("resolve volumes directory " + dir);
  std::string resolved = real;
  std::free(real);
  UniqueFd fd(::open(resolved.c_str(), kDirFlags));
  if (!fd) return errno_error("open volumes directory " + resolved);
  return LocalDriver(resolved, std::move(fd), sys);
}

Result<LocalDriver::Lock> LocalDriver::lock(bool exclusive) {
  UniqueFd fd(::openat(dirfd_.get(), ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return errno_error("open " + dir_ + "/.lock");
  while (::flock(fd.get(), exclusive ? LOCK_EX : LOCK_SH) < 0) {
    if (errno != EINTR) return errno_error("lock " + dir_ + "/.lock");
  }
  return Lock(std::move(fd));
}

// Called with the exclusive lock held: no other process is building or deleting under a
// temporary name, so every one left is a crash's leftover.
void LocalDriver::clean_leftovers() {
  auto names = list_dir(dirfd_.get(), dir_);
  if (!names.ok()) return log::warn(names.error().to_string());
  for (auto& n : *names) {
    if (n.rfind(kTempPrefix, 0) != 0 && n.rfind(kRemovingPrefix, 0) != 0) continue;
    if (auto s = remove_tree_at(dirfd_.get(), n); !s)
      log::warn("volumes: cleaning " + dir_ + "/" + n + ": " + s.error().to_string());
  }
}

Result<std::optional<VolumeInfo>> LocalDriver::read_volume(const std::string& name) {
  if (!valid_volume_name(name)) return std::optional<VolumeInfo>();
  UniqueFd vfd(::openat(dirfd_.get(), name.c_str(), kDirFlags));
  if (!vfd) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return std::optional<VolumeInfo>();
    return errno_error("open volume " + name);
  }
  VolumeInfo info;
  info.name = name;
  info.mountpoint = data_path(name);
  std::string where = dir_ + "/" + name + "/volume.json";
  auto text = read_at(vfd.get(), "volume.json", where);
  if (text.ok()) {
    STACK_TRY(VolumeMetadata m, metadata_from_json(*text, where));
    info.driver = m.driver.empty() ? kLocalDriverName : m.driver;
    info.created_at = m.created_at;
    info.labels = std::move(m.labels);
    info.options = std::move(m.options);
  } else if (text.error().code != ENOENT) {
    return std::move(text).error();
  }
  if (info.created_at.empty()) {
    // A volume directory made by hand: Docker's CreatedAt is the directory's ctime.
    struct stat st {};
    if (::fstat(vfd.get(), &st) == 0) info.created_at = rfc3339_utc(st.st_ctim.tv_sec);
  }
  return std::optional<VolumeInfo>(std::move(info));
}

Result<VolumeInfo> LocalDriver::create(const VolumeSpec& spec) {
  auto fail = [&](Error e) { return std::move(e).wrap("create " + spec.name); };
  if (auto s = validate_volume_name(spec.name); !s) return fail(s.error());
  if (!spec.driver.empty() && spec.driver != kLocalDriverName)
    return fail(Error(ENOENT, "error looking up volume plugin " + spec.driver + ": plugin \"" +
                                  spec.driver + "\" not found"));
  if (auto s = validate_local_options(spec.driver_opts); !s) return fail(s.error());
  STACK_TRY(Lock held, lock(true));
  clean_leftovers();
  STACK_TRY(auto existing, read_volume(spec.name));
  if (existing) {
    if (existing->driver != kLocalDriverName)
      return fail(Error(EEXIST, "volume name must be unique"));
    return *existing;
  }
  // Built under a temporary name and renamed into place: a crash leaves a .tmp- directory
  // (never listed, cleaned later), never a volume without its volume.json.
  std::string tmp = kTempPrefix + random_suffix();
  if (::mkdirat(dirfd_.get(), tmp.c_str(), 0755) < 0) return fail(errno_error("mkdir " + tmp));
  auto build = [&]() -> Status {
    UniqueFd tfd(::openat(dirfd_.get(), tmp.c_str(), kDirFlags));
    if (!tfd) return errno_error("open " + tmp);
    // Explicit modes: the process umask must not decide who may enter _data.
    if (::fchmod(tfd.get(), 0755) < 0) return errno_error("chmod " + tmp);
    if (::mkdirat(tfd.get(), "_data", 0755) < 0) return errno_error("mkdir _data");
    if (::fchmodat(tfd.get(), "_data", 0755, 0) < 0) return errno_error("chmod _data");
    if (::mkdirat(tfd.get(), "consumers", 0700) < 0) return errno_error("mkdir consumers");
    VolumeMetadata m;
    m.created_at = rfc3339_utc(std::time(nullptr));
    m.labels = spec.labels;
    m.options = spec.driver_opts;
    STACK_TRY_VOID(write_file_atomic(dir_ + "/" + tmp + "/volume.json", metadata_to_json(m), 0600));
    if (::renameat2(dirfd_.get(), tmp.c_str(), dirfd_.get(), spec.name.c_str(),
                    RENAME_NOREPLACE) < 0)
      return errno_error("rename " + tmp + " to " + spec.name);
    return fsync_dir(dirfd_.get(), dir_);
  };
  if (auto s = build(); !s) {
    (void)remove_tree_at(dirfd_.get(), tmp);
    return fail(s.error());
  }
  STACK_TRY(auto made, read_volume(spec.name));
  if (!made) return fail(Error(EIO, "volume vanished after creation"));
  return *made;
}

Result<std::optional<VolumeInfo>> LocalDriver::get(const std::string& name) {
  STACK_TRY(Lock held, lock(false));
  return read_volume(name);
}

Result<std::vector<VolumeInfo>> LocalDriver::list() {
  STACK_TRY(Lock held, lock(false));
  STACK_TRY(auto names, list_dir(dirfd_.get(), dir_));
  std::vector<VolumeInfo> out;
  for (auto& n : names) {
    if (!valid_volume_name(n)) continue;  // .lock, .tmp-*, .rm-*: names no volume can have
    auto v = read_volume(n);
    if (!v.ok()) {
      // One unreadable volume.json must not hide the others; get/rm still report it.
      log::warn(v.error().to_string());
      continue;
    }
    if (*v) out.push_back(std::move(**v));
  }
  return out;
}

// Called with the lock held.
Result<std::vector<std::string>> LocalDriver::list_consumers(const std::string& name) {
  UniqueFd vfd(::openat(dirfd_.get(), name.c_str(), kDirFlags));
  if (!vfd) return errno_error("open volume " + name);
  UniqueFd cfd(::openat(vfd.get(), "consumers", kDirFlags));
  if (!cfd) {
    if (errno == ENOENT) return std::vector<std::string>();
    return errno_error("open " + name + "/consumers");
  }
  return list_dir(cfd.get(), dir_ + "/" + name + "/consumers");
}

Result<std::vector<std::string>> LocalDriver::consumers(const std::string& name) {
  STACK_TRY(Lock held, lock(false));
  STACK_TRY(auto v, read_volume(name));
  if (!v) return no_such_volume(name);
  return list_consumers(name);
}

Status LocalDriver::remove(const std::string& name, bool force) {
  STACK_TRY(Lock held, lock(true));
  clean_leftovers();
  STACK_TRY(auto v, read_volume(name));
  if (!v) return no_such_volume(name);
  STACK_TRY(auto users, list_consumers(name));
  if (!users.empty() && !force) {
    std::string ids;
    for (auto& u : users) ids += (ids.empty() ? "" : ", ") + u;
    return Error(EBUSY, "volume is in use - [" + ids + "]").wrap("remove " + name);
  }
  // Whatever is mounted on _data goes first: deleting through a mount would empty the
  // mounted file system (a bind volume's host directory).
  STACK_TRY(bool mounted, is_mount_point(data_path(name)));
  if (mounted) {
    if (auto s = sys_->umount2(data_path(name), MNT_DETACH); !s)
      return std::move(s).error().wrap("remove " + name);
  }
  // Renamed away first, so that an interrupted delete never leaves a half-empty volume.
  std::string doomed = kRemovingPrefix + random_suffix();
  if (::renameat(dirfd_.get(), name.c_str(), dirfd_.get(), doomed.c_str()) < 0)
    return errno_error("remove " + name + ": rename");
  if (auto s = fsync_dir(dirfd_.get(), dir_); !s) log::warn(s.error().to_string());
  if (auto s = remove_tree_at(dirfd_.get(), doomed); !s)
    return std::move(s).error().wrap("remove " + name);
  return {};
}

Result<std::string> LocalDriver::acquire(const std::string& name, const std::string& consumer_id) {
  STACK_TRY_VOID(validate_consumer(consumer_id));
  STACK_TRY(Lock held, lock(true));
  STACK_TRY(auto v, read_volume(name));
  if (!v) return no_such_volume(name);
  UniqueFd vfd(::openat(dirfd_.get(), name.c_str(), kDirFlags));
  if (!vfd) return errno_error("open volume " + name);
  if (::mkdirat(vfd.get(), "consumers", 0700) < 0 && errno != EEXIST)
    return errno_error("mkdir " + name + "/consumers");
  UniqueFd cfd(::openat(vfd.get(), "consumers", kDirFlags));
  if (!cfd) return errno_error("open " + name + "/consumers");
  bool fresh = ::faccessat(cfd.get(), consumer_id.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) < 0;
  UniqueFd marker(::openat(cfd.get(), consumer_id.c_str(),
                           O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!marker) return errno_error("mark consumer " + consumer_id + " of volume " + name);
  STACK_TRY_VOID(fsync_dir(cfd.get(), name + "/consumers"));
  if (needs_mount(v->options)) {
    // The mount table, not a count, says whether to mount: after a crash the mount may be
    // there already with no process remembering it.
    STACK_TRY(bool mounted, is_mount_point(v->mountpoint));
    if (!mounted) {
      if (auto s = mount_volume(*sys_, v->options, v->mountpoint); !s) {
        if (fresh) ::unlinkat(cfd.get(), consumer_id.c_str(), 0);
        return std::move(s).error().wrap("volume " + name);
      }
    }
  }
  return v->mountpoint;
}

Status LocalDriver::release(const std::string& name, const std::string& consumer_id) {
  STACK_TRY_VOID(validate_consumer(consumer_id));
  STACK_TRY(Lock held, lock(true));
  STACK_TRY(auto v, read_volume(name));
  if (!v) return no_such_volume(name);
  UniqueFd vfd(::openat(dirfd_.get(), name.c_str(), kDirFlags));
  if (!vfd) return errno_error("open volume " + name);
  UniqueFd cfd(::openat(vfd.get(), "consumers", kDirFlags));
  if (cfd) {
    if (::unlinkat(cfd.get(), consumer_id.c_str(), 0) < 0 && errno != ENOENT)
      return errno_error("unmark consumer " + consumer_id + " of volume " + name);
    STACK_TRY_VOID(fsync_dir(cfd.get(), name + "/consumers"));
  }
  STACK_TRY(auto users, list_consumers(name));
  if (!users.empty() || !needs_mount(v->options)) return {};
  STACK_TRY(bool mounted, is_mount_point(v->mountpoint));
  if (!mounted) return {};
  // Lazy, as moby/sys/mount's Unmount: a straggling process keeps its view, the path is free.
  if (auto s = sys_->umount2(v->mountpoint, MNT_DETACH); !s)
    return std::move(s).error().wrap("volume " + name);
  return {};
}

Result<std::uint64_t> LocalDriver::size(const std::string& name) {
  STACK_TRY(Lock held, lock(false));
  STACK_TRY(auto v, read_volume(name));
  if (!v) return no_such_volume(name);
  UniqueFd vfd(::openat(dirfd_.get(), name.c_str(), kDirFlags));
  if (!vfd) return errno_error("open volume " + name);
  return tree_size_at(vfd.get(), "_data");
}

}  // namespace stack::volumes
