// The container init's plan: everything the child does after clone(), computed in the parent as
// plain data so that the child only walks it and makes system calls (ARCHITECTURE.md §5).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/syscalls.h"
#include "stack/common/unique_fd.h"
#include "stack/runtime/cgroup.h"
#include "stack/runtime/security.h"
#include "stack/runtime/spec.h"

namespace stack::runtime {

// One mount, with its destination relative to the rootfs. Sources of bind mounts are host paths.
struct MountStep {
  std::string source;
  std::string destination;  // absolute inside the container
  std::string type;         // "" for binds
  unsigned long flags = 0;  // without MS_REMOUNT; MS_BIND[|MS_REC] for binds
  std::string data;
  std::vector<unsigned long> propagation;
  uint64_t attr_set = 0, attr_clr = 0;  // recursive attributes, mount_setattr(AT_RECURSIVE)
  bool file_target = false;  // bind of a non-directory: the target is created as a file
  std::string symlink_target;  // not a mount: create destination as a symlink to this
  std::string spec_path;       // "mounts[3]" for errors
};

struct DeviceNode {
  std::string path;  // absolute inside the container
  mode_t mode = 0;   // S_IFCHR/S_IFBLK/S_IFIFO | permissions
  dev_t dev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct NamespaceJoin {
  int nstype = 0;  // CLONE_NEW*
  std::string path;
  UniqueFd fd;  // opened in the parent
};

struct InitPlan {
  // Namespaces: flags to create at clone; existing ones to join (user namespace first).
  int clone_flags = 0;
  int unshare_flags = 0;  // created by the child after joining (set when there are joins)
  std::vector<NamespaceJoin> joins;
  bool needs_id_maps = false;  // a new user namespace whose maps the parent writes
  std::vector<std::pair<std::string, TimeOffset>> time_offsets;

  // Filesystem.
  bool mount_ns = false;
  std::string rootfs;  // absolute host path
  unsigned long root_propagation = 0;  // applied to "/" first (default MS_SLAVE|MS_REC)
  bool no_pivot = false;
  bool readonly_rootfs = false;
  std::vector<MountStep> mounts;
  bool dev_is_tmpfs = false;        // /dev is a fresh mount: create default devices and links
  bool bind_devices = false;        // in a user namespace mknod fails: bind host nodes instead
  std::vector<DeviceNode> devices;  // default devices then spec devices
  std::vector<std::string> masked_paths, readonly_paths;

  // Identity and environment of the container.
  std::optional<std::string> hostname, domainname;
  std::vector<std::pair<std::string, std::string>> sysctl;
  std::optional<unsigned long> personality;  // PER_LINUX / PER_LINUX32

  // The process.
  std::vector<Rlimit> rlimits;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  bool set_groups = true;  // false where setgroups is denied (unprivileged user namespace)
  std::optional<mode_t> umask;
  std::optional<CapabilityMasks> caps;
  bool no_new_privileges = false;
  std::optional<SeccompFilter> seccomp;
  std::optional<int> oom_score_adj;
  bool terminal = false;
  int preserve_fds = 0;  // fds 3 .. 3+n-1 stay open across exec
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::vector<Hook> create_container_hooks, start_container_hooks;
  bool hooks_sync = false;  // stop before pivot_root for the parent's prestart/createRuntime hooks
};

// Builds the plan for a container's init from a validated spec. host and cgroup describe where
// the container's cgroup lives (cgroup mounts bind or mount it). Errors name the spec field.
struct PlanContext {
  const CgroupHost* cgroup_host = nullptr;
  const Cgroup* cgroup = nullptr;
  bool no_pivot = false;
  int preserve_fds = 0;
  std::optional<SeccompFilter> seccomp;
  std::optional<CapabilityMasks> caps;
};
Result<InitPlan> build_init_plan(const Spec& spec, PlanContext ctx);

// The process part of a plan (args, env, cwd, ids, umask, rlimits, no_new_privileges,
// oom_score_adj, terminal); shared by create and exec.
void plan_process(const Process& process, InitPlan& plan);

// The resources to write to the container's cgroup: the spec's, with the device rules extended
// as runc does: mknod of any node, the default devices, ptys and every linux.devices entry are
// allowed after the spec's rules, so a "deny all" rule still leaves a working /dev.
Resources cgroup_resources(const Spec& spec);

// How the child talks to the parent: SOCK_SEQPACKET messages. The child never throws or logs:
// it reports a failing step and errno and exits.
enum class SyncMsg : char {
  kNeedIdMaps = 'm',   // child → parent: write uid_map/gid_map now
  kCreateHooks = 'h',  // child → parent: namespaces exist; run prestart/createRuntime hooks
  kReady = 'r',        // child → parent: set up; waiting for start
  kError = 'e',        // child → parent: "e<errno>\0<message>"
  kSeccompFd = 's',    // child → parent: the seccomp listener fd (SCM_RIGHTS) for listenerPath
  kContinue = 'c',     // parent → child
};

// The I/O the init steps need besides system calls.
struct InitIo {
  int sync_fd = -1;     // to the parent
  int start_fd = -1;    // read one byte: the container was started
  int console_fd = -1;  // console socket (SCM_RIGHTS of the pty master) or -1
  std::string state_json;  // for createContainer/startContainer hooks (sent by the parent)
  std::string exec_path;   // the resolved executable, found before reporting ready
};

// Runs every init step in order and returns the first failure as an Error whose message names
// the step. On success the caller execs (exec_container_process). Steps that only exist in a
// real kernel (reading a sync message, waiting for start) go through io.
Status run_init_steps(const InitPlan& plan, Syscalls& sys, InitIo& io);

// Finds args[0] in the container (PATH from the process environment), as runc does before
// reporting the container created, so that a missing binary fails create, not start.
Result<std::string> find_executable(const InitPlan& plan, Syscalls& sys);

// Replaces the process with the container's process. Returns only on failure.
Error exec_container_process(const InitPlan& plan, const std::string& path);

}  // namespace stack::runtime
