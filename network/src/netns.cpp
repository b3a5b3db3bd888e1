// Persistent network namespaces and sysctls (netns.h).
#include "stack/network/netns.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <thread>

#include "stack/common/unique_fd.h"

namespace stack::network {

Status run_in_netns(int netns_fd, const std::function<Status()>& fn) {
  Status out;
  // setns and unshare change only the calling thread's namespace; the thread ends with the
  // work, so the change never leaks into the caller or a pooled thread.
  std::thread worker([&] {
    if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) {
      out = errno_error("entering network namespace");
      return;
    }
    out = fn();
  });
  worker.join();
  return out;
}

bool netns_mounted(const std::string& path) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && fs.f_type == NSFS_MAGIC;
}

Status create_netns(const std::string& path) {
  if (netns_mounted(path)) return Error(EEXIST, "network namespace " + path + ": already exists");
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0444));
  if (!file) return errno_error("network namespace " + path + ": creating the file");
  file.reset();
  Status out;
  std::thread worker([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      out = errno_error("network namespace " + path + ": unshare");
      return;
    }
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0)
      out = errno_error("network namespace " + path + ": bind mount");
  });
  worker.join();
  if (!out.ok()) ::unlink(path.c_str());
  return out;
}

Status remove_netns(const std::string& path) {
  // A file bound more than once (never by us, but cheap to be sure) is unmounted until bare.
  while (netns_mounted(path)) {
    if (::umount2(path.c_str(), MNT_DETACH) != 0)
      return errno_error("network namespace " + path + ": unmount");
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return errno_error("network namespace " + path + ": unlink");
  return {};
}

Status write_sysctl(std::string_view key, std::string_view value, int netns_fd) {
  std::string path = "/proc/sys/";
  for (char c : key) path += c == '.' ? '/' : c;
  auto write = [&]() -> Status {
    // /proc/sys/net answers for the namespace of the thread that opens it.
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) return errno_error("sysctl " + std::string(key));
    char current[64];
    ssize_t n = ::read(fd.get(), current, sizeof current);
    if (n > 0 && std::string_view(current, static_cast<size_t>(n)) ==
                     std::string(value) + "\n")
      return {};
    if (::pwrite(fd.get(), value.data(), value.size(), 0) != static_cast<ssize_t>(value.size()))
      return errno_error("sysctl " + std::string(key) + "=" + std::string(value));
    return {};
  };
  if (netns_fd < 0) return write();
  return run_in_netns(netns_fd, write);
}

}  // namespace stack::network
