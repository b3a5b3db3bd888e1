// Docker's local volume driver over one directory (the engine passes <state root>/volumes):
//
//   <dir>/.lock                       flock: create/remove/acquire/release across processes
//   <dir>/<name>/_data                the volume's files (or a mount point, with `type`)
//   <dir>/<name>/volume.json          driver, created_at, labels, options (written atomically)
//   <dir>/<name>/consumers/<id>       one empty file per container using the volume
//   <dir>/.tmp-* , <dir>/.rm-*        half-created / half-removed volumes: never listed, and
//                                     deleted by the next create/remove/prune
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/syscalls.h"
#include "stack/common/unique_fd.h"
#include "stack/volumes/volume.h"

namespace stack::volumes {

// The `o=` driver option split as Docker's mount.ParseOptions does: known flag words (ro,
// nosuid, nodev, noexec, sync, bind, rbind, private, …) become MS_* flags (their negations
// clear them), everything else (size=1m, uid=1000, addr=…) is joined back into `data`.
struct MountOptions {
  unsigned long flags = 0;
  std::string data;
};
MountOptions parse_mount_options(std::string_view o);

// Docker's create-time check of the local driver's options: only type, o, device (and size,
// which needs quotas that stack does not have); `o` needs type and device, each of type and
// device needs the other. EINVAL with Docker's texts ("invalid option: \"x\"", "missing
// required option: \"device\"").
Status validate_local_options(const std::map<std::string, std::string>& options);

// Whether the options ask for a mount at acquire (a `type` or `device` is set).
bool needs_mount(const std::map<std::string, std::string>& options);

// Mounts `device` of `type` with `o` at target, in moby/sys/mount's order: the mount without
// propagation flags, then the propagation change if any, then a read-only remount for a
// read-only bind (the kernel ignores MS_RDONLY on the first bind mount).
Status mount_volume(Syscalls& sys, const std::map<std::string, std::string>& options,
                    const std::string& target);

// Whether `path` (absolute, without symlinks) is a mount point in /proc/self/mountinfo.
Result<bool> is_mount_point(const std::string& path);

// The volume.json document.
struct VolumeMetadata {
  std::string driver = kLocalDriverName;
  std::string created_at;
  std::map<std::string, std::string> labels, options;
};
std::string metadata_to_json(const VolumeMetadata& m);
// `where` names the file in errors.
Result<VolumeMetadata> metadata_from_json(std::string_view text, const std::string& where);

class LocalDriver final : public VolumeDriver {
 public:
  // Opens the volumes directory, creating it (mode 0701, as Docker) when missing. `sys` makes
  // the mounts of volumes with a `type` option and must outlive the driver.
  static Result<LocalDriver> open(const std::string& dir, Syscalls& sys);

  std::string name() const override { return kLocalDriverName; }
  Result<VolumeInfo> create(const VolumeSpec& spec) override;
  Result<std::optional<VolumeInfo>> get(const std::string& name) override;
  Result<std::vector<VolumeInfo>> list() override;
  Status remove(const std::string& name, bool force) override;
  Result<std::string> acquire(const std::string& name, const std::string& consumer_id) override;
  Status release(const std::string& name, const std::string& consumer_id) override;
  Result<std::vector<std::string>> consumers(const std::string& name) override;

  // Bytes used by the volume's files, as Docker counts them for prune (every non-directory's
  // size, hard links once; a mount is not descended).
  Result<std::uint64_t> size(const std::string& name);

  // The directory, absolute and without symlinks.
  const std::string& dir() const { return dir_; }

 private:
  LocalDriver(std::string dir, UniqueFd dirfd, Syscalls& sys)
      : dir_(std::move(dir)), dirfd_(std::move(dirfd)), sys_(&sys) {}
  class Lock;
  Result<Lock> lock(bool exclusive);
  void clean_leftovers();
  Result<std::optional<VolumeInfo>> read_volume(const std::string& name);
  Result<std::vector<std::string>> list_consumers(const std::string& name);
  std::string data_path(const std::string& name) const { return dir_ + "/" + name + "/_data"; }

  std::string dir_;
  UniqueFd dirfd_;
  Syscalls* sys_;
};

}  // namespace stack::volumes
