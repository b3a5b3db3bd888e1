// Default specs: the bundle `stack-runtime spec` writes (runc's default shape), and the
// container defaults Docker applies, which the engine starts from and changes per container
// (cap_add/cap_drop, security_opt seccomp=…, privileged, read_only, …).
#pragma once

#include <string>
#include <vector>

#include "stack/runtime/spec.h"

namespace stack::runtime {

// The spec `stack-runtime spec` writes: `sh` in ./rootfs, terminal on, the namespaces, mounts,
// masked and readonly paths and the capability set runc's `spec` command produces. With
// rootless, a user namespace mapping the calling user, as `runc spec --rootless`.
Spec default_spec(bool rootless = false);

// Docker's 14 default capabilities (CAP_CHOWN, CAP_DAC_OVERRIDE, …).
std::vector<std::string> docker_default_capabilities();

// Docker's default seccomp profile (the allow-list with SCMP_ACT_ERRNO default), for x86_64,
// aarch64 and their compat architectures. caps: the container's effective capabilities, which
// enable extra syscalls exactly as Docker's profile does (CAP_SYS_ADMIN → mount, …).
Seccomp docker_default_seccomp(const std::vector<std::string>& caps);

// Docker's masked and readonly paths.
std::vector<std::string> docker_masked_paths();
std::vector<std::string> docker_readonly_paths();

// Options the engine sets per container on top of Docker's defaults.
struct ContainerDefaults {
  std::vector<std::string> cap_add, cap_drop;  // names, with or without "CAP_"; "ALL" allowed
  bool privileged = false;          // all capabilities, no seccomp, no masked/readonly paths
  bool seccomp_unconfined = false;  // security_opt seccomp=unconfined
  bool no_new_privileges = false;
  bool read_only_rootfs = false;
};

// A container spec with Docker's defaults (mounts /proc /dev /dev/pts /dev/shm /dev/mqueue
// /sys /sys/fs/cgroup, the default devices, capabilities, seccomp, masked and readonly paths,
// new pid/ipc/uts/mount/network/cgroup namespaces) adjusted by options. Errors name unknown
// capabilities.
Result<Spec> docker_default_spec(const ContainerDefaults& options);

}  // namespace stack::runtime
