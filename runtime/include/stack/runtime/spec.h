// The OCI runtime specification (1.2) as plain data: what config.json says, already validated.
// parse_spec() is the only way in from JSON; unknown fields are ignored as the spec requires, and
// an invalid value is rejected with an error naming its JSON path ("process.user.uid: …").
// spec_to_json() writes the same document back (used by `stack-runtime spec`).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stack/common/result.h"

namespace stack::runtime {

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  int resource = 0;  // the RLIMIT_* number for type
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct User {
  uid_t uid = 0;
  gid_t gid = 0;
  std::optional<mode_t> umask;
  std::vector<gid_t> additional_gids;
};

// Capability sets by name ("CAP_CHOWN"); parse_spec() checks every name is known to libcap.
struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct ConsoleSize {
  unsigned height = 0;
  unsigned width = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  std::string cwd = "/";  // absolute
  std::vector<std::string> env;
  std::vector<std::string> args;  // non-empty
  User user;
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile;  // accepted; applied only where AppArmor is enabled
  std::string selinux_label;     // accepted; applied only where SELinux is enabled
};

struct Root {
  std::string path;  // absolute, or relative to the bundle (resolved by parse_spec)
  bool readonly = false;
};

struct Mount {
  std::string destination;  // absolute inside the container
  std::string type;         // "" for bind mounts
  std::string source;       // bundle-relative sources resolved by parse_spec
  std::vector<std::string> options;
  std::vector<std::string> uid_mappings_raw;  // reserved: idmapped mounts are rejected for now
};

struct Hook {
  std::string path;  // absolute, on the host
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout_s;  // > 0
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // join this namespace instead of creating one
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Device {
  std::string path;  // absolute inside the container
  char type = 'c';   // c, b, u or p
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<mode_t> file_mode;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

// One device cgroup rule; type 'a' means all, major/minor absent means any.
struct DeviceRule {
  bool allow = false;
  char type = 'a';
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::string access;  // subset of "rwm"
};

struct MemoryResources {
  std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};

struct CpuResources {
  std::optional<uint64_t> shares, period, realtime_period, burst;
  std::optional<int64_t> quota, realtime_runtime, idle;
  std::string cpus, mems;
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
};

struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};

struct BlockIoResources {
  std::optional<uint16_t> weight, leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops,
      throttle_write_iops;
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB"
  uint64_t limit = 0;
};

struct NetworkResources {
  std::optional<uint32_t> class_id;
  std::vector<std::pair<std::string, uint32_t>> priorities;  // interface, priority
};

struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<int64_t> pids_limit;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<NetworkResources> network;
  std::map<std::string, std::string> unified;  // cgroup v2 file → value
};

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_NE, SCMP_CMP_LT, … SCMP_CMP_MASKED_EQ
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_*
  std::optional<unsigned> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<unsigned> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_*
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::string rootfs_propagation;  // "", private, slave, shared, unbindable (+ r variants)
  std::optional<Seccomp> seccomp;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths, readonly_paths;
  std::string mount_label;
  std::optional<std::string> personality_domain;  // LINUX or LINUX32
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;  // required by create; optional in the spec
  Root root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  Linux linux;

  bool has_namespace(const std::string& type) const;
  const Namespace* find_namespace(const std::string& type) const;
};

// Parses and validates config.json text. bundle_dir (absolute) resolves relative root.path and
// relative bind-mount sources. Errors name the JSON path: `linux.namespaces[2].type: unknown
// namespace "foo"`.
Result<Spec> parse_spec(const std::string& json_text, const std::string& bundle_dir);

// Parses a process object alone (`stack-runtime exec --process file.json`).
Result<Process> parse_process(const std::string& json_text);

// Writes a spec back as OCI JSON, pretty-printed; parse_spec(spec_to_json(s)) == s.
std::string spec_to_json(const Spec& spec);

}  // namespace stack::runtime
