#include "stack/common/syscalls.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>

namespace stack {
namespace {

Status check(int rc, const std::string& what) {
  if (rc != 0) return errno_error(what);
  return {};
}

std::string hex(unsigned long v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%lx", v);
  return buf;
}

std::string oct(unsigned long v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0%lo", v);
  return buf;
}

}  // namespace

Status RealSyscalls::mount(const std::string& source, const std::string& target,
                           const std::string& fstype, unsigned long flags, const std::string& data) {
  return check(::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
                       fstype.empty() ? nullptr : fstype.c_str(), flags,
                       data.empty() ? nullptr : data.c_str()),
               "mount " + target);
}
Status RealSyscalls::umount2(const std::string& target, int flags) {
  return check(::umount2(target.c_str(), flags), "umount " + target);
}
Status RealSyscalls::pivot_root(const std::string& new_root, const std::string& put_old) {
  return check(static_cast<int>(::syscall(SYS_pivot_root, new_root.c_str(), put_old.c_str())),
               "pivot_root " + new_root);
}
Status RealSyscalls::chdir(const std::string& path) { return check(::chdir(path.c_str()), "chdir " + path); }
Status RealSyscalls::chroot(const std::string& path) { return check(::chroot(path.c_str()), "chroot " + path); }
Status RealSyscalls::setns(int fd, int nstype) { return check(::setns(fd, nstype), "setns"); }
Status RealSyscalls::unshare(int flags) { return check(::unshare(flags), "unshare"); }
Status RealSyscalls::sethostname(const std::string& name) {
  return check(::sethostname(name.data(), name.size()), "sethostname");
}
Status RealSyscalls::mknod(const std::string& path, mode_t mode, dev_t dev) {
  return check(::mknod(path.c_str(), mode, dev), "mknod " + path);
}
Status RealSyscalls::mkdir(const std::string& path, mode_t mode) {
  return check(::mkdir(path.c_str(), mode), "mkdir " + path);
}
Status RealSyscalls::symlink(const std::string& target, const std::string& linkpath) {
  return check(::symlink(target.c_str(), linkpath.c_str()), "symlink " + linkpath);
}
Result<UniqueFd> RealSyscalls::open(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return errno_error("open " + path);
  return UniqueFd(fd);
}
Status RealSyscalls::setresuid(uid_t r, uid_t e, uid_t s) { return check(::setresuid(r, e, s), "setresuid"); }
Status RealSyscalls::setresgid(gid_t r, gid_t e, gid_t s) { return check(::setresgid(r, e, s), "setresgid"); }
Status RealSyscalls::prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4,
                           unsigned long a5) {
  return check(::prctl(option, a2, a3, a4, a5), "prctl");
}

std::string RecordingSyscalls::transcript() const {
  std::string out;
  for (const auto& c : calls_) {
    out += c;
    out += '\n';
  }
  return out;
}

Status RecordingSyscalls::record(std::string line) {
  for (const auto& f : failures_) {
    if (line.rfind(f.prefix, 0) == 0) {
      calls_.push_back(line + " = " + std::to_string(-f.err));
      return errno_error(line, f.err);
    }
  }
  calls_.push_back(std::move(line));
  return {};
}

Status RecordingSyscalls::mount(const std::string& source, const std::string& target,
                                const std::string& fstype, unsigned long flags, const std::string& data) {
  return record("mount(" + source + ", " + target + ", " + fstype + ", " + hex(flags) + ", " + data + ")");
}
Status RecordingSyscalls::umount2(const std::string& target, int flags) {
  return record("umount2(" + target + ", " + std::to_string(flags) + ")");
}
Status RecordingSyscalls::pivot_root(const std::string& new_root, const std::string& put_old) {
  return record("pivot_root(" + new_root + ", " + put_old + ")");
}
Status RecordingSyscalls::chdir(const std::string& path) { return record("chdir(" + path + ")"); }
Status RecordingSyscalls::chroot(const std::string& path) { return record("chroot(" + path + ")"); }
Status RecordingSyscalls::setns(int fd, int nstype) {
  return record("setns(" + std::to_string(fd) + ", " + hex(static_cast<unsigned long>(nstype)) + ")");
}
Status RecordingSyscalls::unshare(int flags) {
  return record("unshare(" + hex(static_cast<unsigned long>(flags)) + ")");
}
Status RecordingSyscalls::sethostname(const std::string& name) { return record("sethostname(" + name + ")"); }
Status RecordingSyscalls::mknod(const std::string& path, mode_t mode, dev_t dev) {
  return record("mknod(" + path + ", " + oct(mode) + ", " + std::to_string(dev) + ")");
}
Status RecordingSyscalls::mkdir(const std::string& path, mode_t mode) {
  return record("mkdir(" + path + ", " + oct(mode) + ")");
}
Status RecordingSyscalls::symlink(const std::string& target, const std::string& linkpath) {
  return record("symlink(" + target + ", " + linkpath + ")");
}
Result<UniqueFd> RecordingSyscalls::open(const std::string& path, int flags, mode_t mode) {
  STACK_TRY_VOID(record("open(" + path + ", " + hex(static_cast<unsigned long>(flags)) + ", " + oct(mode) + ")"));
  return UniqueFd();
}
Status RecordingSyscalls::setresuid(uid_t r, uid_t e, uid_t s) {
  return record("setresuid(" + std::to_string(r) + ", " + std::to_string(e) + ", " + std::to_string(s) + ")");
}
Status RecordingSyscalls::setresgid(gid_t r, gid_t e, gid_t s) {
  return record("setresgid(" + std::to_string(r) + ", " + std::to_string(e) + ", " + std::to_string(s) + ")");
}
Status RecordingSyscalls::prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4,
                                unsigned long a5) {
  return record("prctl(" + std::to_string(option) + ", " + std::to_string(a2) + ", " + std::to_string(a3) +
                ", " + std::to_string(a4) + ", " + std::to_string(a5) + ")");
}

}  // namespace stack
