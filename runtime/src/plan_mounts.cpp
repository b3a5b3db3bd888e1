// The spec's mounts → MountSteps. cgroup mounts depend on the host's layout: one cgroup2 mount on
// v2; on v1 and hybrid hosts a tmpfs with one mount per v1 hierarchy, as runc lays it out. Without a
// cgroup namespace the container's own cgroup directories are bind-mounted instead, so the
// container never sees its siblings.
#include <sys/mount.h>
#include <sys/stat.h>

#include <set>

#include "mount_options.h"
#include "stack/common/path.h"
#include "plan_internal.h"

namespace stack::runtime {
namespace {

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The mount options naming a v1 hierarchy: its controllers ("cpu,cpuacct"), or "none,name=x" for
// a named hierarchy without controllers.
std::string mount_data(const CgroupHost& host, const std::string& mount_point) {
  std::string data;
  for (const auto& [controller, point] : host.v1) {
    if (point != mount_point) continue;
    if (!data.empty()) data += ',';
    data += controller;
  }
  if (data.rfind("name=", 0) == 0) data = "none," + data;
  return data;
}

void add_v1_hierarchies(const PlanContext& ctx, const MountStep& base, bool cgroupns,
                        std::vector<MountStep>& out) {
  const CgroupHost& host = *ctx.cgroup_host;
  std::set<std::string> mounted;  // mount points already handled (co-mounted controllers)
  for (const auto& [controller, mount_point] : host.v1) {
    std::string dir = base_name(mount_point);
    if (!mounted.insert(mount_point).second) continue;
    MountStep m = base;
    m.destination = base.destination + "/" + dir;
    if (cgroupns) {
      m.type = "cgroup";
      m.source = "cgroup";
      m.data = mount_data(host, mount_point);
    } else {
      if (!ctx.cgroup) continue;
      auto it = ctx.cgroup->paths().find(controller);
      if (it == ctx.cgroup->paths().end()) continue;
      m.type.clear();
      m.source = it->second;
      m.flags = MS_BIND | MS_REC | (base.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
    }
    out.push_back(m);
  }
  // Co-mounted controllers get a symlink per controller ("cpu" → "cpu,cpuacct"), as on the host.
  for (const auto& [controller, mount_point] : host.v1) {
    std::string dir = base_name(mount_point);
    if (dir == controller || controller.rfind("name=", 0) == 0) continue;
    MountStep link;
    link.destination = base.destination + "/" + controller;
    link.symlink_target = dir;
    link.spec_path = base.spec_path;
    out.push_back(link);
  }
}

Status plan_cgroup_mount(const PlanContext& ctx, bool cgroupns, MountStep base,
                         std::vector<MountStep>& out) {
  if (!ctx.cgroup_host) return Error(base.spec_path + ": cgroup mount without a cgroup host");
  const CgroupHost& host = *ctx.cgroup_host;
  const auto* paths = ctx.cgroup ? &ctx.cgroup->paths() : nullptr;
  auto unified_step = [&](const std::string& destination) -> std::optional<MountStep> {
    MountStep m = base;
    m.destination = destination;
    if (cgroupns) {
      m.type = "cgroup2";
      m.source = "cgroup2";
      m.data.clear();
      return m;
    }
    if (!paths) return std::nullopt;
    auto it = paths->find("unified");
    if (it == paths->end()) return std::nullopt;
    m.type.clear();
    m.source = it->second;
    m.data.clear();
    m.flags = MS_BIND | MS_REC | (base.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
    return m;
  };
  if (host.layout == CgroupLayout::kV2) {
    if (auto m = unified_step(base.destination)) out.push_back(*m);
    return {};
  }
  MountStep tmpfs = base;
  tmpfs.type = "tmpfs";
  tmpfs.source = "tmpfs";
  tmpfs.data = "mode=755";
  tmpfs.flags = (base.flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  tmpfs.propagation.clear();
  out.push_back(tmpfs);
  // On hybrid hosts the cgroup2 mount is left out, as runc does: the container sees its v1
  // hierarchies only (the unified one holds no controller a container could use there).
  add_v1_hierarchies(ctx, base, cgroupns, out);
  if (base.flags & MS_RDONLY) {
    MountStep remount = tmpfs;
    remount.flags = MS_REMOUNT | MS_RDONLY | (tmpfs.flags & ~MS_RDONLY);
    remount.data.clear();
    out.push_back(remount);
  }
  return {};
}

}  // namespace


Result<std::vector<MountStep>> plan_mounts(const Spec& spec, const PlanContext& ctx) {
  std::vector<MountStep> out;
  const bool cgroupns = spec.has_namespace("cgroup");
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const Mount& m = spec.mounts[i];
    const std::string where = "mounts[" + std::to_string(i) + "]";
    MountOptions options = parse_mount_options(m.options);
    if (!options.unsupported.empty())
      return Error(where + ".options: \"" + options.unsupported.front() + "\" is not supported by stack-runtime");
    MountStep step;
    step.spec_path = where;
    step.destination = clean_path(m.destination);
    step.type = m.type;
    step.source = m.source;
    step.flags = options.flags & ~MS_REMOUNT;
    step.data = options.data;
    step.propagation = options.propagation;
    step.attr_set = options.attr_set;
    step.attr_clr = options.attr_clr;
    if (m.type == "bind") step.flags |= MS_BIND;
    if (step.flags & MS_BIND) {
      step.type.clear();
      struct stat st {};
      if (::stat(m.source.c_str(), &st) != 0)
        return errno_error(where + ".source: " + m.source);
      step.file_target = !S_ISDIR(st.st_mode);
      out.push_back(step);
      continue;
    }
    if (m.type == "cgroup" || m.type == "cgroup2") {
      STACK_TRY_VOID(plan_cgroup_mount(ctx, cgroupns, step, out));
      continue;
    }
    if (m.type.empty()) return Error(where + ".type: required for a mount that is not a bind mount");
    out.push_back(step);
  }
  return out;
}

}  // namespace stack::runtime
