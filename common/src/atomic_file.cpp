#include "stack/common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "stack/common/unique_fd.h"

namespace stack {
namespace {

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write " + path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status write_file_atomic(const std::string& path, std::string_view content, unsigned mode,
                         Durability durability) {
  const bool durable = durability == Durability::kSync;
  std::string tmpl = path + ".tmp.XXXXXX";
  UniqueFd fd(::mkostemp(tmpl.data(), O_CLOEXEC));
  if (!fd) return errno_error("create temporary file for " + path);
  auto fail = [&](Error e) -> Status {
    ::unlink(tmpl.c_str());
    return e;
  };
  if (::fchmod(fd.get(), mode) != 0) return fail(errno_error("chmod " + tmpl));
  if (auto st = write_all(fd.get(), content, tmpl); !st) return fail(std::move(st).error());
  if (durable && ::fsync(fd.get()) != 0) return fail(errno_error("fsync " + tmpl));
  fd.reset();
  if (::rename(tmpl.c_str(), path.c_str()) != 0) return fail(errno_error("rename to " + path));
  if (!durable) return {};
  UniqueFd dir(::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir) ::fsync(dir.get());  // durability of the rename; failure here loses nothing visible
  return {};
}

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(path);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace stack
