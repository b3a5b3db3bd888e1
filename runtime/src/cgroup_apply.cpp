// Cgroup::apply: sends each part of linux.resources to the hierarchy that holds its controller.
// On hybrid hosts a controller lives either in its own v1 hierarchy or in the unified one
// (here: hugetlb), never both, so v1 is looked up first and cgroup2 second.
#include <fcntl.h>

#include <algorithm>

#include "cgroup_internal.h"
#include "stack/common/log.h"
#include "stack/common/unique_fd.h"
#include "stack/runtime/cgroup.h"

namespace stack::runtime {
namespace cgroup_detail {

bool memory_is_set(const MemoryResources& m) {
  return m.limit || m.reservation || m.swap || m.kernel_tcp || m.swappiness ||
         m.disable_oom_killer || m.use_hierarchy;
}

bool cpu_controller_is_set(const CpuResources& c) {
  return c.shares || c.period || c.quota || c.burst || c.realtime_period || c.realtime_runtime ||
         c.idle;
}

bool cpuset_is_set(const CpuResources& c) { return !c.cpus.empty() || !c.mems.empty(); }

bool blkio_is_set(const BlockIoResources& b) {
  return b.weight || b.leaf_weight || !b.weight_device.empty() || !b.throttle_read_bps.empty() ||
         !b.throttle_write_bps.empty() || !b.throttle_read_iops.empty() ||
         !b.throttle_write_iops.empty();
}

}  // namespace cgroup_detail

namespace {

using namespace cgroup_detail;

struct Target {
  bool v1 = false;
  std::string dir;  // empty: the controller is nowhere
};

class Router {
 public:
  Router(const CgroupHost& host, const std::map<std::string, std::string>& paths)
      : host_(host), paths_(paths) {}

  Target find(const std::string& v1_name, const std::string& v2_name) const {
    if (auto it = paths_.find(v1_name); it != paths_.end() && it->first != "unified") {
      return {true, it->second};
    }
    auto u = paths_.find("unified");
    if (u == paths_.end() || v2_name.empty()) return {};
    const auto& c = host_.unified_controllers;
    if (std::find(c.begin(), c.end(), v2_name) == c.end()) return {};
    return {false, u->second};
  }

  std::string unified_dir() const {
    auto u = paths_.find("unified");
    return u == paths_.end() ? std::string() : u->second;
  }

 private:
  const CgroupHost& host_;
  const std::map<std::string, std::string>& paths_;
};

Error not_mounted(const std::string& field, const std::string& controller) {
  return Error(EOPNOTSUPP, field + ": the " + controller +
                               " controller is not mounted on this host (neither a cgroup v1 "
                               "hierarchy nor enabled in cgroup2)");
}

Status apply_memory(const Router& r, const MemoryResources& m) {
  if (m.kernel)
    log::warn(
        "linux.resources.memory.kernel: ignored (kernel memory limits are deprecated; runc ignores "
        "them too)");
  if (!memory_is_set(m)) return {};
  Target t = r.find("memory", "memory");
  if (t.dir.empty()) return not_mounted("linux.resources.memory", "memory");
  return t.v1 ? apply_memory_v1(t.dir, m) : apply_memory_v2(t.dir, m);
}

Status apply_cpu(const Router& r, const CpuResources& c) {
  if (cpu_controller_is_set(c)) {
    Target t = r.find("cpu", "cpu");
    if (t.dir.empty()) return not_mounted("linux.resources.cpu", "cpu");
    STACK_TRY_VOID(t.v1 ? apply_cpu_v1(t.dir, c) : apply_cpu_v2(t.dir, c));
  }
  if (cpuset_is_set(c)) {
    Target t = r.find("cpuset", "cpuset");
    if (t.dir.empty())
      return not_mounted(std::string("linux.resources.cpu.") + (c.cpus.empty() ? "mems" : "cpus"),
                         "cpuset");
    STACK_TRY_VOID(apply_cpuset(t.dir, c));
  }
  return {};
}

Status apply_block_io(const Router& r, const BlockIoResources& b) {
  if (!blkio_is_set(b)) return {};
  Target t = r.find("blkio", "io");
  if (t.dir.empty()) return not_mounted("linux.resources.blockIO", "blkio/io");
  return t.v1 ? apply_blkio_v1(t.dir, b) : apply_io_v2(t.dir, b);
}

Status apply_network(const Router& r, const NetworkResources& n) {
  if (n.class_id) {
    Target t = r.find("net_cls", "");
    if (t.dir.empty()) return not_mounted("linux.resources.network.classID", "net_cls");
    STACK_TRY_VOID(apply_net_cls_v1(t.dir, *n.class_id));
  }
  if (!n.priorities.empty()) {
    Target t = r.find("net_prio", "");
    if (t.dir.empty()) return not_mounted("linux.resources.network.priorities", "net_prio");
    STACK_TRY_VOID(apply_net_prio_v1(t.dir, n.priorities));
  }
  return {};
}

// v1 has the devices controller; cgroup2 enforces device access with an eBPF program attached
// to the directory instead (no controller to enable, cgroup-v2.rst "Device controller").
Status apply_devices(const Router& r, const std::vector<DeviceRule>& rules) {
  if (rules.empty()) return {};
  Target t = r.find("devices", "");
  if (!t.dir.empty()) return apply_devices_v1(t.dir, rules);
  std::string dir = r.unified_dir();
  if (dir.empty()) return not_mounted("linux.resources.devices", "devices");
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error("opening " + dir).wrap("linux.resources.devices");
  auto st = attach_device_filter(fd.get(), rules);
  if (!st) return std::move(st).error().wrap("linux.resources.devices");
  return {};
}

}  // namespace

Status Cgroup::apply(const Resources& resources) {
  Router r(host_, paths_);
  if (resources.memory) STACK_TRY_VOID(apply_memory(r, *resources.memory));
  if (resources.cpu) STACK_TRY_VOID(apply_cpu(r, *resources.cpu));
  if (resources.pids_limit) {
    Target t = r.find("pids", "pids");
    if (t.dir.empty()) return not_mounted("linux.resources.pids.limit", "pids");
    STACK_TRY_VOID(apply_pids(t.dir, *resources.pids_limit));
  }
  if (resources.block_io) STACK_TRY_VOID(apply_block_io(r, *resources.block_io));
  if (!resources.hugepage_limits.empty()) {
    Target t = r.find("hugetlb", "hugetlb");
    if (t.dir.empty()) return not_mounted("linux.resources.hugepageLimits", "hugetlb");
    STACK_TRY_VOID(apply_hugetlb(t.dir, resources.hugepage_limits, t.v1));
  }
  if (resources.network) STACK_TRY_VOID(apply_network(r, *resources.network));
  if (!resources.unified.empty()) {
    std::string dir = r.unified_dir();
    if (dir.empty()) {
      return Error(EOPNOTSUPP, "linux.resources.unified: this host has no cgroup2 hierarchy");
    }
    STACK_TRY_VOID(apply_unified(dir, resources.unified));
  }
  return apply_devices(r, resources.devices);
}

}  // namespace stack::runtime
