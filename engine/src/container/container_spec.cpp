// build_container_spec(): Docker's container defaults adjusted by the service, in the order
// moby's createSpec applies its options. The families live in spec_process.cpp (process),
// spec_resources.cpp (cgroup resources, devices), spec_mounts.cpp (mounts) and
// spec_security.cpp (security_opt, seccomp profiles); this file does identity, namespaces and
// sysctls and puts them together.
#include <algorithm>
#include <string>

#include "container/spec_internal.h"
#include "stack/runtime/defaults.h"

namespace stack::engine {
namespace {

using container_detail::SecurityOptions;

constexpr size_t kMaxHostname = 63;  // one DNS label; sethostname(2) allows 64 with the NUL

void drop_namespace(runtime::Spec& spec, const std::string& type) {
  auto& ns = spec.linux.namespaces;
  ns.erase(std::remove_if(ns.begin(), ns.end(),
                          [&](const runtime::Namespace& n) { return n.type == type; }),
           ns.end());
}

Status join_namespace(runtime::Spec& spec, const ContainerContext& ctx, const std::string& type,
                      const std::string& attr, const std::string& mode) {
  auto it = ctx.join_namespaces.find(type);
  if (it == ctx.join_namespaces.end() || it->second.empty())
    return Error(EINVAL, attr + " \"" + mode + "\": no " + type + " namespace to join");
  for (auto& n : spec.linux.namespaces)
    if (n.type == type) n.path = it->second;
  return {};
}

bool is_join_mode(const std::string& mode) {
  return mode.rfind("container:", 0) == 0 || mode.rfind("service:", 0) == 0;
}

// ipc, pid, network_mode, uts, cgroup and userns_mode (moby WithNamespaces).
Status apply_namespaces(const compose::Service& svc, const ContainerContext& ctx,
                        runtime::Spec& spec) {
  if (svc.ipc == "host") {
    drop_namespace(spec, "ipc");
  } else if (is_join_mode(svc.ipc)) {
    STACK_TRY_VOID(join_namespace(spec, ctx, "ipc", "ipc", svc.ipc));
  } else if (!svc.ipc.empty() && svc.ipc != "private" && svc.ipc != "shareable" &&
             svc.ipc != "none") {
    return Error(EINVAL, "ipc \"" + svc.ipc + "\": unknown mode");
  }
  if (svc.pid == "host") {
    drop_namespace(spec, "pid");
  } else if (is_join_mode(svc.pid)) {
    STACK_TRY_VOID(join_namespace(spec, ctx, "pid", "pid", svc.pid));
  } else if (!svc.pid.empty() && svc.pid != "private") {
    return Error(EINVAL, "pid \"" + svc.pid + "\": unknown mode");
  }
  if (ctx.host_network || svc.network_mode == "host") {
    drop_namespace(spec, "network");
  } else if (is_join_mode(svc.network_mode)) {
    STACK_TRY_VOID(join_namespace(spec, ctx, "network", "network_mode", svc.network_mode));
  } else if (auto it = ctx.join_namespaces.find("network"); it != ctx.join_namespaces.end()) {
    // A namespace the host prepared (bridge endpoints, or none's lone loopback).
    for (auto& n : spec.linux.namespaces)
      if (n.type == "network") n.path = it->second;
  }
  if (svc.uts == "host") {
    if (!svc.hostname.empty() || !svc.domainname.empty())
      return Error(EINVAL, "hostname: cannot be set with uts \"host\"");
    drop_namespace(spec, "uts");
    spec.hostname.clear();
    spec.domainname.clear();
  } else if (!svc.uts.empty()) {
    return Error(EINVAL, "uts \"" + svc.uts + "\": unknown mode");
  }
  if (svc.cgroup == "host") {
    drop_namespace(spec, "cgroup");
  } else if (!svc.cgroup.empty() && svc.cgroup != "private") {
    return Error(EINVAL, "cgroup \"" + svc.cgroup + "\": unknown mode");
  }
  if (!svc.userns_mode.empty() && svc.userns_mode != "host")
    return Error(ENOTSUP, "userns_mode \"" + svc.userns_mode + "\": not supported");
  return {};
}

// Only namespaced sysctls can be set in a container (moby opts.ValidateSysctl), and not those of
// a namespace shared with the host.
Status apply_sysctls(const compose::Service& svc, const ContainerContext& ctx,
                     runtime::Spec& spec) {
  static const char* const kIpc[] = {"kernel.msgmax", "kernel.msgmnb",  "kernel.msgmni",
                                     "kernel.sem",    "kernel.shmall",  "kernel.shmmax",
                                     "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (const auto& [key, value] : svc.sysctls) {
    const std::string at = "sysctls." + key;
    bool ipc = key.rfind("fs.mqueue.", 0) == 0 ||
               std::find(std::begin(kIpc), std::end(kIpc), key) != std::end(kIpc);
    bool net = key.rfind("net.", 0) == 0;
    if (!ipc && !net) return Error(EINVAL, at + ": not a namespaced sysctl");
    if (ipc && svc.ipc == "host") return Error(EINVAL, at + ": not allowed with ipc \"host\"");
    if (net && (ctx.host_network || svc.network_mode == "host"))
      return Error(EINVAL, at + ": not allowed with network_mode \"host\"");
    spec.linux.sysctl[key] = value;
  }
  return {};
}

Status apply_identity(const compose::Service& svc, const ContainerContext& ctx,
                      runtime::Spec& spec) {
  if (svc.hostname.size() > kMaxHostname)
    return Error(EINVAL, "hostname \"" + svc.hostname + "\": longer than 63 characters");
  // Docker names the host after the container id; our containers are known by their name.
  spec.hostname = !svc.hostname.empty() ? svc.hostname
                                        : ctx.container_name.substr(0, kMaxHostname);
  spec.domainname = svc.domainname;
  spec.root.path = ctx.rootfs;
  spec.linux.cgroups_path = ctx.cgroups_path;
  for (const auto& [k, v] : svc.annotations) spec.annotations[k] = v;
  for (const auto& [k, v] : svc.labels) spec.annotations[k] = v;
  for (const auto& [k, v] : ctx.labels) spec.annotations[k] = v;  // identity labels win
  return {};
}

Status apply_security(const compose::Service& svc, const SecurityOptions& sec,
                      const ContainerContext& ctx, runtime::Spec& spec) {
  spec.process->apparmor_profile = sec.apparmor_profile;
  if (sec.systempaths_unconfined) {
    spec.linux.masked_paths.clear();
    spec.linux.readonly_paths.clear();
  }
  if (sec.writable_cgroups)
    for (auto& m : spec.mounts)
      if (m.destination == "/sys/fs/cgroup")
        m.options.erase(std::remove(m.options.begin(), m.options.end(), "ro"), m.options.end());
  // A privileged container runs without seccomp whatever the profile (moby WithSeccomp).
  if (sec.seccomp_profile.empty() || svc.privileged) return {};
  std::string path = sec.seccomp_profile;
  if (path.front() != '/' && !ctx.working_dir.empty()) path = ctx.working_dir + "/" + path;
  const auto& caps = spec.process->capabilities;
  STACK_TRY(spec.linux.seccomp,
            container_detail::load_seccomp_profile(path, caps ? caps->bounding
                                                              : std::vector<std::string>{}));
  return {};
}

Result<runtime::Spec> build(const compose::Service& svc, const image::ImageConfig& image,
                            const ContainerContext& ctx) {
  STACK_TRY(SecurityOptions sec, container_detail::parse_security_opt(svc.security_opt));
  runtime::ContainerDefaults defaults;
  defaults.cap_add = svc.cap_add;
  defaults.cap_drop = svc.cap_drop;
  defaults.privileged = svc.privileged;
  // A profile file replaces Docker's default profile: skip building that one.
  defaults.seccomp_unconfined = sec.seccomp_unconfined || !sec.seccomp_profile.empty();
  defaults.no_new_privileges = sec.no_new_privileges;
  defaults.read_only_rootfs = svc.read_only;
  STACK_TRY(runtime::Spec spec, runtime::docker_default_spec(defaults));
  STACK_TRY_VOID(apply_security(svc, sec, ctx, spec));
  STACK_TRY_VOID(apply_identity(svc, ctx, spec));
  STACK_TRY_VOID(apply_namespaces(svc, ctx, spec));
  STACK_TRY_VOID(apply_sysctls(svc, ctx, spec));
  STACK_TRY_VOID(container_detail::apply_process(svc, image, ctx, spec));
  STACK_TRY_VOID(container_detail::apply_resources(svc, ctx, spec));
  STACK_TRY_VOID(container_detail::apply_devices(svc, ctx, spec));
  STACK_TRY_VOID(container_detail::apply_mounts(svc, ctx, spec));
  return spec;
}

}  // namespace

Result<runtime::Spec> build_container_spec(const compose::Service& service,
                                           const image::ImageConfig& image,
                                           const ContainerContext& ctx) {
  auto spec = build(service, image, ctx);
  if (!spec.ok()) {
    const std::string& name = service.name.empty() ? ctx.service : service.name;
    return std::move(spec).error().wrap("service " + name);
  }
  return spec;
}

}  // namespace stack::engine
