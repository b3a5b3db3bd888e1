#include "stack/common/syscalls.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <grp.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/sysmacros.h>

#include <cstdio>
#include <cstdlib>

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

Result<UniqueFd> RealSyscalls::openat2(int dirfd, const std::string& path, int flags, mode_t mode,
                                       uint64_t resolve) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = resolve;
  long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
  if (fd < 0) return errno_error("open " + path);
  return UniqueFd(static_cast<int>(fd));
}
Status RealSyscalls::mkdirat(int dirfd, const std::string& name, mode_t mode) {
  return check(::mkdirat(dirfd, name.c_str(), mode), "mkdir " + name);
}
Status RealSyscalls::mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev) {
  return check(::mknodat(dirfd, name.c_str(), mode, dev), "mknod " + name);
}
Status RealSyscalls::symlinkat(const std::string& target, int dirfd, const std::string& name) {
  return check(::symlinkat(target.c_str(), dirfd, name.c_str()), "symlink " + name);
}
Status RealSyscalls::fchdir(int fd) { return check(::fchdir(fd), "fchdir"); }
Status RealSyscalls::mount_setattr(int dirfd, const std::string& path, unsigned flags, uint64_t attr_set,
                                   uint64_t attr_clr) {
  struct mount_attr attr {};
  attr.attr_set = attr_set;
  attr.attr_clr = attr_clr;
  return check(::mount_setattr(dirfd, path.c_str(), flags, &attr, sizeof attr), "mount_setattr");
}
Status RealSyscalls::fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid) {
  return check(::fchownat(dirfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW), "chown " + name);
}
Status RealSyscalls::close_range(unsigned first, unsigned last, unsigned flags) {
  return check(static_cast<int>(::syscall(SYS_close_range, first, last, flags)), "close_range");
}
Status RealSyscalls::setgroups(const std::vector<gid_t>& groups) {
  return check(::setgroups(groups.size(), groups.data()), "setgroups");
}
Status RealSyscalls::setdomainname(const std::string& name) {
  return check(::setdomainname(name.data(), name.size()), "setdomainname");
}
Status RealSyscalls::personality(unsigned long persona) {
  return ::personality(persona) < 0 ? errno_error("personality") : Status{};
}
Status RealSyscalls::setrlimit(int resource, uint64_t soft, uint64_t hard) {
  struct rlimit64 lim {soft, hard};
  return check(::setrlimit64(static_cast<__rlimit_resource>(resource), &lim), "setrlimit");
}
mode_t RealSyscalls::umask(mode_t mask) { return ::umask(mask); }
Status RealSyscalls::write(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("write");
    done += static_cast<size_t>(n);
  }
  return {};
}
Result<unsigned long> RealSyscalls::statvfs_flags(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return errno_error("statvfs " + path);
  return st.f_flag;
}
Status RealSyscalls::capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
  struct __user_cap_header_struct header {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<uint32_t>(effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(inheritable >> (32 * i));
  }
  return check(static_cast<int>(::syscall(SYS_capset, &header, data)), "capset");
}
Result<int> RealSyscalls::seccomp_filter(const std::string& bpf, unsigned flags) {
  struct sock_fprog prog {};
  prog.len = static_cast<unsigned short>(bpf.size() / sizeof(struct sock_filter));
  prog.filter = reinterpret_cast<struct sock_filter*>(const_cast<char*>(bpf.data()));
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0) return errno_error("seccomp");
  return (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) ? static_cast<int>(rc) : -1;
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
  return record("mount(" + path_name(source) + ", " + path_name(target) + ", " + fstype + ", " + hex(flags) + ", " + data + ")");
}
Status RecordingSyscalls::umount2(const std::string& target, int flags) {
  return record("umount2(" + path_name(target) + ", " + std::to_string(flags) + ")");
}
Status RecordingSyscalls::pivot_root(const std::string& new_root, const std::string& put_old) {
  return record("pivot_root(" + new_root + ", " + put_old + ")");
}
Status RecordingSyscalls::chdir(const std::string& path) { return record("chdir(" + path + ")"); }
Status RecordingSyscalls::chroot(const std::string& path) { return record("chroot(" + path + ")"); }
Status RecordingSyscalls::setns(int fd, int nstype) {
  return record("setns(" + fd_name(fd) + ", " + hex(static_cast<unsigned long>(nstype)) + ")");
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
  return fake_fd("open(" + path_name(path) + ", " + hex(static_cast<unsigned long>(flags)) + ", " + oct(mode) + ")");
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

Result<UniqueFd> RecordingSyscalls::fake_fd(std::string line) {
  STACK_TRY_VOID(record(line));
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("open /dev/null");
  fd_names_[fd] = next_fd_name_;
  calls_.back() += " = fd" + std::to_string(next_fd_name_++);
  return UniqueFd(fd);
}
std::string RecordingSyscalls::fd_name(int fd) const {
  auto it = fd_names_.find(fd);
  return it == fd_names_.end() ? std::to_string(fd) : "fd" + std::to_string(it->second);
}
std::string RecordingSyscalls::path_name(const std::string& path) const {
  static const std::string kPrefix = "/proc/self/fd/";
  if (path.rfind(kPrefix, 0) != 0) return path;
  return kPrefix + fd_name(std::atoi(path.c_str() + kPrefix.size()));
}
Result<UniqueFd> RecordingSyscalls::openat2(int dirfd, const std::string& path, int flags, mode_t mode,
                                            uint64_t resolve) {
  return fake_fd("openat2(" + fd_name(dirfd) + ", " + path + ", " + hex(static_cast<unsigned long>(flags)) +
                 ", " + oct(mode) + ", " + hex(resolve) + ")");
}
Status RecordingSyscalls::mkdirat(int dirfd, const std::string& name, mode_t mode) {
  return record("mkdirat(" + fd_name(dirfd) + ", " + name + ", " + oct(mode) + ")");
}
Status RecordingSyscalls::mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev) {
  return record("mknodat(" + fd_name(dirfd) + ", " + name + ", " + oct(mode) + ", " + std::to_string(major(dev)) +
                ":" + std::to_string(minor(dev)) + ")");
}
Status RecordingSyscalls::symlinkat(const std::string& target, int dirfd, const std::string& name) {
  return record("symlinkat(" + target + ", " + fd_name(dirfd) + ", " + name + ")");
}
Status RecordingSyscalls::fchdir(int fd) { return record("fchdir(" + fd_name(fd) + ")"); }
Status RecordingSyscalls::mount_setattr(int dirfd, const std::string& path, unsigned flags, uint64_t attr_set,
                                        uint64_t attr_clr) {
  return record("mount_setattr(" + fd_name(dirfd) + ", " + path + ", " + hex(flags) + ", " + hex(attr_set) + ", " +
                hex(attr_clr) + ")");
}
Status RecordingSyscalls::fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid) {
  return record("fchownat(" + fd_name(dirfd) + ", " + name + ", " + std::to_string(uid) + ", " + std::to_string(gid) + ")");
}
Status RecordingSyscalls::close_range(unsigned first, unsigned last, unsigned flags) {
  return record("close_range(" + std::to_string(first) + ", " + std::to_string(last) + ", " + std::to_string(flags) + ")");
}
Status RecordingSyscalls::setgroups(const std::vector<gid_t>& groups) {
  std::string list;
  for (gid_t g : groups) {
    if (!list.empty()) list.push_back(',');
    list.append(std::to_string(g));
  }
  return record("setgroups([" + list + "])");
}
Status RecordingSyscalls::setdomainname(const std::string& name) { return record("setdomainname(" + name + ")"); }
Status RecordingSyscalls::personality(unsigned long persona) {
  return record("personality(" + hex(persona) + ")");
}
Status RecordingSyscalls::setrlimit(int resource, uint64_t soft, uint64_t hard) {
  return record("setrlimit(" + std::to_string(resource) + ", " + std::to_string(soft) + ", " +
                std::to_string(hard) + ")");
}
mode_t RecordingSyscalls::umask(mode_t mask) {
  (void)record("umask(" + oct(mask) + ")");
  return 022;
}
Status RecordingSyscalls::write(int fd, const std::string& data) {
  return record("write(" + fd_name(fd) + ", \"" + data + "\")");
}
Result<unsigned long> RecordingSyscalls::statvfs_flags(const std::string& path) {
  STACK_TRY_VOID(record("statvfs(" + path_name(path) + ")"));
  auto it = statvfs_.find(path);
  return it == statvfs_.end() ? 0UL : it->second;
}
Status RecordingSyscalls::capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
  return record("capset(" + hex(effective) + ", " + hex(permitted) + ", " + hex(inheritable) + ")");
}
Result<int> RecordingSyscalls::seccomp_filter(const std::string& bpf, unsigned flags) {
  STACK_TRY_VOID(record("seccomp(" + std::to_string(bpf.size() / 8) + " insns, " + hex(flags) + ")"));
  return -1;
}

}  // namespace stack
