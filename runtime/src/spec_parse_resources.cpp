// linux.resources (cgroup limits) and linux.seccomp of config.json (config-linux.md).
#include "spec_internal.h"

namespace stack::runtime::spec_detail {
namespace {

void parse_device_rules(Reader& r, const Json& j, const std::string& path,
                        std::vector<DeviceRule>& out) {
  r.each(j, path, "devices", [&](const Json& e, const std::string& at) {
    DeviceRule rule;
    r.required(e, at, "allow", rule.allow);
    std::string type;
    if (r.field(e, at, "type", type) && !type.empty()) {
      if (type != "a" && type != "c" && type != "b")
        r.fail(join_path(at, "type"), "unknown device type \"" + type + "\" (expected a, c or b)");
      else
        rule.type = type[0];
    }
    r.optional(e, at, "major", rule.major);
    r.optional(e, at, "minor", rule.minor);
    if (r.field(e, at, "access", rule.access) &&
        rule.access.find_first_not_of("rwm") != std::string::npos)
      r.fail(join_path(at, "access"),
             "invalid access \"" + rule.access + "\" (expected a subset of \"rwm\")");
    out.push_back(std::move(rule));
  });
}

// Memory sizes are bytes, with -1 for "unlimited" (config-linux.md, cgroup v1 memory.txt).
void read_memory_value(Reader& r, const Json& j, const std::string& path, const char* key,
                       std::optional<int64_t>& out) {
  int64_t value = 0;
  if (!r.field(j, path, key, value)) return;
  if (value < -1)
    r.fail(join_path(path, key),
           std::to_string(value) + " is out of range (-1 for unlimited, or bytes)");
  else
    out = value;
}

void parse_memory(Reader& r, const Json& j, const std::string& path, MemoryResources& out) {
  read_memory_value(r, j, path, "limit", out.limit);
  read_memory_value(r, j, path, "reservation", out.reservation);
  read_memory_value(r, j, path, "swap", out.swap);
  read_memory_value(r, j, path, "kernel", out.kernel);
  read_memory_value(r, j, path, "kernelTCP", out.kernel_tcp);
  uint64_t swappiness = 0;
  if (r.field(j, path, "swappiness", swappiness)) {
    // memory.swappiness takes 0..100 (cgroup-v1/memory.txt); runc rejects more.
    if (swappiness > 100)
      r.fail(join_path(path, "swappiness"),
             std::to_string(swappiness) + " is out of range (0..100)");
    else
      out.swappiness = swappiness;
  }
  r.optional(j, path, "disableOOMKiller", out.disable_oom_killer);
  r.optional(j, path, "useHierarchy", out.use_hierarchy);
  r.optional(j, path, "checkBeforeUpdate", out.check_before_update);
}

void parse_cpu(Reader& r, const Json& j, const std::string& path, CpuResources& out) {
  r.optional(j, path, "shares", out.shares);
  r.optional(j, path, "quota", out.quota);
  r.optional(j, path, "burst", out.burst);
  r.optional(j, path, "period", out.period);
  r.optional(j, path, "realtimeRuntime", out.realtime_runtime);
  r.optional(j, path, "realtimePeriod", out.realtime_period);
  r.field(j, path, "cpus", out.cpus);
  r.field(j, path, "mems", out.mems);
  r.optional(j, path, "idle", out.idle);
}

void parse_throttle(Reader& r, const Json& j, const std::string& path, const char* key,
                    std::vector<ThrottleDevice>& out) {
  r.each(j, path, key, [&](const Json& e, const std::string& at) {
    ThrottleDevice d;
    bool ok = r.required(e, at, "major", d.major);
    ok = r.required(e, at, "minor", d.minor) && ok;
    ok = r.required(e, at, "rate", d.rate) && ok;
    if (ok) out.push_back(d);
  });
}

void parse_block_io(Reader& r, const Json& j, const std::string& path, BlockIoResources& out) {
  r.optional(j, path, "weight", out.weight);
  r.optional(j, path, "leafWeight", out.leaf_weight);
  r.each(j, path, "weightDevice", [&](const Json& e, const std::string& at) {
    WeightDevice d;
    bool ok = r.required(e, at, "major", d.major);
    ok = r.required(e, at, "minor", d.minor) && ok;
    r.optional(e, at, "weight", d.weight);
    r.optional(e, at, "leafWeight", d.leaf_weight);
    if (ok) out.weight_device.push_back(d);
  });
  parse_throttle(r, j, path, "throttleReadBpsDevice", out.throttle_read_bps);
  parse_throttle(r, j, path, "throttleWriteBpsDevice", out.throttle_write_bps);
  parse_throttle(r, j, path, "throttleReadIOPSDevice", out.throttle_read_iops);
  parse_throttle(r, j, path, "throttleWriteIOPSDevice", out.throttle_write_iops);
}

void parse_network(Reader& r, const Json& j, const std::string& path, NetworkResources& out) {
  r.optional(j, path, "classID", out.class_id);
  r.each(j, path, "priorities", [&](const Json& e, const std::string& at) {
    std::pair<std::string, uint32_t> prio;
    bool ok = r.required(e, at, "name", prio.first);
    ok = r.required(e, at, "priority", prio.second) && ok;
    if (ok) out.priorities.push_back(std::move(prio));
  });
}

}  // namespace

void parse_resources_object(Reader& r, const Json& j, const std::string& path, Resources& out) {
  parse_device_rules(r, j, path, out.devices);
  r.object(j, path, "memory", [&](const Json& o, const std::string& at) {
    parse_memory(r, o, at, out.memory.emplace());
  });
  r.object(j, path, "cpu",
           [&](const Json& o, const std::string& at) { parse_cpu(r, o, at, out.cpu.emplace()); });
  r.object(j, path, "pids", [&](const Json& o, const std::string& at) {
    r.optional(o, at, "limit", out.pids_limit);
  });
  r.object(j, path, "blockIO", [&](const Json& o, const std::string& at) {
    parse_block_io(r, o, at, out.block_io.emplace());
  });
  r.each(j, path, "hugepageLimits", [&](const Json& e, const std::string& at) {
    HugepageLimit h;
    bool ok = r.required(e, at, "pageSize", h.page_size);
    ok = r.required(e, at, "limit", h.limit) && ok;
    if (ok) out.hugepage_limits.push_back(std::move(h));
  });
  r.object(j, path, "network", [&](const Json& o, const std::string& at) {
    parse_network(r, o, at, out.network.emplace());
  });
  r.field(j, path, "unified", out.unified);
}

namespace {

// config-linux.md: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry an errno; with any other action
// an errnoRet is an error.
bool takes_errno(const std::string& action) {
  return action == "SCMP_ACT_ERRNO" || action == "SCMP_ACT_TRACE";
}

void check_action(Reader& r, const std::string& path, const std::string& action) {
  if (!is_seccomp_action(action)) r.fail(path, "unknown action \"" + action + "\"");
}

void parse_seccomp_rule(Reader& r, const Json& e, const std::string& at, SeccompSyscall& rule) {
  const Json* names = Reader::member(e, "names");
  if (names == nullptr || (names->is_array() && names->empty()))
    r.fail(join_path(at, "names"), "must not be empty");
  else
    r.read(*names, join_path(at, "names"), rule.names);
  if (r.required(e, at, "action", rule.action))
    check_action(r, join_path(at, "action"), rule.action);
  if (r.optional(e, at, "errnoRet", rule.errno_ret) && !takes_errno(rule.action))
    r.fail(join_path(at, "errnoRet"), "not allowed with action " + rule.action);
  // The runtime hands the listener fd to its parent with write(2) after loading the filter; a
  // notify on write would block on an agent that has no fd yet (runc and youki refuse it too).
  if (rule.action == "SCMP_ACT_NOTIFY")
    for (const auto& name : rule.names)
      if (name == "write")
        r.fail(join_path(at, "action"), "SCMP_ACT_NOTIFY cannot be used for write");
  r.each(e, at, "args", [&](const Json& a, const std::string& arg_at) {
    SeccompArg arg;
    // seccomp_rule_add(3): argument numbers 0..5.
    if (r.required(a, arg_at, "index", arg.index) && arg.index > 5)
      r.fail(join_path(arg_at, "index"), std::to_string(arg.index) + " is out of range (0..5)");
    r.required(a, arg_at, "value", arg.value);
    r.field(a, arg_at, "valueTwo", arg.value_two);
    if (r.required(a, arg_at, "op", arg.op) && !is_seccomp_operator(arg.op))
      r.fail(join_path(arg_at, "op"), "unknown operator \"" + arg.op + "\"");
    rule.args.push_back(arg);
  });
}

void check_names(Reader& r, const std::string& path, const std::vector<std::string>& names,
                 bool (*known)(const std::string&), const char* what) {
  for (size_t i = 0; i < names.size(); ++i)
    if (!known(names[i]))
      r.fail(index_path(path, i), std::string("unknown ") + what + " \"" + names[i] + "\"");
}

}  // namespace

void parse_seccomp_object(Reader& r, const Json& j, const std::string& path, Seccomp& out) {
  std::string at = join_path(path, "defaultAction");
  if (r.required(j, path, "defaultAction", out.default_action)) {
    check_action(r, at, out.default_action);
    // It would trap the runtime's own syscalls between loading the filter and sending the
    // listener fd, before any agent can answer (runc and youki refuse it too).
    if (out.default_action == "SCMP_ACT_NOTIFY")
      r.fail(at, "SCMP_ACT_NOTIFY cannot be the default action");
  }
  if (r.optional(j, path, "defaultErrnoRet", out.default_errno_ret) &&
      !takes_errno(out.default_action))
    r.fail(join_path(path, "defaultErrnoRet"), "not allowed with action " + out.default_action);
  if (r.field(j, path, "architectures", out.architectures))
    check_names(r, join_path(path, "architectures"), out.architectures, is_seccomp_arch,
                "architecture");
  if (r.field(j, path, "flags", out.flags))
    check_names(r, join_path(path, "flags"), out.flags, is_seccomp_flag, "flag");
  r.field(j, path, "listenerPath", out.listener_path);
  if (r.field(j, path, "listenerMetadata", out.listener_metadata) &&
      !out.listener_metadata.empty() && out.listener_path.empty())
    r.fail(join_path(path, "listenerMetadata"), "requires listenerPath");
  r.each(j, path, "syscalls", [&](const Json& e, const std::string& rule_at) {
    SeccompSyscall rule;
    parse_seccomp_rule(r, e, rule_at, rule);
    out.syscalls.push_back(std::move(rule));
  });
}

}  // namespace stack::runtime::spec_detail
