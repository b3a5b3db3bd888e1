// spec_to_json() for the "linux" object: same leave-out rules as spec_write.cpp.
#include "spec_internal.h"

namespace stack::runtime::spec_detail {
namespace {

template <class T>
void put_if(OrderedJson& j, const char* key, const std::optional<T>& value) {
  if (value) j[key] = *value;
}

void put_string(OrderedJson& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

void put_strings(OrderedJson& j, const char* key, const std::vector<std::string>& values) {
  if (!values.empty()) j[key] = values;
}

OrderedJson write_id_mappings(const std::vector<IdMapping>& maps) {
  OrderedJson j = OrderedJson::array();
  for (const IdMapping& m : maps)
    j.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
  return j;
}

OrderedJson write_device(const Device& d) {
  OrderedJson j;
  j["path"] = d.path;
  j["type"] = std::string(1, d.type);
  if (d.type != 'p') {
    j["major"] = d.major;
    j["minor"] = d.minor;
  }
  put_if(j, "fileMode", d.file_mode);
  put_if(j, "uid", d.uid);
  put_if(j, "gid", d.gid);
  return j;
}

OrderedJson write_memory(const MemoryResources& m) {
  OrderedJson j = OrderedJson::object();
  put_if(j, "limit", m.limit);
  put_if(j, "reservation", m.reservation);
  put_if(j, "swap", m.swap);
  put_if(j, "kernel", m.kernel);
  put_if(j, "kernelTCP", m.kernel_tcp);
  put_if(j, "swappiness", m.swappiness);
  put_if(j, "disableOOMKiller", m.disable_oom_killer);
  put_if(j, "useHierarchy", m.use_hierarchy);
  put_if(j, "checkBeforeUpdate", m.check_before_update);
  return j;
}

OrderedJson write_cpu(const CpuResources& c) {
  OrderedJson j = OrderedJson::object();
  put_if(j, "shares", c.shares);
  put_if(j, "quota", c.quota);
  put_if(j, "burst", c.burst);
  put_if(j, "period", c.period);
  put_if(j, "realtimeRuntime", c.realtime_runtime);
  put_if(j, "realtimePeriod", c.realtime_period);
  put_string(j, "cpus", c.cpus);
  put_string(j, "mems", c.mems);
  put_if(j, "idle", c.idle);
  return j;
}

void put_throttle(OrderedJson& j, const char* key, const std::vector<ThrottleDevice>& devices) {
  for (const ThrottleDevice& d : devices)
    j[key].push_back({{"major", d.major}, {"minor", d.minor}, {"rate", d.rate}});
}

OrderedJson write_block_io(const BlockIoResources& b) {
  OrderedJson j = OrderedJson::object();
  put_if(j, "weight", b.weight);
  put_if(j, "leafWeight", b.leaf_weight);
  for (const WeightDevice& d : b.weight_device) {
    OrderedJson w = {{"major", d.major}, {"minor", d.minor}};
    put_if(w, "weight", d.weight);
    put_if(w, "leafWeight", d.leaf_weight);
    j["weightDevice"].push_back(std::move(w));
  }
  put_throttle(j, "throttleReadBpsDevice", b.throttle_read_bps);
  put_throttle(j, "throttleWriteBpsDevice", b.throttle_write_bps);
  put_throttle(j, "throttleReadIOPSDevice", b.throttle_read_iops);
  put_throttle(j, "throttleWriteIOPSDevice", b.throttle_write_iops);
  return j;
}

OrderedJson write_network(const NetworkResources& n) {
  OrderedJson j = OrderedJson::object();
  put_if(j, "classID", n.class_id);
  for (const auto& [name, priority] : n.priorities)
    j["priorities"].push_back({{"name", name}, {"priority", priority}});
  return j;
}

}  // namespace

OrderedJson write_resources(const Resources& r) {
  OrderedJson j = OrderedJson::object();
  for (const DeviceRule& rule : r.devices) {
    OrderedJson d = {{"allow", rule.allow}, {"type", std::string(1, rule.type)}};
    put_if(d, "major", rule.major);
    put_if(d, "minor", rule.minor);
    put_string(d, "access", rule.access);
    j["devices"].push_back(std::move(d));
  }
  if (r.memory) j["memory"] = write_memory(*r.memory);
  if (r.cpu) j["cpu"] = write_cpu(*r.cpu);
  if (r.pids_limit) j["pids"] = {{"limit", *r.pids_limit}};
  if (r.block_io) j["blockIO"] = write_block_io(*r.block_io);
  for (const HugepageLimit& h : r.hugepage_limits)
    j["hugepageLimits"].push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
  if (r.network) j["network"] = write_network(*r.network);
  if (!r.unified.empty()) j["unified"] = r.unified;
  return j;
}

OrderedJson write_seccomp(const Seccomp& s) {
  OrderedJson j;
  j["defaultAction"] = s.default_action;
  put_if(j, "defaultErrnoRet", s.default_errno_ret);
  put_strings(j, "architectures", s.architectures);
  put_strings(j, "flags", s.flags);
  put_string(j, "listenerPath", s.listener_path);
  put_string(j, "listenerMetadata", s.listener_metadata);
  for (const SeccompSyscall& rule : s.syscalls) {
    OrderedJson r = {{"names", rule.names}, {"action", rule.action}};
    put_if(r, "errnoRet", rule.errno_ret);
    for (const SeccompArg& a : rule.args) {
      OrderedJson arg = {{"index", a.index}, {"value", a.value}};
      if (a.value_two != 0) arg["valueTwo"] = a.value_two;
      arg["op"] = a.op;
      r["args"].push_back(std::move(arg));
    }
    j["syscalls"].push_back(std::move(r));
  }
  return j;
}

OrderedJson write_linux(const Linux& l) {
  OrderedJson j = OrderedJson::object();
  if (!l.uid_mappings.empty()) j["uidMappings"] = write_id_mappings(l.uid_mappings);
  if (!l.gid_mappings.empty()) j["gidMappings"] = write_id_mappings(l.gid_mappings);
  if (!l.sysctl.empty()) j["sysctl"] = l.sysctl;
  if (l.resources) j["resources"] = write_resources(*l.resources);
  put_string(j, "cgroupsPath", l.cgroups_path);
  for (const Namespace& ns : l.namespaces) {
    OrderedJson n = {{"type", ns.type}};
    put_string(n, "path", ns.path);
    j["namespaces"].push_back(std::move(n));
  }
  for (const auto& [clock, offset] : l.time_offsets)
    j["timeOffsets"][clock] = {{"secs", offset.secs}, {"nanosecs", offset.nanosecs}};
  for (const Device& d : l.devices) j["devices"].push_back(write_device(d));
  if (l.seccomp) j["seccomp"] = write_seccomp(*l.seccomp);
  put_string(j, "rootfsPropagation", l.rootfs_propagation);
  put_strings(j, "maskedPaths", l.masked_paths);
  put_strings(j, "readonlyPaths", l.readonly_paths);
  put_string(j, "mountLabel", l.mount_label);
  if (l.personality_domain) j["personality"] = {{"domain", *l.personality_domain}};
  return j;
}

}  // namespace stack::runtime::spec_detail
