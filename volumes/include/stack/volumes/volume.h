// Volumes as Docker's volume API sees them: a spec to create one, the info `docker volume
// inspect` prints, the driver interface, and Docker's naming rules. The local driver is in
// local.h, the fd-relative tree operations (copy-up, removal) in tree.h.
#pragma once

#include <cstddef>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"

namespace stack::volumes {

// The label Docker (23+) puts on anonymous volumes; `volume prune` without -a removes only these.
inline constexpr const char* kAnonymousLabel = "com.docker.volume.anonymous";
inline constexpr const char* kLocalDriverName = "local";

// What `docker volume create` sends.
struct VolumeSpec {
  std::string name;
  std::string driver = kLocalDriverName;
  std::map<std::string, std::string> driver_opts, labels;
};

// One volume as `docker volume inspect` shows it.
struct VolumeInfo {
  std::string name;
  std::string driver = kLocalDriverName;
  std::string mountpoint;  // absolute: <volumes dir>/<name>/_data
  std::string created_at;  // RFC 3339, UTC, seconds: "2024-05-01T12:00:00Z"
  std::map<std::string, std::string> labels, options;
  std::string scope = "local";
};

// The inspect object on one line: {"CreatedAt":…,"Driver":…,"Labels":{},"Mountpoint":…,
// "Name":…,"Options":{},"Scope":"local"} (keys in Docker's order, which is alphabetical).
std::string volume_info_to_json(const VolumeInfo& info);

// `docker volume inspect`'s whole output without the final newline: a JSON array of the objects
// above, indented by four spaces as Docker's CLI prints it ("[]" when empty).
std::string volumes_inspect_json(const std::vector<VolumeInfo>& infos);

// Docker's rule for local volume names: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ (so at least 2 chars).
bool valid_volume_name(std::string_view name);

// The same rule with Docker's error texts ("volume name is too short, …" or "\"x y\" includes
// invalid characters for a local volume name, …"); EINVAL.
Status validate_volume_name(std::string_view name);

// A fresh anonymous volume name: 64 random hex digits, as Docker's stringid.GenerateRandomID.
std::string anonymous_volume_name();

// t as RFC 3339 in UTC with seconds ("2006-01-02T15:04:05Z"), Docker's CreatedAt.
std::string rfc3339_utc(std::time_t t);

// Docker 23+ `volume prune`: a volume without consumers that is anonymous (carries
// kAnonymousLabel with any value), or any volume without consumers when `all`.
bool prune_selects(const VolumeInfo& info, std::size_t consumer_count, bool all);

// A volume driver, as Docker's volume driver API. Implementations serialise their own
// operations (across processes for the local driver); errors name the volume.
class VolumeDriver {
 public:
  virtual ~VolumeDriver() = default;

  virtual std::string name() const = 0;

  // Creates the volume, or returns the existing one of that name when it has this driver (as
  // Docker does; the spec's options and labels are then ignored). Errors: EINVAL for a bad name
  // or option (Docker's texts), EEXIST when the name belongs to another driver.
  virtual Result<VolumeInfo> create(const VolumeSpec& spec) = 0;

  // The volume, or nullopt when there is none of that name (an invalid name is none).
  virtual Result<std::optional<VolumeInfo>> get(const std::string& name) = 0;

  // Every volume, sorted by name.
  virtual Result<std::vector<VolumeInfo>> list() = 0;

  // Removes the volume and its data. Refuses (EBUSY, "remove NAME: volume is in use - [ids]")
  // while it has consumers unless `force`; ENOENT ("get NAME: no such volume") when absent.
  virtual Status remove(const std::string& name, bool force) = 0;

  // Registers `consumer_id` (a container id) as a user of the volume, mounting it first when
  // its options ask for a mount, and returns the host path to bind into the container.
  // Idempotent for the same consumer.
  virtual Result<std::string> acquire(const std::string& name, const std::string& consumer_id) = 0;

  // Drops `consumer_id` (absent is fine); the last release unmounts a mounted volume.
  virtual Status release(const std::string& name, const std::string& consumer_id) = 0;

  // The consumer ids, sorted.
  virtual Result<std::vector<std::string>> consumers(const std::string& name) = 0;
};

}  // namespace stack::volumes
