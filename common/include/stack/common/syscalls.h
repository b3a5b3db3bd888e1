// The syscall seam: one virtual per kernel call that composite operations (container setup,
// mounts, namespaces) make. The real implementation is constructed only in main()s and passed
// down by reference; unit tests pass RecordingSyscalls and compare the call sequence as text.
// Composite operations live above the seam so their order is testable.
#pragma once

#include <sys/types.h>

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
};

// Records every call as one line of text and succeeds, unless a call's line starts with a
// prefix registered with fail_on(), in which case it fails with that errno.
class RecordingSyscalls final : public Syscalls {
 public:
  void fail_on(std::string line_prefix, int err) { failures_.push_back({std::move(line_prefix), err}); }
  const std::vector<std::string>& calls() const { return calls_; }
  std::string transcript() const;  // calls joined with '\n'

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

 private:
  Status record(std::string line);
  struct Failure {
    std::string prefix;
    int err;
  };
  std::vector<std::string> calls_;
  std::vector<Failure> failures_;
};

}  // namespace stack
