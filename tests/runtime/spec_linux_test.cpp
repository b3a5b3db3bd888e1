// parse_spec() on the "linux" object: namespaces, ID mappings, time offsets, devices, resources,
// seccomp, propagation, sysctl, personality; and the round trip through spec_to_json().
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "stack/runtime/spec.h"

using namespace stack::runtime;
using Json = nlohmann::json;

namespace {

Json with_linux(const char* linux_json) {
  Json doc = Json::parse(R"({"ociVersion": "1.2.0", "root": {"path": "/rootfs"},
                             "process": {"cwd": "/", "args": ["sh"]}})");
  doc["linux"] = Json::parse(linux_json);
  return doc;
}

std::string error_of(const char* linux_json) {
  auto r = parse_spec(with_linux(linux_json).dump(), "/bundle");
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

Spec parsed(const char* linux_json) {
  auto r = parse_spec(with_linux(linux_json).dump(), "/bundle");
  if (!r.ok()) FAIL(r.error().message);
  return *r;
}

}  // namespace

TEST_CASE("spec linux: namespace types, duplicates and paths", "[runtime][spec]") {
  CHECK(error_of(R"({"namespaces": [{"type": "pid"}, {"type": "net"}, {"type": "foo"},
                                    {"type": "pid"}, {"path": "/proc/1/ns/ipc"},
                                    {"type": "uts", "path": "proc/1/ns/uts"}]})") ==
        "linux.namespaces[1].type: unknown namespace \"net\"\n"
        "linux.namespaces[2].type: unknown namespace \"foo\"\n"
        "linux.namespaces[3].type: duplicate namespace \"pid\"\n"
        "linux.namespaces[4].type: required\n"
        "linux.namespaces[5].path: must be an absolute path");
  Spec s = parsed(R"({"namespaces": [{"type": "pid"}, {"type": "network", "path":
      "/var/run/netns/a"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"},
      {"type": "cgroup"}, {"type": "time"}]})");
  REQUIRE(s.linux.namespaces.size() == 7);
  CHECK(s.find_namespace("network")->path == "/var/run/netns/a");
  CHECK(s.has_namespace("time"));
}

TEST_CASE("spec linux: ID mappings need a user namespace", "[runtime][spec]") {
  CHECK(error_of(R"({"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                     "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]})") ==
        "linux.uidMappings: requires a user namespace in linux.namespaces\n"
        "linux.gidMappings: requires a user namespace in linux.namespaces");
  CHECK(error_of(R"({"namespaces": [{"type": "user"}]})") ==
        "linux.namespaces: a new user namespace needs linux.uidMappings or linux.gidMappings");
  CHECK(error_of(R"({"namespaces": [{"type": "user"}],
                     "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 0},
                                     {"containerID": 0, "hostID": 1000, "size": -3},
                                     {"containerID": 0, "size": 1}],
                     "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 65536}]})") ==
        "linux.uidMappings[0].size: must be a positive integer\n"
        "linux.uidMappings[1].size: must be a positive integer\n"
        "linux.uidMappings[2].hostID: required");
  Spec joined = parsed(R"({"namespaces": [{"type": "user", "path": "/proc/7/ns/user"}]})");
  CHECK(joined.find_namespace("user")->path == "/proc/7/ns/user");
  Spec s = parsed(R"({"namespaces": [{"type": "user"}],
      "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]})");
  REQUIRE(s.linux.uid_mappings.size() == 1);
  CHECK(s.linux.uid_mappings[0].container_id == 0);
  CHECK(s.linux.uid_mappings[0].host_id == 100000);
  CHECK(s.linux.uid_mappings[0].size == 65536);
}

TEST_CASE("spec linux: time offsets need a time namespace", "[runtime][spec]") {
  CHECK(error_of(R"({"timeOffsets": {"monotonic": {"secs": 10}}})") ==
        "linux.timeOffsets: requires a time namespace in linux.namespaces");
  CHECK(error_of(R"({"namespaces": [{"type": "time"}], "timeOffsets": {
      "realtime": {"secs": 1}, "boottime": {"secs": 1, "nanosecs": 1000000000}}})") ==
        "linux.timeOffsets.boottime.nanosecs: must be less than 1000000000\n"
        "linux.timeOffsets.realtime: unknown clock \"realtime\" (expected monotonic or boottime)");
  Spec s = parsed(R"({"namespaces": [{"type": "time"}], "timeOffsets": {
      "monotonic": {"secs": -86400, "nanosecs": 5}}})");
  CHECK(s.linux.time_offsets.at("monotonic").secs == -86400);
  CHECK(s.linux.time_offsets.at("monotonic").nanosecs == 5);
}

TEST_CASE("spec linux: devices", "[runtime][spec]") {
  CHECK(error_of(R"({"devices": [
      {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229},
      {"path": "dev/x", "type": "x", "major": 1, "minor": 1},
      {"path": "/dev/sda", "type": "b", "major": 8},
      {"path": "/dev/fifo", "type": "p"},
      {"type": "u", "major": 1, "minor": 3}]})") ==
        "linux.devices[1].path: must be an absolute path\n"
        "linux.devices[1].type: unknown device type \"x\" (expected c, b, u or p)\n"
        "linux.devices[2].minor: required\n"
        "linux.devices[4].path: required");
  Spec s = parsed(R"({"devices": [
      {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438,
       "uid": 0, "gid": 0}, {"path": "/dev/fifo", "type": "p"}]})");
  REQUIRE(s.linux.devices.size() == 2);
  CHECK(s.linux.devices[0].type == 'c');
  CHECK(s.linux.devices[0].major == 10);
  CHECK(s.linux.devices[0].minor == 229);
  CHECK(s.linux.devices[0].file_mode == std::optional<mode_t>(0666));
  CHECK(s.linux.devices[0].uid == std::optional<uid_t>(0));
  CHECK(s.linux.devices[1].type == 'p');
  CHECK_FALSE(s.linux.devices[1].file_mode);
}

TEST_CASE("spec linux: device cgroup rules", "[runtime][spec]") {
  CHECK(error_of(R"({"resources": {"devices": [
      {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwx"},
      {"allow": true, "type": "p"},
      {"type": "a", "access": "r"}]}})") ==
        "linux.resources.devices[0].access: invalid access \"rwx\" (expected a subset of "
        "\"rwm\")\n"
        "linux.resources.devices[1].type: unknown device type \"p\" (expected a, c or b)\n"
        "linux.resources.devices[2].allow: required");
  Spec s = parsed(R"({"resources": {"devices": [
      {"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 5,
       "access": "mr"}, {"allow": true, "type": "b", "major": 8}]}})");
  const auto& rules = s.linux.resources->devices;
  REQUIRE(rules.size() == 3);
  CHECK(rules[1].allow);
  CHECK(rules[1].type == 'c');
  CHECK(rules[1].major == std::optional<int64_t>(1));
  CHECK(rules[1].minor == std::optional<int64_t>(5));
  CHECK(rules[1].access == "mr");
  CHECK(rules[2].type == 'b');
  CHECK_FALSE(rules[2].minor);
}

TEST_CASE("spec linux: resources map every field", "[runtime][spec]") {
  Spec s = parsed(R"({"resources": {
      "memory": {"limit": 536870912, "reservation": 268435456, "swap": -1, "kernel": -1,
                 "kernelTCP": 1048576, "swappiness": 60, "disableOOMKiller": true,
                 "useHierarchy": false, "checkBeforeUpdate": true},
      "cpu": {"shares": 1024, "quota": -1, "burst": 1000, "period": 100000,
              "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "0-1",
              "mems": "0", "idle": 1},
      "pids": {"limit": 100},
      "blockIO": {"weight": 500, "leafWeight": 300,
                  "weightDevice": [{"major": 8, "minor": 0, "weight": 600}],
                  "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                  "throttleWriteBpsDevice": [{"major": 8, "minor": 16, "rate": 2}],
                  "throttleReadIOPSDevice": [{"major": 8, "minor": 32, "rate": 3}],
                  "throttleWriteIOPSDevice": [{"major": 8, "minor": 48, "rate": 4}]},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
      "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
      "unified": {"memory.high": "1073741824", "io.weight": "default 100"}}})");
  const Resources& r = *s.linux.resources;
  const MemoryResources& m = *r.memory;
  CHECK(m.limit == std::optional<int64_t>(536870912));
  CHECK(m.reservation == std::optional<int64_t>(268435456));
  CHECK(m.swap == std::optional<int64_t>(-1));
  CHECK(m.kernel == std::optional<int64_t>(-1));
  CHECK(m.kernel_tcp == std::optional<int64_t>(1048576));
  CHECK(m.swappiness == std::optional<uint64_t>(60));
  CHECK(m.disable_oom_killer == std::optional<bool>(true));
  CHECK(m.use_hierarchy == std::optional<bool>(false));
  CHECK(m.check_before_update == std::optional<bool>(true));
  const CpuResources& c = *r.cpu;
  CHECK(c.shares == std::optional<uint64_t>(1024));
  CHECK(c.quota == std::optional<int64_t>(-1));
  CHECK(c.burst == std::optional<uint64_t>(1000));
  CHECK(c.period == std::optional<uint64_t>(100000));
  CHECK(c.realtime_runtime == std::optional<int64_t>(950000));
  CHECK(c.realtime_period == std::optional<uint64_t>(1000000));
  CHECK(c.cpus == "0-1");
  CHECK(c.mems == "0");
  CHECK(c.idle == std::optional<int64_t>(1));
  CHECK(r.pids_limit == std::optional<int64_t>(100));
  const BlockIoResources& b = *r.block_io;
  CHECK(b.weight == std::optional<uint16_t>(500));
  CHECK(b.leaf_weight == std::optional<uint16_t>(300));
  REQUIRE(b.weight_device.size() == 1);
  CHECK(b.weight_device[0].major == 8);
  CHECK(b.weight_device[0].weight == std::optional<uint16_t>(600));
  CHECK_FALSE(b.weight_device[0].leaf_weight);
  CHECK(b.throttle_read_bps.at(0).rate == 1048576);
  CHECK(b.throttle_write_bps.at(0).minor == 16);
  CHECK(b.throttle_read_iops.at(0).minor == 32);
  CHECK(b.throttle_write_iops.at(0).rate == 4);
  REQUIRE(r.hugepage_limits.size() == 1);
  CHECK(r.hugepage_limits[0].page_size == "2MB");
  CHECK(r.hugepage_limits[0].limit == 209715200);
  CHECK(r.network->class_id == std::optional<uint32_t>(1048577));
  CHECK(r.network->priorities ==
        std::vector<std::pair<std::string, uint32_t>>{{"eth0", 500}});
  CHECK(r.unified.at("io.weight") == "default 100");
}

TEST_CASE("spec linux: resource value checks", "[runtime][spec]") {
  CHECK(error_of(R"({"resources": {
      "memory": {"limit": -2, "swappiness": 101, "disableOOMKiller": "yes"},
      "blockIO": {"weight": 70000, "throttleReadBpsDevice": [{"major": 8, "minor": 0}]},
      "hugepageLimits": [{"limit": 1}],
      "unified": {"cpu.max": 100000}}})") ==
        "linux.resources.memory.limit: -2 is out of range (-1 for unlimited, or bytes)\n"
        "linux.resources.memory.swappiness: 101 is out of range (0..100)\n"
        "linux.resources.memory.disableOOMKiller: expected a boolean, got string\n"
        "linux.resources.blockIO.weight: 70000 is out of range (0..65535)\n"
        "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required\n"
        "linux.resources.hugepageLimits[0].pageSize: required\n"
        "linux.resources.unified[\"cpu.max\"]: expected a string, got 100000");
}

TEST_CASE("spec linux: seccomp names and rules", "[runtime][spec]") {
  CHECK(error_of(R"({"seccomp": {
      "defaultAction": "SCMP_ACT_DENY", "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AMD64"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NEW_LISTENER"],
      "listenerMetadata": "meta",
      "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1},
        {"names": [], "action": "SCMP_ACT_ERRNO"},
        {"names": ["write", "close"], "action": "SCMP_ACT_NOTIFY"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 6, "value": 8, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 1, "op": "SCMP_CMP_XOR"},
                  {"index": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["mount"]}]}})") ==
        "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_DENY\"\n"
        "linux.seccomp.defaultErrnoRet: not allowed with action SCMP_ACT_DENY\n"
        "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_AMD64\"\n"
        "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_NEW_LISTENER\"\n"
        "linux.seccomp.listenerMetadata: requires listenerPath\n"
        "linux.seccomp.syscalls[0].errnoRet: not allowed with action SCMP_ACT_ALLOW\n"
        "linux.seccomp.syscalls[1].names: must not be empty\n"
        "linux.seccomp.syscalls[2].action: SCMP_ACT_NOTIFY cannot be used for write\n"
        "linux.seccomp.syscalls[3].args[0].index: 6 is out of range (0..5)\n"
        "linux.seccomp.syscalls[3].args[1].op: unknown operator \"SCMP_CMP_XOR\"\n"
        "linux.seccomp.syscalls[3].args[2].value: required\n"
        "linux.seccomp.syscalls[4].action: required");
  CHECK(error_of(R"({"seccomp": {"defaultAction": "SCMP_ACT_NOTIFY"}})") ==
        "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  CHECK(error_of(R"({"seccomp": {}})") == "linux.seccomp.defaultAction: required");

  Spec s = parsed(R"({"seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      "listenerPath": "/run/agent.sock", "listenerMetadata": "m",
      "syscalls": [{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 2114060288, "valueTwo": 0,
                              "op": "SCMP_CMP_MASKED_EQ"}]},
                   {"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 1},
                   {"names": ["ioctl"], "action": "SCMP_ACT_NOTIFY"},
                   {"names": ["kexec_load"], "action": "SCMP_ACT_KILL_PROCESS"}]}})");
  const Seccomp& sc = *s.linux.seccomp;
  CHECK(sc.default_action == "SCMP_ACT_ERRNO");
  CHECK(sc.default_errno_ret == std::optional<unsigned>(38));
  CHECK(sc.architectures.size() == 3);
  CHECK(sc.flags.size() == 3);
  CHECK(sc.listener_path == "/run/agent.sock");
  CHECK(sc.listener_metadata == "m");
  REQUIRE(sc.syscalls.size() == 4);
  CHECK(sc.syscalls[0].names == std::vector<std::string>{"clone"});
  REQUIRE(sc.syscalls[0].args.size() == 1);
  CHECK(sc.syscalls[0].args[0].value == 2114060288u);
  CHECK(sc.syscalls[0].args[0].op == "SCMP_CMP_MASKED_EQ");
  CHECK(sc.syscalls[1].errno_ret == std::optional<unsigned>(1));
  CHECK_FALSE(sc.syscalls[2].errno_ret);
}

TEST_CASE("spec linux: propagation, sysctl, paths, personality", "[runtime][spec]") {
  CHECK(error_of(R"({"rootfsPropagation": "recursive", "sysctl": {"": "1", "a": "2"},
                     "maskedPaths": ["/proc/kcore", "proc/keys"], "readonlyPaths": ["sys"],
                     "personality": {"domain": "LINUX64"}})") ==
        "linux.rootfsPropagation: unknown propagation \"recursive\" (expected private, "
        "rprivate, slave, rslave, shared, rshared, unbindable or runbindable)\n"
        "linux.sysctl: keys must not be empty\n"
        "linux.maskedPaths[1]: must be an absolute path\n"
        "linux.readonlyPaths[0]: must be an absolute path\n"
        "linux.personality.domain: unknown domain \"LINUX64\" (expected LINUX or LINUX32)");
  for (const char* p : {"private", "rprivate", "slave", "rslave", "shared", "rshared",
                        "unbindable", "runbindable"}) {
    Json doc = with_linux("{}");
    doc["linux"]["rootfsPropagation"] = p;
    CHECK(parse_spec(doc.dump(), "/b").ok());
  }
  Spec s = parsed(R"({"sysctl": {"net.ipv4.ip_forward": "1"}, "cgroupsPath": "/stack/web",
                      "mountLabel": "system_u:object_r:container_file_t:s0",
                      "personality": {"domain": "LINUX32", "flags": []}})");
  CHECK(s.linux.sysctl.at("net.ipv4.ip_forward") == "1");
  CHECK(s.linux.cgroups_path == "/stack/web");
  CHECK(s.linux.mount_label == "system_u:object_r:container_file_t:s0");
  CHECK(s.linux.personality_domain == std::optional<std::string>("LINUX32"));
}

TEST_CASE("spec linux: parse_spec(spec_to_json(s)) gives back s", "[runtime][spec]") {
  // Every field spec.h has, with non-default values; comparing the canonical JSON of both
  // sides compares every field (spec.h declares no operator==).
  const char* kRich = R"({
    "ociVersion": "1.2.0",
    "process": {"terminal": true, "consoleSize": {"height": 1, "width": 2},
      "user": {"uid": 1, "gid": 2, "umask": 63, "additionalGids": [3]},
      "args": ["a", "b"], "env": ["X=1"], "cwd": "/w",
      "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
        "inheritable": ["CAP_KILL"], "permitted": ["CAP_KILL"], "ambient": ["CAP_KILL"]},
      "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 10, "soft": 5}],
      "noNewPrivileges": true, "oomScoreAdj": 0, "apparmorProfile": "p", "selinuxLabel": "l"},
    "root": {"path": "/r", "readonly": true},
    "hostname": "h", "domainname": "d",
    "mounts": [{"destination": "/m", "type": "bind", "source": "/s", "options": ["rbind"]},
               {"destination": "/t", "type": "tmpfs"}],
    "hooks": {"prestart": [{"path": "/p", "args": ["p"], "env": ["E=1"], "timeout": 3}],
      "createRuntime": [{"path": "/cr"}], "createContainer": [{"path": "/cc"}],
      "startContainer": [{"path": "/sc"}], "poststart": [{"path": "/ps"}],
      "poststop": [{"path": "/po"}]},
    "annotations": {"a": "b"},
    "linux": {
      "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
      "gidMappings": [{"containerID": 0, "hostID": 2000, "size": 20}],
      "sysctl": {"kernel.domainname": "x"},
      "resources": {"devices": [{"allow": true, "type": "c", "major": 1, "minor": 3,
                                 "access": "rw"}, {"allow": false, "type": "a"}],
        "memory": {"limit": -1, "reservation": 0, "swap": 1, "kernel": 2, "kernelTCP": 3,
                   "swappiness": 0, "disableOOMKiller": false, "useHierarchy": true,
                   "checkBeforeUpdate": false},
        "cpu": {"shares": 1, "quota": 2, "burst": 3, "period": 4, "realtimeRuntime": 5,
                "realtimePeriod": 6, "cpus": "0", "mems": "1", "idle": 0},
        "pids": {"limit": -1},
        "blockIO": {"weight": 10, "leafWeight": 11,
          "weightDevice": [{"major": 1, "minor": 2, "weight": 3, "leafWeight": 4}],
          "throttleReadBpsDevice": [{"major": 1, "minor": 2, "rate": 3}],
          "throttleWriteBpsDevice": [{"major": 1, "minor": 2, "rate": 4}],
          "throttleReadIOPSDevice": [{"major": 1, "minor": 2, "rate": 5}],
          "throttleWriteIOPSDevice": [{"major": 1, "minor": 2, "rate": 6}]},
        "hugepageLimits": [{"pageSize": "1GB", "limit": 0}],
        "network": {"classID": 7, "priorities": [{"name": "lo", "priority": 1}]},
        "unified": {"pids.max": "5"}},
      "cgroupsPath": "c",
      "namespaces": [{"type": "user"}, {"type": "time"}, {"type": "network", "path": "/n"}],
      "timeOffsets": {"boottime": {"secs": 1, "nanosecs": 2}, "monotonic": {"secs": -3,
                      "nanosecs": 0}},
      "devices": [{"path": "/dev/a", "type": "u", "major": 1, "minor": 2, "fileMode": 420,
                   "uid": 0, "gid": 5}, {"path": "/dev/p", "type": "p"}],
      "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64"], "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "listenerPath": "/l", "listenerMetadata": "md",
        "syscalls": [{"names": ["a", "b"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
                      "args": [{"index": 1, "value": 2, "valueTwo": 3, "op": "SCMP_CMP_NE"}]}]},
      "rootfsPropagation": "rslave", "maskedPaths": ["/m"], "readonlyPaths": ["/r"],
      "mountLabel": "ml", "personality": {"domain": "LINUX"}}
  })";
  auto first = parse_spec(kRich, "/bundle");
  REQUIRE(first.ok());
  std::string text = spec_to_json(*first);
  // Nothing of the input is lost on the way out.
  CHECK(Json::parse(text) == Json::parse(kRich));
  auto second = parse_spec(text, "/elsewhere");
  REQUIRE(second.ok());
  CHECK(spec_to_json(*second) == text);
  CHECK(second->process->rlimits[0].resource == first->process->rlimits[0].resource);
  CHECK(second->linux.devices[1].type == 'p');
  CHECK(second->linux.resources->memory->limit == std::optional<int64_t>(-1));
  CHECK(second->linux.resources->cpu->idle == std::optional<int64_t>(0));

  // An optional object that is present but empty stays present.
  auto empty = parse_spec(with_linux(R"({"resources": {"memory": {}}})").dump(), "/b");
  REQUIRE(empty.ok());
  auto again = parse_spec(spec_to_json(*empty), "/b");
  REQUIRE(again.ok());
  CHECK(again->linux.resources->memory.has_value());
  CHECK_FALSE(again->linux.resources->cpu.has_value());
}
