// Spec → InitPlan, in the parent. Every decision about what the container's init will do is made
// here, where errors can still name the spec field and nothing has been changed yet.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <set>

#include "init_plan.h"
#include "mount_options.h"
#include "plan_internal.h"

namespace stack::runtime {
namespace {

struct NamespaceKind {
  const char* type;
  int flag;
};
constexpr NamespaceKind kNamespaces[] = {
    {"user", CLONE_NEWUSER}, {"pid", CLONE_NEWPID},       {"network", CLONE_NEWNET},
    {"mount", CLONE_NEWNS},  {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

Status plan_namespaces(const Spec& spec, InitPlan& plan) {
  for (size_t i = 0; i < spec.linux.namespaces.size(); ++i) {
    const auto& ns = spec.linux.namespaces[i];
    int flag = 0;
    for (const auto& k : kNamespaces)
      if (ns.type == k.type) flag = k.flag;
    if (flag == 0) return Error("linux.namespaces[" + std::to_string(i) + "].type: unknown namespace \"" + ns.type + "\"");
    if (ns.path.empty()) {
      plan.clone_flags |= flag;
      continue;
    }
    int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return errno_error("linux.namespaces[" + std::to_string(i) + "].path: opening " + ns.path);
    plan.joins.push_back({flag, ns.path, UniqueFd(fd)});
  }
  // The user namespace is joined first so that the other joins happen with its privileges.
  std::stable_sort(plan.joins.begin(), plan.joins.end(), [](const auto& a, const auto& b) {
    return (a.nstype == CLONE_NEWUSER) > (b.nstype == CLONE_NEWUSER);
  });
  plan.needs_id_maps = (plan.clone_flags & CLONE_NEWUSER) != 0;
  plan.mount_ns = spec.has_namespace("mount");
  if (!plan.mount_ns) return Error("linux.namespaces: a mount namespace is required");
  if (!spec.hostname.empty() && !spec.has_namespace("uts"))
    return Error("hostname: setting the hostname needs a uts namespace");
  if (!spec.domainname.empty() && !spec.has_namespace("uts"))
    return Error("domainname: setting the domainname needs a uts namespace");
  for (const auto& [clock, offset] : spec.linux.time_offsets) plan.time_offsets.emplace_back(clock, offset);
  return {};
}

// A sysctl may only be set when the namespace it belongs to is the container's own, as runc
// checks: otherwise it would change the host.
Status check_sysctl(const Spec& spec, const std::string& key) {
  auto in = [&](const char* prefix) { return key.rfind(prefix, 0) == 0; };
  const std::string where = "linux.sysctl." + key;
  if (in("net.")) {
    if (!spec.has_namespace("network")) return Error(where + ": needs a network namespace");
    return {};
  }
  if (key == "kernel.msgmax" || key == "kernel.msgmnb" || key == "kernel.msgmni" ||
      key == "kernel.sem" || key == "kernel.shmall" || key == "kernel.shmmax" ||
      key == "kernel.shmmni" || key == "kernel.shm_rmid_forced" || in("fs.mqueue.")) {
    if (!spec.has_namespace("ipc")) return Error(where + ": needs an ipc namespace");
    return {};
  }
  if (key == "kernel.hostname" || key == "kernel.domainname") {
    if (!spec.has_namespace("uts")) return Error(where + ": needs a uts namespace");
    return {};
  }
  return Error(where + ": not a namespaced sysctl; it would change the host");
}

DeviceNode device_node(const std::string& path, mode_t type, unsigned maj, unsigned min, mode_t perm) {
  DeviceNode d;
  d.path = path;
  d.mode = type | perm;
  d.dev = makedev(maj, min);
  return d;
}

void plan_devices(const Spec& spec, InitPlan& plan) {
  plan.bind_devices = spec.has_namespace("user");
  // The devices every container gets, as runc and Docker create them.
  plan.devices = {
      device_node("/dev/null", S_IFCHR, 1, 3, 0666),    device_node("/dev/zero", S_IFCHR, 1, 5, 0666),
      device_node("/dev/full", S_IFCHR, 1, 7, 0666),    device_node("/dev/random", S_IFCHR, 1, 8, 0666),
      device_node("/dev/urandom", S_IFCHR, 1, 9, 0666), device_node("/dev/tty", S_IFCHR, 5, 0, 0666),
  };
  for (const auto& d : spec.linux.devices) {
    mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
    DeviceNode node = device_node(d.path, type, static_cast<unsigned>(d.major),
                                  static_cast<unsigned>(d.minor), d.file_mode.value_or(0666) & 07777);
    node.uid = d.uid.value_or(0);
    node.gid = d.gid.value_or(0);
    auto same = std::find_if(plan.devices.begin(), plan.devices.end(),
                             [&](const DeviceNode& n) { return n.path == node.path; });
    if (same != plan.devices.end()) *same = node;
    else plan.devices.push_back(node);
  }
}

DeviceRule allow(char type, std::optional<int64_t> major, std::optional<int64_t> minor, const char* access) {
  DeviceRule r;
  r.allow = true;
  r.type = type;
  r.major = major;
  r.minor = minor;
  r.access = access;
  return r;
}

}  // namespace

Resources cgroup_resources(const Spec& spec) {
  Resources r = spec.linux.resources.value_or(Resources{});
  if (r.devices.empty()) return r;
  const std::optional<int64_t> any;
  for (const DeviceRule& d : {allow('c', any, any, "m"), allow('b', any, any, "m"), allow('c', 1, 3, "rwm"),
                              allow('c', 1, 5, "rwm"), allow('c', 1, 7, "rwm"), allow('c', 1, 8, "rwm"),
                              allow('c', 1, 9, "rwm"), allow('c', 5, 0, "rwm"), allow('c', 5, 1, "rwm"),
                              allow('c', 5, 2, "rwm"), allow('c', 136, any, "rwm")})
    r.devices.push_back(d);
  for (const auto& d : spec.linux.devices)
    if (d.type == 'c' || d.type == 'b' || d.type == 'u')
      r.devices.push_back(allow(d.type == 'b' ? 'b' : 'c', d.major, d.minor, "rwm"));
  return r;
}

void plan_process(const Process& p, InitPlan& plan) {
  plan.args = p.args;
  plan.env = p.env;
  plan.cwd = p.cwd;
  plan.uid = p.user.uid;
  plan.gid = p.user.gid;
  plan.additional_gids = p.user.additional_gids;
  plan.umask = p.user.umask;
  plan.rlimits = p.rlimits;
  plan.no_new_privileges = p.no_new_privileges;
  plan.oom_score_adj = p.oom_score_adj;
  plan.terminal = p.terminal;
}

Result<InitPlan> build_init_plan(const Spec& spec, PlanContext ctx) {
  InitPlan plan;
  if (!spec.process) return Error("process: missing; create needs a process to run");
  STACK_TRY_VOID(plan_namespaces(spec, plan));

  plan.rootfs = spec.root.path;
  plan.readonly_rootfs = spec.root.readonly;
  plan.no_pivot = ctx.no_pivot;
  plan.root_propagation = MS_SLAVE | MS_REC;
  if (!spec.linux.rootfs_propagation.empty()) {
    plan.root_propagation = propagation_flags(spec.linux.rootfs_propagation);
    if (plan.root_propagation == 0)
      return Error("linux.rootfsPropagation: unknown propagation \"" + spec.linux.rootfs_propagation + "\"");
  }
  STACK_TRY(plan.mounts, plan_mounts(spec, ctx));
  plan.dev_is_tmpfs = std::none_of(plan.mounts.begin(), plan.mounts.end(), [](const MountStep& m) {
    return m.destination == "/dev" && (m.flags & MS_BIND);
  });
  plan_devices(spec, plan);
  plan.masked_paths = spec.linux.masked_paths;
  plan.readonly_paths = spec.linux.readonly_paths;

  if (!spec.hostname.empty()) plan.hostname = spec.hostname;
  if (!spec.domainname.empty()) plan.domainname = spec.domainname;
  for (const auto& [key, value] : spec.linux.sysctl) {
    STACK_TRY_VOID(check_sysctl(spec, key));
    plan.sysctl.emplace_back(key, value);
  }

  if (spec.linux.personality_domain)
    plan.personality = *spec.linux.personality_domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;

  plan_process(*spec.process, plan);
  plan.caps = ctx.caps;
  plan.seccomp = std::move(ctx.seccomp);
  plan.preserve_fds = ctx.preserve_fds;
  plan.create_container_hooks = spec.hooks.create_container;
  plan.start_container_hooks = spec.hooks.start_container;
  plan.hooks_sync = !spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty() ||
                    !spec.hooks.create_container.empty() || !spec.hooks.start_container.empty();
  return plan;
}

}  // namespace stack::runtime
