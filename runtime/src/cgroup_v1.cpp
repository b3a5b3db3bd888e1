// Resource writers for cgroup v1 hierarchies (Documentation/admin-guide/cgroup-v1/*), with
// runc's orderings where the kernel checks one file against another.
#include <string>

#include "cgroup_internal.h"

namespace stack::runtime::cgroup_detail {
namespace {

const std::string kMem = "linux.resources.memory.";
const std::string kCpu = "linux.resources.cpu.";
const std::string kBlkio = "linux.resources.blockIO.";

std::string dev(int64_t major, int64_t minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

// memory.memsw.limit_in_bytes must stay >= memory.limit_in_bytes at every moment (EINVAL
// otherwise), so raising both writes memsw first and lowering both writes the limit first,
// decided against the current limit as in runc's fs/memory.go setMemoryAndSwap.
Status write_limit_and_swap(const std::string& dir, int64_t limit, int64_t swap) {
  const FieldWrite limit_write{"memory.limit_in_bytes", std::to_string(limit), kMem + "limit"};
  const FieldWrite swap_write{"memory.memsw.limit_in_bytes", std::to_string(swap), kMem + "swap"};
  if (limit == 0 || swap == 0) {
    if (limit != 0)
      STACK_TRY_VOID(write_field(dir, limit_write.file, limit_write.value, limit_write.field));
    if (swap != 0)
      STACK_TRY_VOID(write_field(dir, swap_write.file, swap_write.value, swap_write.field));
    return {};
  }
  auto current = read_file_in(dir, "memory.limit_in_bytes");
  if (!current) return std::move(current).error().wrap(kMem + "limit");
  uint64_t cur = 0;
  try {
    cur = std::stoull(trim(*current));
  } catch (...) {
    cur = 0;  // fake tree or unreadable: treat as "lower than anything", i.e. raising
  }
  bool raising = swap == -1 || cur < static_cast<uint64_t>(swap);
  const FieldWrite& first = raising ? swap_write : limit_write;
  const FieldWrite& second = raising ? limit_write : swap_write;
  STACK_TRY_VOID(write_field(dir, first.file, first.value, first.field));
  return write_field(dir, second.file, second.value, second.field);
}

Status check_usage(const std::string& dir, const std::string& usage_file, int64_t limit) {
  auto text = read_file_in(dir, usage_file);
  if (!text) return std::move(text).error().wrap(kMem + "checkBeforeUpdate");
  uint64_t usage = 0;
  try {
    usage = std::stoull(trim(*text));
  } catch (...) {
    return {};
  }
  if (limit > 0 && usage >= static_cast<uint64_t>(limit)) {
    return Error(EBUSY, kMem + "limit: " + std::to_string(limit) +
                            " is not above the current usage " + std::to_string(usage) + " (" +
                            usage_file + ", checkBeforeUpdate)");
  }
  return {};
}

}  // namespace

Status check_memory_usage(const std::string& dir, const std::string& usage_file,
                          const MemoryResources& m) {
  if (!m.check_before_update.value_or(false) || !m.limit) return {};
  return check_usage(dir, usage_file, *m.limit);
}

Status apply_memory_v1(const std::string& dir, const MemoryResources& m) {
  STACK_TRY_VOID(check_memory_usage(dir, "memory.usage_in_bytes", m));
  // OCI and runc treat 0 as "unset" for limit and swap. Unlimited memory with swap left out
  // means unlimited swap as well (runc), where swap accounting exists.
  int64_t limit = m.limit.value_or(0);
  int64_t swap = m.swap.value_or(0);
  if (limit == -1 && !m.swap && file_exists(dir, "memory.memsw.limit_in_bytes")) swap = -1;
  STACK_TRY_VOID(write_limit_and_swap(dir, limit, swap));
  if (m.reservation) {
    STACK_TRY_VOID(write_field(dir, "memory.soft_limit_in_bytes", std::to_string(*m.reservation),
                               kMem + "reservation"));
  }
  if (m.kernel_tcp) {
    STACK_TRY_VOID(write_field(dir, "memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernel_tcp),
                               kMem + "kernelTCP"));
  }
  if (m.swappiness) {
    STACK_TRY_VOID(
        write_field(dir, "memory.swappiness", std::to_string(*m.swappiness), kMem + "swappiness"));
  }
  if (m.disable_oom_killer) {
    STACK_TRY_VOID(write_field(dir, "memory.oom_control", *m.disable_oom_killer ? "1" : "0",
                               kMem + "disableOOMKiller"));
  }
  // Since Linux 5.x hierarchy accounting is always on: memory.use_hierarchy reads 1 and only
  // accepts 1, so a new cgroup needs nothing, and an explicit false is the kernel's to refuse.
  if (m.use_hierarchy) {
    STACK_TRY_VOID(write_field(dir, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0",
                               kMem + "useHierarchy"));
  }
  return {};
}

Status apply_cpu_v1(const std::string& dir, const CpuResources& c) {
  if (c.shares)
    STACK_TRY_VOID(write_field(dir, "cpu.shares", std::to_string(*c.shares), kCpu + "shares"));
  FieldWrite period{"cpu.cfs_period_us", c.period ? std::to_string(*c.period) : "",
                    kCpu + "period"};
  FieldWrite quota{"cpu.cfs_quota_us", c.quota ? std::to_string(*c.quota) : "", kCpu + "quota"};
  if (c.period && c.quota) {
    STACK_TRY_VOID(write_pair(dir, period, quota));
  } else if (c.period) {
    STACK_TRY_VOID(write_field(dir, period.file, period.value, period.field));
  } else if (c.quota) {
    STACK_TRY_VOID(write_field(dir, quota.file, quota.value, quota.field));
  }
  if (c.burst)
    STACK_TRY_VOID(write_field(dir, "cpu.cfs_burst_us", std::to_string(*c.burst), kCpu + "burst"));
  FieldWrite rt_period{"cpu.rt_period_us",
                       c.realtime_period ? std::to_string(*c.realtime_period) : "",
                       kCpu + "realtimePeriod"};
  FieldWrite rt_runtime{"cpu.rt_runtime_us",
                        c.realtime_runtime ? std::to_string(*c.realtime_runtime) : "",
                        kCpu + "realtimeRuntime"};
  if (c.realtime_period && c.realtime_runtime) {
    STACK_TRY_VOID(write_pair(dir, rt_period, rt_runtime));
  } else if (c.realtime_period) {
    STACK_TRY_VOID(write_field(dir, rt_period.file, rt_period.value, rt_period.field));
  } else if (c.realtime_runtime) {
    STACK_TRY_VOID(write_field(dir, rt_runtime.file, rt_runtime.value, rt_runtime.field));
  }
  if (c.idle) STACK_TRY_VOID(write_field(dir, "cpu.idle", std::to_string(*c.idle), kCpu + "idle"));
  return {};
}

Status apply_cpuset(const std::string& dir, const CpuResources& c) {
  if (!c.cpus.empty()) STACK_TRY_VOID(write_field(dir, "cpuset.cpus", c.cpus, kCpu + "cpus"));
  if (!c.mems.empty()) STACK_TRY_VOID(write_field(dir, "cpuset.mems", c.mems, kCpu + "mems"));
  return {};
}

Status apply_pids(const std::string& dir, int64_t limit) {
  return write_field(dir, "pids.max", limit_string(limit, true), "linux.resources.pids.limit");
}

Status apply_blkio_v1(const std::string& dir, const BlockIoResources& b) {
  // CFQ's blkio.weight is gone since Linux 5.0; BFQ offers blkio.bfq.weight (runc picks the
  // one that exists).
  bool bfq = file_exists(dir, "blkio.bfq.weight");
  const std::string weight_file = bfq ? "blkio.bfq.weight" : "blkio.weight";
  if (b.weight)
    STACK_TRY_VOID(write_field(dir, weight_file, std::to_string(*b.weight), kBlkio + "weight"));
  if (b.leaf_weight) {
    STACK_TRY_VOID(write_field(dir, "blkio.leaf_weight", std::to_string(*b.leaf_weight),
                               kBlkio + "leafWeight"));
  }
  std::vector<std::string> weights, leaf_weights;
  for (const auto& wd : b.weight_device) {
    if (wd.weight) weights.push_back(dev(wd.major, wd.minor) + " " + std::to_string(*wd.weight));
    if (wd.leaf_weight)
      leaf_weights.push_back(dev(wd.major, wd.minor) + " " + std::to_string(*wd.leaf_weight));
  }
  if (!weights.empty()) {
    STACK_TRY_VOID(
        write_field_lines(dir, weight_file + "_device", weights, kBlkio + "weightDevice"));
  }
  if (!leaf_weights.empty()) {
    STACK_TRY_VOID(
        write_field_lines(dir, "blkio.leaf_weight_device", leaf_weights, kBlkio + "weightDevice"));
  }
  const struct {
    const std::vector<ThrottleDevice>* list;
    const char* file;
    const char* field;
  } throttles[] = {
      {&b.throttle_read_bps, "blkio.throttle.read_bps_device", "throttleReadBpsDevice"},
      {&b.throttle_write_bps, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice"},
      {&b.throttle_read_iops, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice"},
      {&b.throttle_write_iops, "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice"}};
  for (const auto& t : throttles) {
    std::vector<FieldLine> lines;
    for (size_t i = 0; i < t.list->size(); ++i) {
      const auto& d = (*t.list)[i];
      lines.push_back({dev(d.major, d.minor) + " " + std::to_string(d.rate),
                       kBlkio + t.field + "[" + std::to_string(i) + "]"});
    }
    if (!lines.empty()) STACK_TRY_VOID(write_entries(dir, t.file, lines));
  }
  return {};
}

Status apply_hugetlb(const std::string& dir, const std::vector<HugepageLimit>& limits, bool v1) {
  // hugetlb.<size>.limit_in_bytes on v1, hugetlb.<size>.max on v2; the value is bytes on both.
  const char* suffix = v1 ? ".limit_in_bytes" : ".max";
  for (size_t i = 0; i < limits.size(); ++i) {
    STACK_TRY_VOID(write_field(dir, "hugetlb." + limits[i].page_size + suffix,
                               std::to_string(limits[i].limit),
                               "linux.resources.hugepageLimits[" + std::to_string(i) + "].limit"));
  }
  return {};
}

std::string device_rule_line(const DeviceRule& rule) {
  // The kernel reads any line starting with 'a' as "all devices" (devcgroup_update_access).
  if (rule.type == 'a') return "a";
  std::string line(1, rule.type);
  line += ' ';
  line += rule.major ? std::to_string(*rule.major) : "*";
  line += ':';
  line += rule.minor ? std::to_string(*rule.minor) : "*";
  line += ' ';
  line += rule.access.empty() ? "rwm" : rule.access;
  return line;
}

// Consecutive rules for the same file go in one open; the order of rules is kept, which is
// what gives "deny all, then allow these" its meaning.
Status apply_devices_v1(const std::string& dir, const std::vector<DeviceRule>& rules) {
  size_t i = 0;
  while (i < rules.size()) {
    std::vector<FieldLine> lines;
    size_t j = i;
    for (; j < rules.size() && rules[j].allow == rules[i].allow; ++j) {
      lines.push_back(
          {device_rule_line(rules[j]), "linux.resources.devices[" + std::to_string(j) + "]"});
    }
    STACK_TRY_VOID(write_entries(dir, rules[i].allow ? "devices.allow" : "devices.deny", lines));
    i = j;
  }
  return {};
}

Status apply_net_cls_v1(const std::string& dir, uint32_t class_id) {
  return write_field(dir, "net_cls.classid", std::to_string(class_id),
                     "linux.resources.network.classID");
}

Status apply_net_prio_v1(const std::string& dir,
                         const std::vector<std::pair<std::string, uint32_t>>& priorities) {
  std::vector<std::string> lines;
  for (const auto& [iface, prio] : priorities) lines.push_back(iface + " " + std::to_string(prio));
  if (lines.empty()) return {};
  return write_field_lines(dir, "net_prio.ifpriomap", lines, "linux.resources.network.priorities");
}

}  // namespace stack::runtime::cgroup_detail
