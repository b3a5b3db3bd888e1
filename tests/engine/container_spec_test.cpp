// The container spec builder: one TEST_CASE per family of Compose attributes, checked on the
// resulting OCI spec's fields, plus a round trip through the runtime's serializer and parser.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "stack/engine/container_spec.h"
#include "stack/runtime/spec.h"

using namespace stack;
using namespace stack::engine;
using Strings = std::vector<std::string>;

namespace {

compose::Service service(const std::string& name = "web") {
  compose::Service s;
  s.name = name;
  s.image = "busybox";
  return s;
}

image::ImageConfig image_with(Strings entrypoint, Strings cmd) {
  image::ImageConfig i;
  i.entrypoint = std::move(entrypoint);
  i.cmd = std::move(cmd);
  return i;
}

ContainerContext context() {
  ContainerContext c;
  c.project = "app";
  c.service = "web";
  c.container_name = "app-web-1";
  c.rootfs = "/var/lib/stack/rootfs/app-web-1";
  c.cgroups_path = "stack/app/app-web-1";
  c.lookup_device = [](const std::string& path) -> Result<HostDevice> {
    if (path == "/dev/sda") return HostDevice{'b', 8, 0, 0660, 0, 6};
    if (path == "/dev/fuse") return HostDevice{'c', 10, 229, 0666, 0, 0};
    return Error(ENOENT, "device " + path + ": No such file or directory");
  };
  return c;
}

runtime::Spec build(const compose::Service& s, const image::ImageConfig& img,
                    const ContainerContext& ctx) {
  auto r = build_container_spec(s, img, ctx);
  if (!r.ok()) FAIL(r.error().to_string());
  return std::move(*r);
}

runtime::Spec build(const compose::Service& s) {
  return build(s, image_with({}, {"sh"}), context());
}

std::string error_of(const compose::Service& s, const ContainerContext& ctx = context(),
                     const image::ImageConfig& img = image_with({}, {"sh"})) {
  auto r = build_container_spec(s, img, ctx);
  REQUIRE_FALSE(r.ok());
  return r.error().to_string();
}

const runtime::Mount* find_mount(const runtime::Spec& spec, const std::string& dest) {
  for (const auto& m : spec.mounts)
    if (m.destination == dest) return &m;
  return nullptr;
}

std::string joined(const Strings& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string env_of(const runtime::Spec& spec) {
  std::string out;
  for (const auto& e : spec.process->env) out += e + "\n";
  return out;
}

const char* const kPasswd = R"(root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www:x:33:33:web server:/var/www:/usr/sbin/nologin
broken line without fields
)";
const char* const kGroup = R"(root:x:0:
daemon:x:1:www
staff:x:50:www,root
www:x:33:
)";

}  // namespace

TEST_CASE("entrypoint and command follow Docker's override rules") {
  using Opt = std::optional<Strings>;
  struct Row {
    Opt entrypoint, command;
    Strings image_entrypoint, image_cmd;
    Strings args;
  };
  const std::vector<Row> rows = {
      // nothing set: the image's entrypoint + cmd
      {{}, {}, {"/init"}, {"serve"}, {"/init", "serve"}},
      // command replaces cmd only
      {{}, Strings{"run", "fast"}, {"/init"}, {"serve"}, {"/init", "run", "fast"}},
      // entrypoint replaces the entrypoint and drops the image's cmd
      {Strings{"/bin/app"}, {}, {"/init"}, {"serve"}, {"/bin/app"}},
      // entrypoint and command both set
      {Strings{"/bin/app"}, Strings{"-v"}, {"/init"}, {"serve"}, {"/bin/app", "-v"}},
      // an empty entrypoint clears the image's, keeping its cmd
      {Strings{}, {}, {"/init"}, {"serve"}, {"serve"}},
      // an empty command clears the image's cmd
      {{}, Strings{}, {"/init"}, {"serve"}, {"/init"}},
      // both cleared: nothing left
      {Strings{}, Strings{}, {"/init"}, {"serve"}, {}},
      // an image with cmd only, command given
      {{}, Strings{"echo", "hi"}, {}, {"sh"}, {"echo", "hi"}},
      // an image with nothing, entrypoint given
      {Strings{"sleep", "1"}, {}, {}, {}, {"sleep", "1"}},
      // entrypoint given to an image with cmd only: the cmd is dropped
      {Strings{"env"}, {}, {}, {"sh"}, {"env"}},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    INFO("row " << i);
    auto s = service();
    s.entrypoint = rows[i].entrypoint;
    s.command = rows[i].command;
    CHECK(effective_command(s, image_with(rows[i].image_entrypoint, rows[i].image_cmd)) ==
          rows[i].args);
  }
  auto s = service();
  s.entrypoint = Strings{};
  s.command = Strings{};
  CHECK(error_of(s) == "service web: no command specified");
  auto ok = service();
  CHECK(build(ok, image_with({"/init"}, {"serve"}), context()).process->args ==
        Strings{"/init", "serve"});
}

TEST_CASE("environment merges image and service, service first and winning") {
  auto s = service();
  s.environment = {{"B", "service"}, {"A", "1"}, {"DROP", std::nullopt}};
  image::ImageConfig img = image_with({}, {"sh"});
  img.env = {"PATH=/opt/bin:/bin", "B=image", "DROP=x", "C=3"};
  CHECK(effective_environment(s, img) == Strings{"A=1", "B=service", "PATH=/opt/bin:/bin", "C=3"});

  // In the spec: Docker's daemon variables first (HOSTNAME, TERM with a tty); the image's PATH
  // keeps Docker's default out.
  s.tty = true;
  CHECK(env_of(build(s, img, context())) == R"(HOSTNAME=app-web-1
TERM=xterm
A=1
B=service
PATH=/opt/bin:/bin
C=3
)");
  // No PATH anywhere: the default; a service HOSTNAME replaces the daemon's in place.
  auto plain = service();
  plain.environment = {{"HOSTNAME", "mine"}};
  CHECK(env_of(build(plain)) == R"(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HOSTNAME=mine
)");
  // HOME comes from the image's /etc/passwd when known.
  auto ctx = context();
  ctx.passwd = kPasswd;
  ctx.group = kGroup;
  auto www = service();
  www.user = "www";
  auto spec = build(www, image_with({}, {"sh"}), ctx);
  CHECK(spec.process->env.back() == "HOME=/var/www");
}

TEST_CASE("user, group and group_add resolve like runc's GetExecUser") {
  auto r = resolve_user("1000:2000", {"10"}, std::nullopt, std::nullopt);
  REQUIRE(r.ok());
  CHECK(r->uid == 1000);
  CHECK(r->gid == 2000);
  CHECK(r->additional_gids == std::vector<gid_t>{10});

  std::string home;
  r = resolve_user("www", {}, kPasswd, kGroup, &home);
  REQUIRE(r.ok());
  CHECK(r->uid == 33);
  CHECK(r->gid == 33);
  CHECK(r->additional_gids == std::vector<gid_t>{1, 50});  // member of daemon and staff
  CHECK(home == "/var/www");

  r = resolve_user("www:staff", {"daemon", "7"}, kPasswd, kGroup);
  REQUIRE(r.ok());
  CHECK(r->gid == 50);
  CHECK(r->additional_gids == std::vector<gid_t>{1, 7});  // explicit group: no implicit ones

  r = resolve_user("", {}, kPasswd, kGroup);  // root, with root's supplementary group
  REQUIRE(r.ok());
  CHECK(r->uid == 0);
  CHECK(r->additional_gids == std::vector<gid_t>{50});

  r = resolve_user("4242", {}, kPasswd, kGroup);  // unknown number: gid 0
  REQUIRE(r.ok());
  CHECK(r->uid == 4242);
  CHECK(r->gid == 0);

  auto s = service();
  s.user = "nobody";
  CHECK(error_of(s) ==
        "service web: user: user \"nobody\": user names need the image's /etc/passwd");
  auto ctx = context();
  ctx.passwd = kPasswd;
  ctx.group = kGroup;
  CHECK(error_of(s, ctx) ==
        "service web: user: user \"nobody\": no such user in the image's /etc/passwd");
  s.user = "1:";
  CHECK(error_of(s) == "service web: user: user \"1:\": expected uid[:gid] or name[:group]");
  s.user = "1";
  s.group_add = {"wheel"};
  CHECK(error_of(s, ctx) ==
        "service web: user: group_add: group \"wheel\": no such group in the image's /etc/group");

  auto ok = service();
  ok.user = "www:50";
  ok.group_add = {"daemon"};
  ok.working_dir = "/srv/./app/";
  auto spec = build(ok, image_with({}, {"sh"}), ctx);
  CHECK(spec.process->user.uid == 33);
  CHECK(spec.process->user.gid == 50);
  CHECK(spec.process->user.additional_gids == std::vector<gid_t>{1});
  CHECK(spec.process->cwd == "/srv/app");
  CHECK_FALSE(spec.process->user.umask);
  // The image's user and working directory apply when the service sets none.
  image::ImageConfig img = image_with({}, {"sh"});
  img.user = "33";
  img.working_dir = "/data";
  spec = build(service(), img, ctx);
  CHECK(spec.process->user.uid == 33);
  CHECK(spec.process->cwd == "/data");
  auto rel = service();
  rel.working_dir = "srv";
  CHECK(error_of(rel) == "service web: working_dir \"srv\": must be an absolute path");
}

TEST_CASE("identity: root, hostname, cgroups path, annotations and the default security") {
  auto s = service();
  s.labels = {{"tier", "front"}, {"com.docker.compose.project", "spoofed"}};
  s.annotations = {{"org.example/a", "1"}};
  s.tty = true;
  s.domainname = "example.org";
  auto ctx = context();
  ctx.labels = {{"com.docker.compose.project", "app"}};
  auto spec = build(s, image_with({}, {"sh"}), ctx);
  CHECK(spec.root.path == "/var/lib/stack/rootfs/app-web-1");
  CHECK_FALSE(spec.root.readonly);
  CHECK(spec.hostname == "app-web-1");
  CHECK(spec.domainname == "example.org");
  CHECK(spec.linux.cgroups_path == "stack/app/app-web-1");
  CHECK(spec.process->terminal);
  CHECK(spec.annotations == std::map<std::string, std::string>{
                                {"com.docker.compose.project", "app"},
                                {"org.example/a", "1"},
                                {"tier", "front"}});
  REQUIRE(spec.process->capabilities);
  CHECK(spec.process->capabilities->bounding.size() == 14);  // Docker's defaults
  CHECK(spec.linux.seccomp);
  CHECK_FALSE(spec.process->no_new_privileges);

  auto ro = service();
  ro.read_only = true;
  ro.hostname = "db.internal";
  ro.cap_add = {"NET_ADMIN"};
  ro.cap_drop = {"CHOWN"};
  spec = build(ro);
  CHECK(spec.root.readonly);
  CHECK(spec.hostname == "db.internal");
  const auto& caps = spec.process->capabilities->bounding;
  CHECK(std::count(caps.begin(), caps.end(), "CAP_NET_ADMIN") == 1);
  CHECK(std::count(caps.begin(), caps.end(), "CAP_CHOWN") == 0);
  auto bad = service();
  bad.cap_add = {"FLY"};
  CHECK(error_of(bad) == "service web: cap_add: unknown capability \"CAP_FLY\"");
  auto long_name = service();
  long_name.hostname = std::string(64, 'h');
  CHECK_THAT(error_of(long_name), Catch::Contains("longer than 63 characters"));
}

TEST_CASE("security_opt: no-new-privileges, seccomp unconfined and profile files") {
  auto s = service();
  s.security_opt = {"no-new-privileges:true", "seccomp=unconfined", "label=disable",
                    "apparmor=unconfined"};
  auto spec = build(s);
  CHECK(spec.process->no_new_privileges);
  CHECK_FALSE(spec.linux.seccomp);
  CHECK(spec.process->apparmor_profile.empty());

  s.security_opt = {"no-new-privileges=false", "systempaths=unconfined",
                    "writable-cgroups=true"};
  spec = build(s);
  CHECK_FALSE(spec.process->no_new_privileges);
  CHECK(spec.linux.masked_paths.empty());
  CHECK(spec.linux.readonly_paths.empty());
  CHECK(joined(find_mount(spec, "/sys/fs/cgroup")->options) == "nosuid,noexec,nodev");

  // A Docker-format profile: archMap picks the native architecture, includes/excludes follow
  // the container's capabilities, "name" is the legacy single name.
  char dir_template[] = "/tmp/cspec-test-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  std::ofstream(dir + "/profile.json") << R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "archMap": [
      {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
      {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
    ],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"name": "mount", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["kill"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}}
    ]})";
  auto p = service();
  p.security_opt = {"seccomp=profile.json"};
  auto ctx = context();
  ctx.working_dir = dir;
  spec = build(p, image_with({}, {"sh"}), ctx);
  REQUIRE(spec.linux.seccomp);
  const auto& sc = *spec.linux.seccomp;
  CHECK(sc.default_action == "SCMP_ACT_ERRNO");
  CHECK(sc.default_errno_ret == 1u);
#if defined(__x86_64__)
  CHECK(sc.architectures == Strings{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"});
#endif
  REQUIRE(sc.syscalls.size() == 2);
  CHECK(sc.syscalls[0].names == Strings{"read", "write"});
  CHECK(sc.syscalls[1].names == Strings{"kill"});

  p.cap_add = {"SYS_ADMIN"};
  spec = build(p, image_with({}, {"sh"}), ctx);
  REQUIRE(spec.linux.seccomp->syscalls.size() == 2);
  CHECK(spec.linux.seccomp->syscalls[1].names == Strings{"mount"});

  std::ofstream(dir + "/bad.json") << R"({"defaultAction": "SCMP_ACT_EXPLODE"})";
  p.security_opt = {"seccomp=" + dir + "/bad.json"};
  CHECK_THAT(error_of(p, ctx),
             Catch::StartsWith("service web: security_opt seccomp profile " + dir + "/bad.json") &&
                 Catch::Contains("SCMP_ACT_EXPLODE"));
  p.security_opt = {"seccomp=" + dir + "/missing.json"};
  CHECK_THAT(error_of(p, ctx), Catch::Contains("missing.json"));
  std::remove((dir + "/profile.json").c_str());
  std::remove((dir + "/bad.json").c_str());
  ::rmdir(dir.c_str());

  auto unknown = service();
  unknown.security_opt = {"turbo=on"};
  CHECK(error_of(unknown) == "service web: security_opt \"turbo=on\": unknown option");
  unknown.security_opt = {"no-new-privileges=maybe"};
  CHECK(error_of(unknown) ==
        "service web: security_opt \"no-new-privileges\": expected true or false, got \"maybe\"");

  auto priv = service();
  priv.privileged = true;
  spec = build(priv);
  CHECK_FALSE(spec.linux.seccomp);
  CHECK(spec.linux.masked_paths.empty());
}

TEST_CASE("resources: memory, cpus, pids, deploy limits and blkio") {
  auto s = service();
  s.mem_limit = 256 << 20;
  s.mem_reservation = 128 << 20;
  s.memswap_limit = 512 << 20;
  s.mem_swappiness = 10;
  s.oom_kill_disable = true;
  s.cpus = 1.5;
  s.cpu_shares = 512;
  s.cpuset = "0-1";
  s.pids_limit = 100;
  s.oom_score_adj = 500;
  auto spec = build(s);
  const auto& res = *spec.linux.resources;
  REQUIRE(res.memory);
  CHECK(res.memory->limit == int64_t{256 << 20});
  CHECK(res.memory->reservation == int64_t{128 << 20});
  CHECK(res.memory->swap == int64_t{512 << 20});
  CHECK(res.memory->swappiness == 10u);
  CHECK(res.memory->disable_oom_killer == true);
  REQUIRE(res.cpu);
  CHECK(res.cpu->period == 100000u);
  CHECK(res.cpu->quota == 150000);
  CHECK(res.cpu->shares == 512u);
  CHECK(res.cpu->cpus == "0-1");
  CHECK(res.pids_limit == 100);
  CHECK(spec.process->oom_score_adj == 500);

  // compose v2: a deploy limit, when set, replaces the legacy key; reservations map memory only.
  compose::Deploy deploy;
  deploy.limits = compose::Resource{};
  deploy.limits->memory = 64 << 20;
  deploy.limits->cpus = 0.5;
  deploy.limits->pids = 20;
  deploy.reservations = compose::Resource{};
  deploy.reservations->memory = 32 << 20;
  deploy.reservations->cpus = 0.25;
  auto d = service();
  d.mem_limit = 1 << 30;
  d.deploy = deploy;
  spec = build(d);
  CHECK(spec.linux.resources->memory->limit == int64_t{64 << 20});
  CHECK(spec.linux.resources->memory->reservation == int64_t{32 << 20});
  CHECK(spec.linux.resources->cpu->quota == 50000);
  CHECK(spec.linux.resources->pids_limit == 20);

  auto none = service();
  spec = build(none);
  CHECK_FALSE(spec.linux.resources->memory);
  CHECK_FALSE(spec.linux.resources->cpu);
  CHECK_FALSE(spec.linux.resources->pids_limit);
  none.pids_limit = -1;  // unlimited
  CHECK_FALSE(build(none).linux.resources->pids_limit);

  auto legacy = service();
  legacy.cpu_quota = 50000;
  legacy.cpu_period = 200000;
  spec = build(legacy);
  CHECK(spec.linux.resources->cpu->quota == 50000);
  CHECK(spec.linux.resources->cpu->period == 200000u);

  auto io = service();
  io.blkio_config = compose::BlkioConfig{};
  io.blkio_config->weight = 300;
  io.blkio_config->weight_device = {{"/dev/sda", 200}};
  io.blkio_config->device_read_bps = {{"/dev/sda", 1048576}};
  io.blkio_config->device_write_iops = {{"/dev/sda", 100}};
  spec = build(io);
  REQUIRE(spec.linux.resources->block_io);
  const auto& b = *spec.linux.resources->block_io;
  CHECK(b.weight == 300);
  REQUIRE(b.weight_device.size() == 1);
  CHECK(b.weight_device[0].major == 8);
  CHECK(b.weight_device[0].weight == 200);
  REQUIRE(b.throttle_read_bps.size() == 1);
  CHECK(b.throttle_read_bps[0].rate == 1048576u);
  REQUIRE(b.throttle_write_iops.size() == 1);
  CHECK(b.throttle_write_iops[0].rate == 100u);

  auto bad = service();
  bad.cpus = 1;
  bad.cpu_quota = 10000;
  CHECK(error_of(bad) ==
        "service web: cpus: conflicts with cpu_period and cpu_quota (set one or the other)");
  bad = service();
  bad.mem_limit = 1024;
  CHECK(error_of(bad) == "service web: mem_limit: minimum is 6MB");
  bad = service();
  bad.mem_swappiness = 101;
  CHECK(error_of(bad) == "service web: mem_swappiness: must be between 0 and 100");
  bad = service();
  bad.oom_score_adj = 1001;
  CHECK(error_of(bad) == "service web: oom_score_adj 1001: must be between -1000 and 1000");
  bad = service();
  bad.blkio_config = compose::BlkioConfig{};
  bad.blkio_config->device_read_bps = {{"/dev/nope", 1}};
  CHECK(error_of(bad) ==
        "service web: blkio_config.device_read_bps: device /dev/nope: No such file or directory");
}

TEST_CASE("ulimits become rlimits") {
  auto s = service();
  s.ulimits["nofile"] = compose::Ulimit{0, 1024, 4096, {}};
  s.ulimits["nproc"] = compose::Ulimit{512, 0, 0, {}};
  s.ulimits["core"] = compose::Ulimit{-1, 0, 0, {}};
  auto spec = build(s);
  const auto& rl = spec.process->rlimits;
  REQUIRE(rl.size() == 3);
  CHECK(rl[0].type == "RLIMIT_CORE");  // by name order
  CHECK(rl[0].soft == RLIM_INFINITY);
  CHECK(rl[1].type == "RLIMIT_NOFILE");
  CHECK(rl[1].resource == RLIMIT_NOFILE);
  CHECK(rl[1].soft == 1024u);
  CHECK(rl[1].hard == 4096u);
  CHECK(rl[2].type == "RLIMIT_NPROC");
  CHECK(rl[2].soft == 512u);
  CHECK(rl[2].hard == 512u);

  auto bad = service();
  bad.ulimits["nofile"] = compose::Ulimit{0, 10, 5, {}};
  CHECK(error_of(bad) == "service web: ulimits.nofile: soft limit 10 above hard limit 5");
  bad.ulimits.clear();
  bad.ulimits["files"] = compose::Ulimit{10, 0, 0, {}};
  CHECK(error_of(bad) == "service web: ulimits.files: unknown ulimit \"files\"");
}

TEST_CASE("devices and device_cgroup_rules") {
  auto s = service();
  s.devices = {{"/dev/fuse", "/dev/fuse", "rwm", {}}, {"/dev/sda", "/dev/xvda", "r", {}}};
  s.device_cgroup_rules = {"c 1:3 mr", "a *:* rwm", "b 8:* w"};
  auto spec = build(s);
  REQUIRE(spec.linux.devices.size() == 2);
  CHECK(spec.linux.devices[0].path == "/dev/fuse");
  CHECK(spec.linux.devices[0].type == 'c');
  CHECK(spec.linux.devices[0].major == 10);
  CHECK(spec.linux.devices[0].minor == 229);
  CHECK(spec.linux.devices[0].file_mode == mode_t{0666});
  CHECK(spec.linux.devices[1].path == "/dev/xvda");
  CHECK(spec.linux.devices[1].type == 'b');
  CHECK(spec.linux.devices[1].gid == gid_t{6});
  const auto& rules = spec.linux.resources->devices;
  REQUIRE(rules.size() >= 5);
  auto tail = std::vector<runtime::DeviceRule>(rules.end() - 5, rules.end());
  auto text = [](const runtime::DeviceRule& r) {
    return std::string(r.allow ? "allow " : "deny ") + r.type + " " +
           (r.major ? std::to_string(*r.major) : "*") + ":" +
           (r.minor ? std::to_string(*r.minor) : "*") + " " + r.access;
  };
  std::string all;
  for (const auto& r : tail) all += text(r) + "\n";
  CHECK(all == R"(allow c 10:229 rwm
allow b 8:0 r
allow c 1:3 mr
allow a *:* rwm
allow b 8:* w
)");
  CHECK(rules.front().allow == false);  // Docker's deny-all comes first

  auto bad = service();
  bad.devices = {{"/dev/fuse", "/dev/fuse", "rwx", {}}};
  CHECK(error_of(bad) ==
        "service web: devices: /dev/fuse: permissions \"rwx\" must be a subset of rwm");
  bad.devices = {{"/dev/nope", "/dev/nope", "rwm", {}}};
  CHECK(error_of(bad) == "service web: devices: device /dev/nope: No such file or directory");
  bad.devices.clear();
  for (const char* rule : {"c 1:3", "x 1:3 r", "c 1-3 r", "c a:3 r", "c 1:3 rwq"}) {
    bad.device_cgroup_rules = {rule};
    CHECK(error_of(bad) == std::string("service web: device_cgroup_rules: \"") + rule +
                               "\": expected \"<a|b|c> <major|*>:<minor|*> <r|w|m…>\"");
  }
}

TEST_CASE("namespaces: ipc, pid, network, uts, cgroup") {
  auto has = [](const runtime::Spec& s, const char* t) { return s.has_namespace(t); };
  auto spec = build(service());
  for (const char* t : {"mount", "network", "uts", "pid", "ipc", "cgroup"}) CHECK(has(spec, t));

  auto s = service();
  s.ipc = "host";
  s.pid = "host";
  s.uts = "host";
  s.cgroup = "host";
  s.network_mode = "host";
  spec = build(s);
  for (const char* t : {"network", "uts", "pid", "ipc", "cgroup"}) CHECK_FALSE(has(spec, t));
  CHECK(spec.hostname.empty());
  CHECK(env_of(spec).find("HOSTNAME=") == std::string::npos);
  const auto* shm = find_mount(spec, "/dev/shm");
  REQUIRE(shm);
  CHECK(shm->type == "bind");
  CHECK(shm->source == "/dev/shm");

  auto j = service();
  j.ipc = "service:db";
  j.pid = "container:app-db-1";
  j.network_mode = "service:db";
  auto ctx = context();
  ctx.join_namespaces = {{"ipc", "/proc/42/ns/ipc"},
                         {"pid", "/proc/42/ns/pid"},
                         {"network", "/proc/42/ns/net"}};
  spec = build(j, image_with({}, {"sh"}), ctx);
  CHECK(spec.find_namespace("ipc")->path == "/proc/42/ns/ipc");
  CHECK(spec.find_namespace("pid")->path == "/proc/42/ns/pid");
  CHECK(spec.find_namespace("network")->path == "/proc/42/ns/net");
  CHECK(spec.find_namespace("uts")->path.empty());

  auto host_ctx = context();
  host_ctx.host_network = true;
  CHECK_FALSE(build(service(), image_with({}, {"sh"}), host_ctx).has_namespace("network"));

  CHECK(error_of(j) == "service web: ipc \"service:db\": no ipc namespace to join");
  auto bad = service();
  bad.pid = "shared";
  CHECK(error_of(bad) == "service web: pid \"shared\": unknown mode");
  bad = service();
  bad.ipc = "none";
  CHECK_FALSE(find_mount(build(bad), "/dev/shm"));
  bad.ipc = "public";
  CHECK(error_of(bad) == "service web: ipc \"public\": unknown mode");
  bad = service();
  bad.uts = "host";
  bad.hostname = "x";
  CHECK(error_of(bad) == "service web: hostname: cannot be set with uts \"host\"");
}

TEST_CASE("sysctls must be namespaced") {
  auto s = service();
  s.sysctls = {{"net.core.somaxconn", "1024"}, {"kernel.shmmax", "100"},
               {"fs.mqueue.msg_max", "20"}};
  auto spec = build(s);
  CHECK(spec.linux.sysctl == std::map<std::string, std::string>(s.sysctls.begin(),
                                                                  s.sysctls.end()));
  auto bad = service();
  bad.sysctls = {{"vm.swappiness", "1"}};
  CHECK(error_of(bad) == "service web: sysctls.vm.swappiness: not a namespaced sysctl");
  bad.sysctls = {{"net.ipv4.ip_forward", "1"}};
  bad.network_mode = "host";
  CHECK(error_of(bad) ==
        "service web: sysctls.net.ipv4.ip_forward: not allowed with network_mode \"host\"");
}

TEST_CASE("mounts: volumes, tmpfs, secrets, configs and the engine's /etc files") {
  auto s = service();
  compose::ServiceVolume bind{"bind", "/srv/site", "/usr/share/html", true, "cached", {}, {},
                              {}, {}, {}};
  bind.bind = compose::ServiceVolumeBind{};
  bind.bind->propagation = "rslave";
  compose::ServiceVolume named{"volume", "data", "/var/lib/data", false, "", {}, {}, {}, {}, {}};
  named.volume = compose::ServiceVolumeVolume{};
  named.volume->subpath = "pg/./main";
  compose::ServiceVolume anon{"volume", "", "/cache", false, "", {}, {}, {}, {}, {}};
  compose::ServiceVolume tmp{"tmpfs", "", "/scratch", false, "", {}, {}, {}, {}, {}};
  tmp.tmpfs = compose::ServiceVolumeTmpfs{1 << 20, 01777, {}};
  compose::ServiceVolume nested{"bind", "/srv/conf", "/usr/share/html/conf", false, "",
                                {}, {}, {}, {}, {}};
  s.volumes = {nested, bind, named, anon, tmp};
  s.tmpfs = {"/run", "/tmp:exec,size=64m,mode=1777"};
  s.secrets = {compose::FileReference{"db_password", "", "", "", std::nullopt, {}},
               compose::FileReference{"api_key", "keys/api", "", "", std::nullopt, {}}};
  s.configs = {compose::FileReference{"nginx", "", "", "", std::nullopt, {}},
               compose::FileReference{"app", "/etc/app.conf", "", "", std::nullopt, {}}};
  s.shm_size = 256 << 20;
  auto ctx = context();
  ctx.volume_sources = {{"data", "/var/lib/stack/volumes/app_data/_data"},
                        {"/cache", "/var/lib/stack/volumes/3f2a/_data"}};
  ctx.secret_files = {{"db_password", "/run/stack/app/secrets/db_password"},
                      {"api_key", "/run/stack/app/secrets/api_key"}};
  ctx.config_files = {{"nginx", "/run/stack/app/configs/nginx"},
                      {"app", "/run/stack/app/configs/app"}};
  ctx.hosts_file = "/var/lib/stack/containers/app-web-1/hosts";
  ctx.resolv_conf_file = "/var/lib/stack/containers/app-web-1/resolv.conf";
  ctx.hostname_file = "/var/lib/stack/containers/app-web-1/hostname";
  auto spec = build(s, image_with({}, {"sh"}), ctx);

  std::string table;
  for (const auto& m : spec.mounts)
    table += m.destination + " " + m.type + " " + m.source + " " + joined(m.options) + "\n";
  CHECK(table == R"(/proc proc proc nosuid,noexec,nodev
/dev tmpfs tmpfs nosuid,strictatime,mode=755,size=65536k
/dev/pts devpts devpts nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5
/sys sysfs sysfs nosuid,noexec,nodev,ro
/sys/fs/cgroup cgroup cgroup ro,nosuid,noexec,nodev
/dev/mqueue mqueue mqueue nosuid,noexec,nodev
/dev/shm tmpfs shm nosuid,noexec,nodev,mode=1777,size=268435456
/cache bind /var/lib/stack/volumes/3f2a/_data rbind,rprivate
/scratch tmpfs tmpfs noexec,nosuid,nodev,size=1048576,mode=1777
/run tmpfs tmpfs noexec,nosuid,nodev
/tmp tmpfs tmpfs nosuid,nodev,exec,size=64m,mode=1777
/nginx bind /run/stack/app/configs/nginx rbind,ro,rprivate
/etc/app.conf bind /run/stack/app/configs/app rbind,ro,rprivate
/etc/hostname bind /var/lib/stack/containers/app-web-1/hostname rbind,rprivate
/etc/hosts bind /var/lib/stack/containers/app-web-1/hosts rbind,rprivate
/etc/resolv.conf bind /var/lib/stack/containers/app-web-1/resolv.conf rbind,rprivate
/usr/share/html bind /srv/site rbind,ro,rro,rslave
/var/lib/data bind /var/lib/stack/volumes/app_data/_data/pg/main rbind,rprivate
/run/secrets/db_password bind /run/stack/app/secrets/db_password rbind,ro,rprivate
/usr/share/html/conf bind /srv/conf rbind,rprivate
/run/secrets/keys/api bind /run/stack/app/secrets/api_key rbind,ro,rprivate
)");

  // A service mount at a default or /etc place replaces ours; read_only makes /etc files ro.
  auto over = service();
  over.read_only = true;
  over.tmpfs = {"/dev/shm:size=1g"};
  compose::ServiceVolume hosts{"bind", "/srv/hosts", "/etc/hosts", true, "", {}, {}, {}, {}, {}};
  over.volumes = {hosts};
  spec = build(over, image_with({}, {"sh"}), ctx);
  CHECK(std::count_if(spec.mounts.begin(), spec.mounts.end(), [](const runtime::Mount& m) {
          return m.destination == "/dev/shm" || m.destination == "/etc/hosts";
        }) == 2);
  CHECK(find_mount(spec, "/dev/shm")->type == "tmpfs");
  CHECK(joined(find_mount(spec, "/dev/shm")->options) == "noexec,nosuid,nodev,size=1g");
  CHECK(find_mount(spec, "/etc/hosts")->source == "/srv/hosts");
  CHECK(joined(find_mount(spec, "/etc/resolv.conf")->options) == "rbind,rprivate,ro");

  auto missing = service();
  missing.volumes = {named};
  CHECK(error_of(missing) == "service web: volumes[0]: volume \"data\" has not been created");
  missing = service();
  missing.secrets = {compose::FileReference{"token", "", "", "", std::nullopt, {}}};
  CHECK(error_of(missing) == "service web: secret \"token\" has not been prepared");
  auto escape = service();
  named.volume->subpath = "../other";
  escape.volumes = {named};
  CHECK(error_of(escape, ctx) ==
        "service web: volumes[0]: volume.subpath \"../other\" leaves the volume");
  auto dup = service();
  dup.tmpfs = {"/run", "/run/"};
  CHECK(error_of(dup) == "service web: duplicate mount point /run");
  auto npipe = service();
  npipe.volumes = {compose::ServiceVolume{"npipe", "x", "/x", false, "", {}, {}, {}, {}, {}}};
  CHECK(error_of(npipe) == "service web: volumes[0]: type \"npipe\" is not supported");
}

TEST_CASE("the runtime's serializer and parser accept what we build") {
  auto s = service();
  s.entrypoint = Strings{"/bin/sh", "-c"};
  s.command = Strings{"exec httpd -f"};
  s.environment = {{"A", "1"}};
  s.user = "33:33";
  s.group_add = {"5"};
  s.tty = true;
  s.cap_add = {"NET_ADMIN"};
  s.sysctls = {{"net.core.somaxconn", "1024"}};
  s.ulimits["nofile"] = compose::Ulimit{0, 1024, 2048, {}};
  s.mem_limit = 64 << 20;
  s.cpus = 0.5;
  s.pids_limit = 50;
  s.devices = {{"/dev/fuse", "/dev/fuse", "rw", {}}};
  s.device_cgroup_rules = {"c 1:3 mr"};
  s.tmpfs = {"/run:size=1m"};
  s.labels = {{"tier", "front"}};
  s.oom_score_adj = -100;
  s.shm_size = 1 << 20;
  s.security_opt = {"no-new-privileges"};
  auto ctx = context();
  ctx.hosts_file = "/var/lib/stack/hosts";
  ctx.secret_files = {{"pw", "/var/lib/stack/secrets/pw"}};
  s.secrets = {compose::FileReference{"pw", "", "", "", std::nullopt, {}}};
  ctx.labels = {{"com.docker.compose.service", "web"}};
  auto spec = build(s, image_with({}, {"sh"}), ctx);

  const std::string json = runtime::spec_to_json(spec);
  auto parsed = runtime::parse_spec(json, "/");
  if (!parsed.ok()) FAIL(parsed.error().to_string());
  CHECK(runtime::spec_to_json(*parsed) == json);
  CHECK(parsed->process->args == Strings{"/bin/sh", "-c", "exec httpd -f"});
  CHECK(parsed->process->no_new_privileges);
  CHECK(parsed->linux.seccomp);
  CHECK(parsed->annotations.at("com.docker.compose.service") == "web");
}
