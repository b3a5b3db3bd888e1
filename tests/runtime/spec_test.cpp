// parse_spec()/parse_process()/spec_to_json(): a full runc-style config, top-level, process,
// mount and hook validation, bundle-relative paths, JSON syntax errors and the round trip.
// Linux-section validation is in spec_linux_test.cpp.
#include <catch2/catch.hpp>
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "stack/runtime/spec.h"

using namespace stack::runtime;
using Json = nlohmann::json;

namespace {

// The smallest config parse_spec() accepts.
Json minimal() {
  return Json::parse(R"({"ociVersion": "1.2.0", "root": {"path": "rootfs"},
                         "process": {"cwd": "/", "args": ["sh"]}})");
}

std::string error_of(const Json& doc) {
  auto r = parse_spec(doc.dump(), "/bundle");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == EINVAL);
  return r.error().message;
}

// What `runc spec` writes, plus the process fields it leaves out.
const char* kRuncConfig = R"({
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": true,
    "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 20]},
    "args": ["sh", "-c", "echo hi"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/home/app",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512},
                {"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0}],
    "noNewPrivileges": true,
    "oomScoreAdj": -500,
    "apparmorProfile": "docker-default",
    "selinuxLabel": "system_u:system_r:container_t:s0"
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "domainname": "example.org",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    {"destination": "/data/", "source": "data", "options": ["rbind", "rw"]}
  ],
  "hooks": {
    "prestart": [{"path": "/usr/bin/fix-mounts", "args": ["fix-mounts", "a"], "env": ["K=V"]}],
    "poststop": [{"path": "/usr/sbin/cleanup.sh", "timeout": 10}]
  },
  "annotations": {"com.example.key": "value"},
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/acpi", "/proc/kcore", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/sys"]
  }
})";

}  // namespace

TEST_CASE("spec: a runc-style config.json parses with every value", "[runtime][spec]") {
  auto r = parse_spec(kRuncConfig, "/var/lib/bundles/web");
  REQUIRE(r.ok());
  const Spec& s = *r;
  CHECK(s.oci_version == "1.0.2-dev");
  CHECK(s.root.path == "/var/lib/bundles/web/rootfs");
  CHECK(s.root.readonly);
  CHECK(s.hostname == "runc");
  CHECK(s.domainname == "example.org");
  REQUIRE(s.process);
  const Process& p = *s.process;
  CHECK(p.terminal);
  REQUIRE(p.console_size);
  CHECK(p.console_size->height == 24);
  CHECK(p.console_size->width == 80);
  CHECK(p.user.uid == 1000);
  CHECK(p.user.gid == 1000);
  CHECK(p.user.umask == std::optional<mode_t>(022));
  CHECK(p.user.additional_gids == std::vector<gid_t>{5, 20});
  CHECK(p.args == std::vector<std::string>{"sh", "-c", "echo hi"});
  CHECK(p.env.size() == 2);
  CHECK(p.env[1] == "TERM=xterm");
  CHECK(p.cwd == "/home/app");
  REQUIRE(p.capabilities);
  CHECK(p.capabilities->bounding ==
        std::vector<std::string>{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  CHECK(p.capabilities->effective == std::vector<std::string>{"CAP_AUDIT_WRITE", "CAP_KILL"});
  CHECK(p.capabilities->inheritable.empty());
  CHECK(p.capabilities->ambient == std::vector<std::string>{"CAP_NET_BIND_SERVICE"});
  REQUIRE(p.rlimits.size() == 2);
  CHECK(p.rlimits[0].type == "RLIMIT_NOFILE");
  CHECK(p.rlimits[0].resource == RLIMIT_NOFILE);
  CHECK(p.rlimits[0].soft == 512);
  CHECK(p.rlimits[0].hard == 1024);
  CHECK(p.rlimits[1].resource == RLIMIT_CORE);
  CHECK(p.rlimits[1].hard == UINT64_MAX);
  CHECK(p.no_new_privileges);
  CHECK(p.oom_score_adj == std::optional<int>(-500));
  CHECK(p.apparmor_profile == "docker-default");
  CHECK(p.selinux_label == "system_u:system_r:container_t:s0");

  REQUIRE(s.mounts.size() == 5);
  CHECK(s.mounts[0].destination == "/proc");
  CHECK(s.mounts[0].type == "proc");
  CHECK(s.mounts[0].source == "proc");  // not a bind: the source names no file
  CHECK(s.mounts[1].options ==
        std::vector<std::string>{"nosuid", "strictatime", "mode=755", "size=65536k"});
  CHECK(s.mounts[4].destination == "/data");
  CHECK(s.mounts[4].type.empty());
  CHECK(s.mounts[4].source == "/var/lib/bundles/web/data");

  REQUIRE(s.hooks.prestart.size() == 1);
  CHECK(s.hooks.prestart[0].path == "/usr/bin/fix-mounts");
  CHECK(s.hooks.prestart[0].args == std::vector<std::string>{"fix-mounts", "a"});
  CHECK(s.hooks.prestart[0].env == std::vector<std::string>{"K=V"});
  CHECK_FALSE(s.hooks.prestart[0].timeout_s);
  REQUIRE(s.hooks.poststop.size() == 1);
  CHECK(s.hooks.poststop[0].timeout_s == std::optional<int>(10));
  CHECK(s.hooks.create_runtime.empty());
  CHECK(s.annotations == std::map<std::string, std::string>{{"com.example.key", "value"}});

  REQUIRE(s.linux.namespaces.size() == 6);
  CHECK(s.linux.namespaces[5].type == "cgroup");
  CHECK(s.has_namespace("network"));
  CHECK_FALSE(s.has_namespace("user"));
  REQUIRE(s.linux.resources);
  REQUIRE(s.linux.resources->devices.size() == 1);
  CHECK_FALSE(s.linux.resources->devices[0].allow);
  CHECK(s.linux.resources->devices[0].type == 'a');
  CHECK_FALSE(s.linux.resources->devices[0].major);
  CHECK(s.linux.resources->devices[0].access == "rwm");
  CHECK_FALSE(s.linux.resources->memory);
  CHECK(s.linux.masked_paths ==
        std::vector<std::string>{"/proc/acpi", "/proc/kcore", "/sys/firmware"});
  CHECK(s.linux.readonly_paths == std::vector<std::string>{"/proc/bus", "/proc/sys"});
  CHECK_FALSE(s.linux.seccomp);
}

TEST_CASE("spec: unknown fields are ignored and null counts as absent", "[runtime][spec]") {
  Json doc = minimal();
  doc["vm"] = {{"hypervisor", {{"path", "/usr/bin/qemu"}}}};
  doc["process"]["scheduler"] = {{"policy", "SCHED_OTHER"}};
  doc["process"]["user"] = {{"uid", 1}, {"gid", 2}, {"username", "windows-only"}};
  doc["linux"] = {{"intelRdt", {{"closID", "x"}}}, {"futureThing", 1}, {"mountLabel", nullptr}};
  doc["hostname"] = nullptr;
  auto r = parse_spec(doc.dump(), "/bundle");
  REQUIRE(r.ok());
  CHECK(r->process->user.uid == 1);
  CHECK(r->process->user.gid == 2);
  CHECK(r->hostname.empty());
  CHECK(r->linux.mount_label.empty());
}

TEST_CASE("spec: root.path and bind sources resolve against the bundle", "[runtime][spec]") {
  Json doc = minimal();
  doc["root"]["path"] = "./layers/../rootfs/";
  doc["mounts"] = Json::parse(R"([
    {"destination": "/a", "type": "bind", "source": "vol/a"},
    {"destination": "/b", "source": "../../../../etc", "options": ["bind", "ro"]},
    {"destination": "/c", "source": "/srv//c/./d/..", "options": ["rbind"]},
    {"destination": "/d", "type": "tmpfs", "source": "tmpfs"},
    {"destination": "/e/../f/", "type": "none", "source": "rel", "options": ["rbind"]}])");
  auto r = parse_spec(doc.dump(), "/run/bundle");
  REQUIRE(r.ok());
  CHECK(r->root.path == "/run/bundle/rootfs");
  CHECK(r->mounts[0].source == "/run/bundle/vol/a");
  CHECK(r->mounts[1].source == "/etc");  // ".." stops at "/"
  CHECK(r->mounts[2].source == "/srv/c");
  CHECK(r->mounts[3].source == "tmpfs");
  CHECK(r->mounts[4].source == "/run/bundle/rel");
  CHECK(r->mounts[4].destination == "/f");

  doc["root"]["path"] = "/../../abs/rootfs";
  r = parse_spec(doc.dump(), "/run/bundle");
  REQUIRE(r.ok());
  CHECK(r->root.path == "/abs/rootfs");
}

TEST_CASE("spec: JSON syntax errors give line and column", "[runtime][spec]") {
  auto r = parse_spec("{\n  \"ociVersion\": \"1.2.0\",\n  \"root\": tru\n}", "/b");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "config.json: invalid JSON at line 3, column 14: syntax error while parsing value - "
        "invalid literal; last read: '\"root\": tru<U+000A>'");
  r = parse_spec("", "/b");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.rfind("config.json: invalid JSON at line 1, column 1: ", 0) == 0);
  r = parse_spec("[1]", "/b");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "config.json: expected an object, got array");
}

TEST_CASE("spec: required top-level fields", "[runtime][spec]") {
  CHECK(error_of(Json::object()) == "ociVersion: required\nroot: required");
  Json doc = minimal();
  doc["root"] = {{"readonly", true}};
  doc["ociVersion"] = "";
  CHECK(error_of(doc) == "ociVersion: must not be empty\nroot.path: required");
  doc = minimal();
  doc["root"]["path"] = "";
  CHECK(error_of(doc) == "root.path: must not be empty");
  doc = minimal();
  doc.erase("process");
  CHECK(parse_spec(doc.dump(), "/b").ok());  // create checks for process, not the parser
}

TEST_CASE("spec: wrong JSON types name the path and what was found", "[runtime][spec]") {
  Json doc = minimal();
  doc["process"]["user"] = {{"uid", "0"}, {"gid", -1}};
  doc["process"]["terminal"] = 1;
  doc["process"]["env"] = {"A=1", 2};
  doc["mounts"] = Json::object();
  doc["annotations"] = {{"k", true}};
  doc["linux"] = {{"resources", {{"memory", {{"limit", 1.5}}}}}};
  CHECK(error_of(doc) ==
        "process.terminal: expected a boolean, got 1\n"
        "process.env[1]: expected a string, got 2\n"
        "process.user.uid: expected an unsigned integer, got string\n"
        "process.user.gid: expected an unsigned integer, got -1\n"
        "mounts: expected an array, got object\n"
        "annotations[\"k\"]: expected a string, got boolean\n"
        "linux.resources.memory.limit: expected an integer, got 1.5");
}

TEST_CASE("spec: process validation", "[runtime][spec]") {
  Json doc = minimal();
  doc["process"]["args"] = Json::array();
  doc["process"]["cwd"] = "work";
  doc["process"]["env"] = {"GOOD=1", "BAD", "=x"};
  doc["process"]["oomScoreAdj"] = 1001;
  doc["process"]["user"] = {{"uid", 4294967295u}, {"gid", 4294967296u}, {"umask", 512},
                            {"additionalGids", {1, 4294967295u}}};
  doc["process"]["consoleSize"] = {{"height", 70000}, {"width", 80}};
  doc["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN", "cap_kill", "CHOWN", "CAP_"}}};
  CHECK(error_of(doc) ==
        "process.consoleSize.height: 70000 is out of range (0..65535)\n"
        "process.cwd: must be an absolute path\n"
        "process.env[1]: \"BAD\" is not of the form NAME=VALUE\n"
        "process.env[2]: \"=x\" is not of the form NAME=VALUE\n"
        "process.args: must not be empty\n"
        "process.user.uid: 4294967295 is not a valid ID (setresuid(2) reads it as \"unchanged\")\n"
        "process.user.gid: 4294967296 is out of range (0..4294967295)\n"
        "process.user.umask: 512 is out of range (0..511, 0777)\n"
        "process.user.additionalGids[1]: 4294967295 is not a valid ID (setresuid(2) reads it as "
        "\"unchanged\")\n"
        "process.capabilities.bounding[1]: invalid capability name \"cap_kill\"\n"
        "process.capabilities.bounding[2]: invalid capability name \"CHOWN\"\n"
        "process.capabilities.bounding[3]: invalid capability name \"CAP_\"\n"
        "process.oomScoreAdj: 1001 is out of range (-1000..1000)");

  doc = minimal();
  doc["process"].erase("args");
  doc["process"].erase("cwd");
  doc["process"]["oomScoreAdj"] = -1000;
  CHECK(error_of(doc) == "process.cwd: required\nprocess.args: must not be empty");
}

TEST_CASE("spec: rlimit validation", "[runtime][spec]") {
  Json doc = minimal();
  doc["process"]["rlimits"] = Json::parse(R"([
    {"type": "RLIMIT_FOO", "soft": 1, "hard": 1},
    {"type": "RLIMIT_NPROC", "soft": 10, "hard": 5},
    {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2},
    {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2},
    {"type": "RLIMIT_AS", "soft": 1},
    {"type": "RLIMIT_RTTIME", "soft": -1, "hard": 2}])");
  CHECK(error_of(doc) ==
        "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"\n"
        "process.rlimits[1].soft: 10 exceeds hard limit 5\n"
        "process.rlimits[3].type: duplicate rlimit \"RLIMIT_NOFILE\"\n"
        "process.rlimits[4].hard: required\n"
        "process.rlimits[5].soft: expected an unsigned integer, got -1");
}

TEST_CASE("spec: every RLIMIT name maps to its number", "[runtime][spec]") {
  const std::pair<const char*, int> names[] = {
      {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},       {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},   {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK}};
  Json doc = minimal();
  for (const auto& [name, number] : names)
    doc["process"]["rlimits"].push_back({{"type", name}, {"soft", 1}, {"hard", 1}});
  auto r = parse_spec(doc.dump(), "/b");
  REQUIRE(r.ok());
  REQUIRE(r->process->rlimits.size() == 16);
  for (size_t i = 0; i < 16; ++i) CHECK(r->process->rlimits[i].resource == names[i].second);
}

TEST_CASE("spec: mount and hook validation", "[runtime][spec]") {
  Json doc = minimal();
  doc["mounts"] = Json::parse(R"([
    {"destination": "/ok", "type": "tmpfs"},
    {"destination": "relative", "type": "tmpfs"},
    {"type": "tmpfs"},
    {"destination": "/m", "type": "bind", "source": "/x", "uidMappings": [
      {"containerID": 0, "hostID": 1000, "size": 1}]}])");
  doc["hooks"] = Json::parse(R"({
    "prestart": [{"path": "hook.sh"}],
    "createRuntime": [{"path": "/bin/true", "timeout": 0}],
    "poststart": [{"args": ["x"]}, "not-an-object"]})");
  CHECK(error_of(doc) ==
        "mounts[1].destination: must be an absolute path\n"
        "mounts[2].destination: required\n"
        "mounts[3].uidMappings: idmapped mounts are not supported\n"
        "hooks.prestart[0].path: must be an absolute path\n"
        "hooks.createRuntime[0].timeout: must be greater than zero\n"
        "hooks.poststart[0].path: required\n"
        "hooks.poststart[1]: expected an object, got string");
}

TEST_CASE("spec: parse_process reads a process object alone", "[runtime][spec]") {
  auto r = parse_process(R"({"cwd": "/srv", "args": ["top", "-b"], "env": ["A=b"],
                             "user": {"uid": 7, "gid": 8}, "terminal": false, "unknown": 1})");
  REQUIRE(r.ok());
  CHECK(r->cwd == "/srv");
  CHECK(r->args == std::vector<std::string>{"top", "-b"});
  CHECK(r->user.uid == 7);
  CHECK(r->user.gid == 8);

  r = parse_process(R"({"cwd": "/", "args": []})");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "process.args: must not be empty");
  r = parse_process("{\"cwd\": }");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.rfind("invalid JSON at line 1, column 9: syntax error", 0) == 0);
  r = parse_process("\"x\"");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "process: expected an object, got string");
}

TEST_CASE("spec: spec_to_json writes OCI field names and leaves out what is absent",
          "[runtime][spec]") {
  auto r = parse_spec(minimal().dump(), "/b");
  REQUIRE(r.ok());
  CHECK(spec_to_json(*r) == R"({
  "ociVersion": "1.2.0",
  "process": {
    "user": {
      "uid": 0,
      "gid": 0
    },
    "args": [
      "sh"
    ],
    "cwd": "/"
  },
  "root": {
    "path": "/b/rootfs"
  },
  "linux": {}
}
)");
}
