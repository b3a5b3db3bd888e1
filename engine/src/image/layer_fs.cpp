// fd-relative file system helpers for layer unpacking: path cleaning, confined opens, creation
// of missing parents and removal of trees without following symlinks.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "image/layer_internal.h"
#include "stack/common/path.h"

namespace stack::engine::image::layer_detail {

Result<std::vector<std::string>> clean_path(const std::string& raw) {
  // Docker cleans the entry's name, joins it to the root and rejects a result outside it
  // (pkg/archive "breakout"): after cleaning, that is exactly a leading "..". A rooted name
  // ("/etc/x") stays inside, as Docker joins it to the root.
  const std::string cleaned = stack::clean_path(raw);
  if (cleaned == ".." || cleaned.rfind("../", 0) == 0) return Error(EPERM, "path escapes the layer");
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= cleaned.size()) {
    size_t slash = cleaned.find('/', pos);
    if (slash == std::string::npos) slash = cleaned.size();
    std::string part = cleaned.substr(pos, slash - pos);
    pos = slash + 1;
    if (!part.empty() && part != ".") out.push_back(std::move(part));
  }
  return out;
}

std::string join_path(const std::vector<std::string>& components, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < components.size(); ++i) {
    if (i) out += '/';
    out += components[i];
  }
  return out;
}

Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* p = path.empty() ? "." : path.c_str();
  for (;;) {
    long fd = ::syscall(SYS_openat2, root_fd, p, &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    // EAGAIN: a concurrent rename raced the lookup (openat2(2)); only this process writes here,
    // but the retry is what the man page asks for.
    if (errno == EINTR || errno == EAGAIN) continue;
    return errno_error("open \"" + path + "\"");
  }
}

Result<UniqueFd> open_parent(int root_fd, const std::vector<std::string>& components) {
  const size_t depth = components.empty() ? 0 : components.size() - 1;
  auto direct = open_in_root(root_fd, join_path(components, depth), O_RDONLY | O_DIRECTORY);
  if (direct.ok() || direct.error().code != ENOENT) return direct;
  // Some ancestor is missing: walk down, creating each missing one inside the one above it.
  // Every step is resolved from the root again so symlinks between them stay confined.
  UniqueFd dir;
  for (size_t i = 0; i <= depth; ++i) {
    auto next = open_in_root(root_fd, join_path(components, i), O_RDONLY | O_DIRECTORY);
    if (!next.ok() && next.error().code == ENOENT && i > 0) {
      if (::mkdirat(dir.get(), components[i - 1].c_str(), 0755) != 0)
        return errno_error("mkdir \"" + join_path(components, i) + "\"");
      next = open_in_root(root_fd, join_path(components, i), O_RDONLY | O_DIRECTORY);
    }
    if (!next.ok()) return std::move(next).error();
    dir = std::move(next).value();
  }
  return dir;
}

namespace {

Status remove_children(int dir_fd, const std::string& name) {
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno_error("open \"" + name + "\"");
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    Error err = errno_error("fdopendir \"" + name + "\"");
    ::close(fd);
    return err;
  }
  std::vector<std::string> names;
  while (struct dirent* d = ::readdir(dir)) {
    std::string child = d->d_name;
    if (child != "." && child != "..") names.push_back(std::move(child));
  }
  Status status;
  for (const auto& child : names) {
    status = remove_at(::dirfd(dir), child);
    if (!status.ok()) break;
  }
  ::closedir(dir);
  return status;
}

}  // namespace

Status remove_at(int dir_fd, const std::string& name) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return errno_error("stat \"" + name + "\"");
  }
  if (S_ISDIR(st.st_mode)) {
    // A directory restored from a layer may be mode 0000; as root that does not stop us, and
    // without root such a tree could not have been created with that mode either.
    STACK_TRY_VOID(remove_children(dir_fd, name));
    if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0)
      return errno_error("rmdir \"" + name + "\"");
    return {};
  }
  if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT)
    return errno_error("unlink \"" + name + "\"");
  return {};
}

}  // namespace stack::engine::image::layer_detail
