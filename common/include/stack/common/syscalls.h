// The syscall seam: one virtual per kernel call that composite operations (container setup,
// mounts, namespaces) make. The real implementation is constructed only in main()s and passed
// down by reference; unit tests pass RecordingSyscalls and compare the call sequence as text.
// Composite operations live above the seam so their order is testable.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/unique_fd.h"

namespace stack {

class Syscalls {
 public:
  virtual ~Syscalls() = default;
  virtual Status mount(const std::string& source, const std::string& target,
                       const std::string& fstype, unsigned long flags, const std::string& data) = 0;
  virtual Status umount2(const std::string& target, int flags) = 0;
  virtual Status pivot_root(const std::string& new_root, const std::string& put_old) = 0;
  virtual Status chdir(const std::string& path) = 0;
  virtual Status chroot(const std::string& path) = 0;
  virtual Status setns(int fd, int nstype) = 0;
  virtual Status unshare(int flags) = 0;
  virtual Status sethostname(const std::string& name) = 0;
  virtual Status mknod(const std::string& path, mode_t mode, dev_t dev) = 0;
  virtual Status mkdir(const std::string& path, mode_t mode) = 0;
  virtual Status symlink(const std::string& target, const std::string& linkpath) = 0;
  virtual Result<UniqueFd> open(const std::string& path, int flags, mode_t mode) = 0;
  virtual Status setresuid(uid_t r, uid_t e, uid_t s) = 0;
  virtual Status setresgid(gid_t r, gid_t e, gid_t s) = 0;
  virtual Status prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4,
                       unsigned long a5) = 0;

  // Resolves path below dirfd with openat2(2); resolve is RESOLVE_* (RESOLVE_IN_ROOT confines
  // absolute paths and symlinks to dirfd, which is how paths in an untrusted rootfs are opened).
  virtual Result<UniqueFd> openat2(int dirfd, const std::string& path, int flags, mode_t mode,
                                   uint64_t resolve) = 0;
  virtual Status mkdirat(int dirfd, const std::string& name, mode_t mode) = 0;
  virtual Status mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev) = 0;
  virtual Status symlinkat(const std::string& target, int dirfd, const std::string& name) = 0;
  virtual Status fchdir(int fd) = 0;
  // mount_setattr(2) on the mount at dirfd/path (AT_* flags), with MOUNT_ATTR_* to set and clear.
  virtual Status mount_setattr(int dirfd, const std::string& path, unsigned flags, uint64_t attr_set,
                               uint64_t attr_clr) = 0;
  virtual Status fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid) = 0;  // no follow
  // close_range(2); with CLOSE_RANGE_CLOEXEC the fds close at execve.
  virtual Status close_range(unsigned first, unsigned last, unsigned flags) = 0;
  virtual Status setgroups(const std::vector<gid_t>& groups) = 0;
  virtual Status setdomainname(const std::string& name) = 0;
  virtual Status personality(unsigned long persona) = 0;
  virtual Status setrlimit(int resource, uint64_t soft, uint64_t hard) = 0;
  virtual mode_t umask(mode_t mask) = 0;
  // Writes all of data to fd.
  virtual Status write(int fd, const std::string& data) = 0;
  // The mount flags (ST_RDONLY, ST_NOSUID, …) of the filesystem holding path.
  virtual Result<unsigned long> statvfs_flags(const std::string& path) = 0;
  // capset(2) with version 3 headers for the calling thread; masks are 64-bit sets.
  virtual Status capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) = 0;
  // seccomp(SECCOMP_SET_MODE_FILTER, flags, program); bpf holds struct sock_filter entries.
  // Returns the listener fd when flags ask for one, else -1.
  virtual Result<int> seccomp_filter(const std::string& bpf, unsigned flags) = 0;
};

// Makes the real system calls. Stateless; safe to share.
class RealSyscalls final : public Syscalls {
 public:
  Status mount(const std::string& source, const std::string& target, const std::string& fstype,
               unsigned long flags, const std::string& data) override;
  Status umount2(const std::string& target, int flags) override;
  Status pivot_root(const std::string& new_root, const std::string& put_old) override;
  Status chdir(const std::string& path) override;
  Status chroot(const std::string& path) override;
  Status setns(int fd, int nstype) override;
  Status unshare(int flags) override;
  Status sethostname(const std::string& name) override;
  Status mknod(const std::string& path, mode_t mode, dev_t dev) override;
  Status mkdir(const std::string& path, mode_t mode) override;
  Status symlink(const std::string& target, const std::string& linkpath) override;
  Result<UniqueFd> open(const std::string& path, int flags, mode_t mode) override;
  Status setresuid(uid_t r, uid_t e, uid_t s) override;
  Status setresgid(gid_t r, gid_t e, gid_t s) override;
  Status prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4,
               unsigned long a5) override;
  Result<UniqueFd> openat2(int dirfd, const std::string& path, int flags, mode_t mode,
                           uint64_t resolve) override;
  Status mkdirat(int dirfd, const std::string& name, mode_t mode) override;
  Status mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev) override;
  Status symlinkat(const std::string& target, int dirfd, const std::string& name) override;
  Status fchdir(int fd) override;
  Status mount_setattr(int dirfd, const std::string& path, unsigned flags, uint64_t attr_set,
                       uint64_t attr_clr) override;
  Status fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid) override;
  Status close_range(unsigned first, unsigned last, unsigned flags) override;
  Status setgroups(const std::vector<gid_t>& groups) override;
  Status setdomainname(const std::string& name) override;
  Status personality(unsigned long persona) override;
  Status setrlimit(int resource, uint64_t soft, uint64_t hard) override;
  mode_t umask(mode_t mask) override;
  Status write(int fd, const std::string& data) override;
  Result<unsigned long> statvfs_flags(const std::string& path) override;
  Status capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) override;
  Result<int> seccomp_filter(const std::string& bpf, unsigned flags) override;
};

// Records every call as one line of text and succeeds, unless a call's line starts with a
// prefix registered with fail_on(), in which case it fails with that errno. Opened files are
// real descriptors of /dev/null (so UniqueFd may close them) named "fd1", "fd2", … in order;
// calls that take an fd, or a "/proc/self/fd/N" path, print that name instead of the number.
// statvfs_flags answers 0 unless set_statvfs_flags() gave a value for the path.
class RecordingSyscalls final : public Syscalls {
 public:
  void fail_on(std::string line_prefix, int err) { failures_.push_back({std::move(line_prefix), err}); }
  const std::vector<std::string>& calls() const { return calls_; }
  std::string transcript() const;  // calls joined with '\n'
  void set_statvfs_flags(const std::string& path, unsigned long flags) { statvfs_[path] = flags; }

  Status mount(const std::string& source, const std::string& target, const std::string& fstype,
               unsigned long flags, const std::string& data) override;
  Status umount2(const std::string& target, int flags) override;
  Status pivot_root(const std::string& new_root, const std::string& put_old) override;
  Status chdir(const std::string& path) override;
  Status chroot(const std::string& path) override;
  Status setns(int fd, int nstype) override;
  Status unshare(int flags) override;
  Status sethostname(const std::string& name) override;
  Status mknod(const std::string& path, mode_t mode, dev_t dev) override;
  Status mkdir(const std::string& path, mode_t mode) override;
  Status symlink(const std::string& target, const std::string& linkpath) override;
  Result<UniqueFd> open(const std::string& path, int flags, mode_t mode) override;
  Status setresuid(uid_t r, uid_t e, uid_t s) override;
  Status setresgid(gid_t r, gid_t e, gid_t s) override;
  Status prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4,
               unsigned long a5) override;
  Result<UniqueFd> openat2(int dirfd, const std::string& path, int flags, mode_t mode,
                           uint64_t resolve) override;
  Status mkdirat(int dirfd, const std::string& name, mode_t mode) override;
  Status mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev) override;
  Status symlinkat(const std::string& target, int dirfd, const std::string& name) override;
  Status fchdir(int fd) override;
  Status mount_setattr(int dirfd, const std::string& path, unsigned flags, uint64_t attr_set,
                       uint64_t attr_clr) override;
  Status fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid) override;
  Status close_range(unsigned first, unsigned last, unsigned flags) override;
  Status setgroups(const std::vector<gid_t>& groups) override;
  Status setdomainname(const std::string& name) override;
  Status personality(unsigned long persona) override;
  Status setrlimit(int resource, uint64_t soft, uint64_t hard) override;
  mode_t umask(mode_t mask) override;
  Status write(int fd, const std::string& data) override;
  Result<unsigned long> statvfs_flags(const std::string& path) override;
  Status capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) override;
  Result<int> seccomp_filter(const std::string& bpf, unsigned flags) override;

 private:
  Status record(std::string line);
  Result<UniqueFd> fake_fd(std::string line);
  std::string fd_name(int fd) const;
  std::string path_name(const std::string& path) const;
  struct Failure {
    std::string prefix;
    int err;
  };
  std::vector<std::string> calls_;
  std::vector<Failure> failures_;
  std::map<int, int> fd_names_;  // real fd → its number in the transcript
  int next_fd_name_ = 1;
  std::map<std::string, unsigned long> statvfs_;
};

}  // namespace stack
