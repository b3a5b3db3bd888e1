// cgroups for containers on the three host layouts: pure v1 (one hierarchy per controller),
// hybrid (v1 controllers plus a cgroup2 mount holding few or no controllers, as on these
// machines, where crun refuses to run) and pure v2 (one unified hierarchy).
//
// All file access goes below a root directory given at construction (normally "/"), so unit
// tests run the same code against a fake tree in a temporary directory.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/unique_fd.h"
#include "stack/runtime/spec.h"

namespace stack::runtime {

enum class CgroupLayout { kV1, kHybrid, kV2 };

// Where the cgroup filesystems are mounted and which controllers each holds.
struct CgroupHost {
  CgroupLayout layout = CgroupLayout::kV2;
  std::string unified;                            // cgroup2 mount point; "" on pure v1
  std::vector<std::string> unified_controllers;   // cgroup.controllers of the unified root
  std::map<std::string, std::string> v1;          // controller ("memory", "name=systemd") → mount
};

// Reads the layout from mountinfo text (the format of /proc/self/mountinfo) and, for the
// unified hierarchy, its cgroup.controllers file below fs_root.
Result<CgroupHost> detect_cgroup_host(const std::string& mountinfo_text,
                                      const std::string& fs_root = "/");

// The process's own cgroup per hierarchy, from /proc/<pid>/cgroup text: controller → path
// ("" key for the unified hierarchy).
std::map<std::string, std::string> parse_proc_cgroup(const std::string& text);

// A container's cgroup: one directory per hierarchy used. Constructed by create() or, for an
// existing container, from the paths persisted in its state (from_paths()).
class Cgroup {
 public:
  // Resolves cgroupsPath as runc does: absolute paths are below each hierarchy's root; relative
  // paths (and "" which means the container id) are below the calling process's own cgroup
  // (self_cgroup, from parse_proc_cgroup). "slice:prefix:name" systemd paths are rejected.
  // Creates the directories (mkdir -p) and, on v2, enables the controllers in the parents'
  // cgroup.subtree_control. On failure, removes what it created.
  static Result<Cgroup> create(const CgroupHost& host, const std::string& fs_root,
                               const std::string& cgroups_path, const std::string& container_id,
                               const std::map<std::string, std::string>& self_cgroup);

  // Re-opens the cgroup of an existing container from the paths returned by paths().
  // created: created_dirs() of the original, so that destroy() also removes the parents that
  // create() made once they are empty.
  static Cgroup from_paths(const CgroupHost& host, const std::string& fs_root,
                           std::map<std::string, std::string> paths,
                           std::vector<std::string> created = {});

  // Every directory create() made, parents first. Persisted beside paths().
  const std::vector<std::string>& created_dirs() const { return created_; }

  // Hierarchy key ("memory", "unified", …) → absolute directory (below fs_root). Persisted in the
  // container's state.
  const std::map<std::string, std::string>& paths() const { return paths_; }

  // Writes the resource limits. Errors name the cgroup file and the spec field
  // ("linux.resources.memory.limit: writing memory.limit_in_bytes: Device or resource busy").
  // A limit that the host cannot enforce (controller not mounted) is an error, not silence; an
  // absent field is left alone. Safe to call again (`update`).
  Status apply(const Resources& resources);

  // Moves a process into every hierarchy (cgroup.procs).
  Status add_process(pid_t pid);

  // An O_PATH|O_DIRECTORY fd of the unified directory, for clone3(CLONE_INTO_CGROUP); empty on
  // pure v1 or when the unified hierarchy is not used for this container.
  Result<UniqueFd> open_unified_dir() const;

  // Freezes or thaws every process (v1 freezer.state, v2 cgroup.freeze); waits until done.
  Status freeze(bool frozen);
  Result<bool> frozen() const;

  // Every process in the container's cgroup, recursively (v1: the pids or freezer hierarchy;
  // v2: the unified one).
  Result<std::vector<pid_t>> processes() const;

  // Number of OOM kills recorded for the cgroup (memory.oom_control / memory.events), 0 if
  // the memory controller is not in use.
  Result<uint64_t> oom_kill_count() const;

  // Removes the directories (deepest first), retrying briefly while the kernel still reports
  // EBUSY for exiting processes. Missing directories are not an error. Also removes parent
  // directories that create() made and that are now empty.
  Status destroy();

 private:
  Cgroup() = default;
  CgroupHost host_;
  std::string fs_root_;
  std::map<std::string, std::string> paths_;
  // Directories create() made, parents first (including the leaves); destroy() removes the
  // parents among them once empty.
  std::vector<std::string> created_;
};

// Device-cgroup enforcement on cgroup v2: compiles the rules to an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE and attaches it to dir_fd (replacing the container's previous
// program). The program is pure data until loaded, so rules_to_bpf is unit-testable.
struct BpfInsn {
  uint8_t code;
  uint8_t regs;  // dst in low nibble, src in high nibble
  int16_t off;
  int32_t imm;
};
std::vector<BpfInsn> device_rules_to_bpf(const std::vector<DeviceRule>& rules);
Status attach_device_filter(int cgroup_dir_fd, const std::vector<DeviceRule>& rules);

}  // namespace stack::runtime
