// Private to engine/src/container: the parts build_container_spec() composes. Each applies one
// family of Compose attributes to a spec that starts as runtime::docker_default_spec(). Errors
// carry the attribute path only ("ulimits.nofile: …"); build_container_spec() prefixes the
// service.
#pragma once

#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/compose/model.h"
#include "stack/engine/container_spec.h"
#include "stack/runtime/defaults.h"
#include "stack/runtime/spec.h"

namespace stack::engine::container_detail {

// security_opt parsed (moby daemon/create.go parseSecurityOpt and its successors).
struct SecurityOptions {
  bool no_new_privileges = false;
  bool seccomp_unconfined = false;
  std::string seccomp_profile;   // a JSON profile file path
  std::string apparmor_profile;  // "" when unconfined or unset
  bool systempaths_unconfined = false;
  bool writable_cgroups = false;
};
Result<SecurityOptions> parse_security_opt(const std::vector<std::string>& opts);

// Reads a Docker (or OCI) seccomp profile file and converts it to the spec's section for the
// native architecture and the container's capabilities, as moby's profiles/seccomp does; the
// runtime's own parser validates the result.
Result<runtime::Seccomp> load_seccomp_profile(const std::string& path,
                                              const std::vector<std::string>& caps);

// process: args, env, cwd, user, terminal, rlimits, oom_score_adj.
Status apply_process(const compose::Service& svc, const image::ImageConfig& image,
                     const ContainerContext& ctx, runtime::Spec& spec);

// ulimits → process.rlimits.
Result<std::vector<runtime::Rlimit>> ulimits_to_rlimits(
    const std::map<std::string, compose::Ulimit>& ulimits);

// linux.resources (memory, cpu, pids, blkio) and devices / device rules.
Status apply_resources(const compose::Service& svc, const ContainerContext& ctx,
                       runtime::Spec& spec);
Status apply_devices(const compose::Service& svc, const ContainerContext& ctx,
                     runtime::Spec& spec);

// Mounts: volumes, tmpfs, secrets, configs, /etc files, /dev/shm size and ipc host.
Status apply_mounts(const compose::Service& svc, const ContainerContext& ctx, runtime::Spec& spec);

// Docker's tmpfs option merge: defaults first, later options win (size=, mode=) and a flag
// cancels its opposite (exec cancels noexec, rw cancels ro, …).
std::vector<std::string> merge_tmpfs_options(const std::vector<std::string>& options);

// The lookup to use: ctx.lookup_device or stat_host_device.
Result<HostDevice> lookup_device(const ContainerContext& ctx, const std::string& path);

}  // namespace stack::engine::container_detail
