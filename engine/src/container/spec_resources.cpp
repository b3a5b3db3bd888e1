// linux.resources (memory, cpu, pids, block I/O) and devices, with Docker's checks (moby
// daemon/daemon_unix.go verifyPlatformContainerResources) and compose v2's mapping of
// deploy.resources (create.go setLimits/setReservations: a deploy limit, when set, replaces the
// legacy key; only the memory reservation is mapped, cpu reservations are a Swarm notion).
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <charconv>
#include <cmath>
#include <string>

#include "container/spec_internal.h"

namespace stack::engine {

Result<HostDevice> stat_host_device(const std::string& host_path) {
  struct stat st {};
  if (::stat(host_path.c_str(), &st) != 0) return errno_error("device " + host_path);
  HostDevice d;
  if (S_ISCHR(st.st_mode)) {
    d.type = 'c';
  } else if (S_ISBLK(st.st_mode)) {
    d.type = 'b';
  } else {
    return Error(ENODEV, "device " + host_path + ": not a character or block device");
  }
  d.major = major(st.st_rdev);
  d.minor = minor(st.st_rdev);
  d.mode = st.st_mode & 07777;
  d.uid = st.st_uid;
  d.gid = st.st_gid;
  return d;
}

namespace container_detail {
namespace {

constexpr int64_t kMinMemory = 6 * 1024 * 1024;  // moby's linuxMinMemory
constexpr uint64_t kCfsPeriodUs = 100000;       // the kernel's default CFS period

Status check_memory(const compose::Service& svc, int64_t limit, int64_t reservation) {
  if (limit != 0 && limit < kMinMemory) return Error(EINVAL, "mem_limit: minimum is 6MB");
  if (limit > 0 && reservation > limit)
    return Error(EINVAL, "mem_reservation: must be below mem_limit");
  if (svc.memswap_limit > 0 && limit == 0)
    return Error(EINVAL, "memswap_limit: needs mem_limit");
  if (svc.memswap_limit > 0 && svc.memswap_limit < limit)
    return Error(EINVAL, "memswap_limit: must be at least mem_limit (it counts memory + swap)");
  return {};
}

Status apply_memory(const compose::Service& svc, runtime::Resources& res) {
  int64_t limit = svc.mem_limit;
  int64_t reservation = svc.mem_reservation;
  if (svc.deploy && svc.deploy->limits && svc.deploy->limits->memory != 0)
    limit = svc.deploy->limits->memory;
  if (svc.deploy && svc.deploy->reservations && svc.deploy->reservations->memory != 0)
    reservation = svc.deploy->reservations->memory;
  STACK_TRY_VOID(check_memory(svc, limit, reservation));
  runtime::MemoryResources mem;
  bool any = false;
  auto set = [&any](auto& field, auto value) {
    field = value;
    any = true;
  };
  if (limit > 0) set(mem.limit, limit);
  if (reservation > 0) set(mem.reservation, reservation);
  // memswap_limit is memory + swap; -1 means unlimited swap. Docker's "twice the limit" default
  // needs to know whether the host accounts swap, which this pure builder does not ask.
  if (svc.memswap_limit != 0) set(mem.swap, svc.memswap_limit);
  if (svc.mem_swappiness && *svc.mem_swappiness != -1) {
    if (*svc.mem_swappiness < 0 || *svc.mem_swappiness > 100)
      return Error(EINVAL, "mem_swappiness: must be between 0 and 100");
    set(mem.swappiness, static_cast<uint64_t>(*svc.mem_swappiness));
  }
  if (svc.oom_kill_disable) set(mem.disable_oom_killer, true);
  if (any) res.memory = mem;
  return {};
}

Status apply_cpu(const compose::Service& svc, runtime::Resources& res) {
  double cpus = svc.cpus;
  const auto& limits = svc.deploy ? svc.deploy->limits : std::nullopt;
  if (limits && limits->cpus && *limits->cpus != 0) cpus = *limits->cpus;
  if (cpus < 0) return Error(EINVAL, "cpus: must be positive");
  if (cpus > 0 && (svc.cpu_period != 0 || svc.cpu_quota != 0))
    return Error(EINVAL, "cpus: conflicts with cpu_period and cpu_quota (set one or the other)");
  if (svc.cpu_quota != 0 && svc.cpu_quota != -1 && svc.cpu_quota < 1000)
    return Error(EINVAL, "cpu_quota: minimum is 1000 (1ms)");
  if (svc.cpu_period != 0 && (svc.cpu_period < 1000 || svc.cpu_period > 1000000))
    return Error(EINVAL, "cpu_period: must be between 1000 and 1000000 (1ms to 1s)");
  if (svc.cpu_shares < 0) return Error(EINVAL, "cpu_shares: must be positive");
  runtime::CpuResources cpu;
  bool any = false;
  if (cpus > 0) {
    // moby: quota = NanoCPUs * period / 1e9 with the default period.
    cpu.period = kCfsPeriodUs;
    cpu.quota = static_cast<int64_t>(std::llround(cpus * 1e9) * int64_t{kCfsPeriodUs} / 1000000000);
    any = true;
  }
  if (svc.cpu_period != 0) cpu.period = static_cast<uint64_t>(svc.cpu_period), any = true;
  if (svc.cpu_quota != 0) cpu.quota = svc.cpu_quota, any = true;
  if (svc.cpu_shares != 0) cpu.shares = static_cast<uint64_t>(svc.cpu_shares), any = true;
  if (svc.cpu_rt_period != 0) cpu.realtime_period = uint64_t(svc.cpu_rt_period), any = true;
  if (svc.cpu_rt_runtime != 0) cpu.realtime_runtime = svc.cpu_rt_runtime, any = true;
  if (!svc.cpuset.empty()) cpu.cpus = svc.cpuset, any = true;
  if (any) res.cpu = cpu;
  return {};
}

Status apply_blkio(const compose::Service& svc, const ContainerContext& ctx,
                   runtime::Resources& res) {
  if (!svc.blkio_config) return {};
  const compose::BlkioConfig& b = *svc.blkio_config;
  auto weight_ok = [](uint16_t w) { return w == 0 || (w >= 10 && w <= 1000); };
  if (!weight_ok(b.weight)) return Error(EINVAL, "blkio_config.weight: must be 10 to 1000");
  runtime::BlockIoResources io;
  if (b.weight != 0) io.weight = b.weight;
  for (const auto& wd : b.weight_device) {
    if (!weight_ok(wd.weight) || wd.weight == 0)
      return Error(EINVAL, "blkio_config.weight_device " + wd.path + ": weight must be 10 to 1000");
    auto dev = lookup_device(ctx, wd.path);
    if (!dev.ok()) return std::move(dev).error().wrap("blkio_config.weight_device");
    io.weight_device.push_back(runtime::WeightDevice{dev->major, dev->minor, wd.weight, {}});
  }
  auto throttles = [&](const std::vector<compose::BlkioLimit>& in, const char* field,
                       std::vector<runtime::ThrottleDevice>& out) -> Status {
    for (const auto& l : in) {
      auto dev = lookup_device(ctx, l.path);
      if (!dev.ok()) return std::move(dev).error().wrap(std::string("blkio_config.") + field);
      out.push_back(runtime::ThrottleDevice{dev->major, dev->minor, l.rate});
    }
    return {};
  };
  STACK_TRY_VOID(throttles(b.device_read_bps, "device_read_bps", io.throttle_read_bps));
  STACK_TRY_VOID(throttles(b.device_write_bps, "device_write_bps", io.throttle_write_bps));
  STACK_TRY_VOID(throttles(b.device_read_iops, "device_read_iops", io.throttle_read_iops));
  STACK_TRY_VOID(throttles(b.device_write_iops, "device_write_iops", io.throttle_write_iops));
  res.block_io = std::move(io);
  return {};
}

bool valid_access(const std::string& access) {
  if (access.empty() || access.size() > 3) return false;
  for (char c : access)
    if (c != 'r' && c != 'w' && c != 'm') return false;
  return true;
}

// "*" or a device number.
bool parse_device_number(const std::string& text, std::optional<int64_t>& out) {
  if (text == "*") return true;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < 0) return false;
  out = v;
  return true;
}

// Docker's device_cgroup_rules syntax: "<a|b|c> <major|*>:<minor|*> <rwm>".
Result<runtime::DeviceRule> parse_device_rule(const std::string& rule) {
  const Error bad(EINVAL, "device_cgroup_rules: \"" + rule +
                              "\": expected \"<a|b|c> <major|*>:<minor|*> <r|w|m…>\"");
  const auto sp1 = rule.find(' ');
  const auto sp2 = sp1 == std::string::npos ? sp1 : rule.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || sp1 != 1) return bad;
  runtime::DeviceRule r;
  r.allow = true;
  r.type = rule[0];
  if (r.type != 'a' && r.type != 'b' && r.type != 'c') return bad;
  const std::string numbers = rule.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto colon = numbers.find(':');
  if (colon == std::string::npos || !parse_device_number(numbers.substr(0, colon), r.major) ||
      !parse_device_number(numbers.substr(colon + 1), r.minor))
    return bad;
  r.access = rule.substr(sp2 + 1);
  if (!valid_access(r.access)) return bad;
  return r;
}

}  // namespace

Result<HostDevice> lookup_device(const ContainerContext& ctx, const std::string& path) {
  return ctx.lookup_device ? ctx.lookup_device(path) : stat_host_device(path);
}

Status apply_resources(const compose::Service& svc, const ContainerContext& ctx,
                       runtime::Spec& spec) {
  if (!spec.linux.resources) spec.linux.resources.emplace();
  runtime::Resources& res = *spec.linux.resources;
  STACK_TRY_VOID(apply_memory(svc, res));
  STACK_TRY_VOID(apply_cpu(svc, res));
  std::optional<int64_t> pids = svc.pids_limit;
  if (svc.deploy && svc.deploy->limits && svc.deploy->limits->pids &&
      *svc.deploy->limits->pids != 0)
    pids = svc.deploy->limits->pids;
  // Zero and negative values mean unlimited in Docker: leave the cgroup's default.
  if (pids && *pids > 0) res.pids_limit = *pids;
  return apply_blkio(svc, ctx, res);
}

Status apply_devices(const compose::Service& svc, const ContainerContext& ctx,
                     runtime::Spec& spec) {
  if (!spec.linux.resources) spec.linux.resources.emplace();
  for (const auto& d : svc.devices) {
    const std::string at = "devices: " + d.source;
    const std::string target = d.target.empty() ? d.source : d.target;
    const std::string access = d.permissions.empty() ? "rwm" : d.permissions;
    if (!valid_access(access))
      return Error(EINVAL, at + ": permissions \"" + access + "\" must be a subset of rwm");
    if (target.empty() || target.front() != '/')
      return Error(EINVAL, at + ": container path \"" + target + "\" must be absolute");
    auto host = lookup_device(ctx, d.source);
    if (!host.ok()) return std::move(host).error().wrap("devices");
    spec.linux.devices.push_back(
        runtime::Device{target, host->type, host->major, host->minor, host->mode, host->uid,
                        host->gid});
    spec.linux.resources->devices.push_back(
        runtime::DeviceRule{true, host->type, host->major, host->minor, access});
  }
  for (const auto& rule : svc.device_cgroup_rules) {
    STACK_TRY(auto r, parse_device_rule(rule));
    spec.linux.resources->devices.push_back(std::move(r));
  }
  return {};
}

}  // namespace container_detail
}  // namespace stack::engine
