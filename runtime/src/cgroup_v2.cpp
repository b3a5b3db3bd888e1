// Resource writers for the unified hierarchy (Documentation/admin-guide/cgroup-v2.rst) and the
// conversions from the v1-shaped values OCI specifies, following runc so that a bundle gets the
// same limits under either runtime.
#include <algorithm>
#include <sstream>

#include "cgroup_internal.h"
#include "stack/common/log.h"

namespace stack::runtime::cgroup_detail {
namespace {

const std::string kMem = "linux.resources.memory.";
const std::string kCpu = "linux.resources.cpu.";
const std::string kBlkio = "linux.resources.blockIO.";

std::string dev(int64_t major, int64_t minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

// Fields v2 has no file for. runc ignores them there, and "must run any bundle runc runs"
// outweighs refusing them; say so once per apply.
void warn_ignored_memory_fields(const MemoryResources& m) {
  if (m.swappiness) log::warn(kMem + "swappiness: ignored on cgroup v2 (no memory.swappiness)");
  if (m.disable_oom_killer.value_or(false)) {
    log::warn(kMem + "disableOOMKiller: ignored on cgroup v2 (no oom_control)");
  }
  if (m.kernel_tcp)
    log::warn(kMem + "kernelTCP: ignored on cgroup v2 (socket memory is in memory.max)");
}

}  // namespace

uint64_t shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  if (weight < 10) weight = 10;
  if (weight > 1000) weight = 1000;
  return 1 + (weight - 10) * 9999 / 990;
}

Result<int64_t> swap_to_v2(int64_t swap, int64_t limit) {
  // Unlimited memory with swap left out: unlimited swap too, as v1 did.
  if (limit == -1 && swap == 0) return int64_t{-1};
  if (swap == -1 || swap == 0) return swap;
  if (limit == 0 || limit == -1) {
    return Error(EINVAL, kMem + "swap: a swap limit needs a memory limit (memory.limit)");
  }
  if (swap < limit) {
    return Error(EINVAL, kMem + "swap: memory+swap (" + std::to_string(swap) +
                             ") must not be below memory.limit (" + std::to_string(limit) + ")");
  }
  return swap - limit;
}

std::string limit_string(int64_t value, bool zero_is_max) {
  if (value < 0 || (zero_is_max && value == 0)) return "max";
  return std::to_string(value);
}

Status apply_memory_v2(const std::string& dir, const MemoryResources& m) {
  STACK_TRY_VOID(check_memory_usage(dir, "memory.current", m));
  warn_ignored_memory_fields(m);
  int64_t limit = m.limit.value_or(0);
  STACK_TRY(int64_t swap, swap_to_v2(m.swap.value_or(0), limit));
  // v2 checks no file against another, so swap may go first, as runc writes it.
  if (swap != 0) {
    auto st = write_field(dir, "memory.swap.max", limit_string(swap), kMem + "swap");
    // Without swap accounting the file is absent; "unlimited" then holds anyway (runc).
    if (!st && !(st.error().code == ENOENT && swap == -1)) return st;
  }
  if (limit != 0)
    STACK_TRY_VOID(write_field(dir, "memory.max", limit_string(limit), kMem + "limit"));
  if (m.reservation) {
    STACK_TRY_VOID(
        write_field(dir, "memory.low", limit_string(*m.reservation), kMem + "reservation"));
  }
  return {};
}

Status apply_cpu_v2(const std::string& dir, const CpuResources& c) {
  if (c.realtime_period || c.realtime_runtime) {
    return Error(EOPNOTSUPP, kCpu + (c.realtime_period ? "realtimePeriod" : "realtimeRuntime") +
                                 ": cgroup v2 has no realtime CPU bandwidth (cpu.rt_*)");
  }
  if (c.shares && *c.shares != 0) {
    STACK_TRY_VOID(write_field(dir, "cpu.weight", std::to_string(shares_to_weight(*c.shares)),
                               kCpu + "shares"));
  }
  // cpu.max is "$MAX $PERIOD"; a lone "$MAX" keeps the current period.
  if (c.quota || c.period) {
    std::string value = c.quota && *c.quota > 0 ? std::to_string(*c.quota) : "max";
    if (c.period && *c.period != 0) value += " " + std::to_string(*c.period);
    STACK_TRY_VOID(write_field(dir, "cpu.max", value, kCpu + (c.quota ? "quota" : "period")));
  }
  if (c.burst)
    STACK_TRY_VOID(write_field(dir, "cpu.max.burst", std::to_string(*c.burst), kCpu + "burst"));
  if (c.idle) STACK_TRY_VOID(write_field(dir, "cpu.idle", std::to_string(*c.idle), kCpu + "idle"));
  return {};
}

Status apply_io_v2(const std::string& dir, const BlockIoResources& b) {
  // io.bfq.weight takes the blkio range (1..1000) unchanged; io.weight needs the conversion.
  bool bfq = file_exists(dir, "io.bfq.weight");
  const std::string weight_file = bfq ? "io.bfq.weight" : "io.weight";
  auto weight_value = [&](uint64_t w) {
    return std::to_string(bfq ? w : blkio_weight_to_io_weight(w));
  };
  if (b.weight)
    STACK_TRY_VOID(write_field(dir, weight_file, weight_value(*b.weight), kBlkio + "weight"));
  std::vector<std::string> weights;
  for (const auto& wd : b.weight_device) {
    if (wd.weight) weights.push_back(dev(wd.major, wd.minor) + " " + weight_value(*wd.weight));
  }
  if (!weights.empty())
    STACK_TRY_VOID(write_field_lines(dir, weight_file, weights, kBlkio + "weightDevice"));
  // io.max takes "MAJ:MIN key=value" lines; the kernel keeps the keys a line leaves out.
  std::vector<FieldLine> lines;
  const struct {
    const std::vector<ThrottleDevice>* list;
    const char* key;
    const char* field;
  } throttles[] = {{&b.throttle_read_bps, "rbps", "throttleReadBpsDevice"},
                   {&b.throttle_write_bps, "wbps", "throttleWriteBpsDevice"},
                   {&b.throttle_read_iops, "riops", "throttleReadIOPSDevice"},
                   {&b.throttle_write_iops, "wiops", "throttleWriteIOPSDevice"}};
  for (const auto& t : throttles) {
    for (size_t i = 0; i < t.list->size(); ++i) {
      const auto& d = (*t.list)[i];
      lines.push_back({dev(d.major, d.minor) + " " + t.key + "=" + std::to_string(d.rate),
                       kBlkio + t.field + "[" + std::to_string(i) + "]"});
    }
  }
  if (!lines.empty()) STACK_TRY_VOID(write_entries(dir, "io.max", lines));
  return {};
}


Status apply_unified(const std::string& dir, const std::map<std::string, std::string>& files) {
  if (files.empty()) return {};
  auto text = read_file_in(dir, "cgroup.controllers");
  if (!text) return std::move(text).error().wrap("linux.resources.unified");
  std::istringstream words(*text);
  std::vector<std::string> enabled;
  for (std::string w; words >> w;) enabled.push_back(w);
  for (const auto& [file, value] : files) {
    const std::string field = "linux.resources.unified[\"" + file + "\"]";
    auto dot = file.find('.');
    if (file.find('/') != std::string::npos || dot == std::string::npos || dot == 0) {
      return Error(EINVAL, field + ": not a cgroup interface file name");
    }
    std::string controller = file.substr(0, dot);
    if (controller != "cgroup" &&
        std::find(enabled.begin(), enabled.end(), controller) == enabled.end()) {
      return Error(EOPNOTSUPP,
                   field + ": the " + controller + " controller is not enabled in " + dir);
    }
    STACK_TRY_VOID(write_field(dir, file, value, field));
  }
  return {};
}

}  // namespace stack::runtime::cgroup_detail
