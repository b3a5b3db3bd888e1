// Real containers through the `stack-runtime` executable (needs root): what the process inside
// sees — pid namespace, hostname, exit status, mounts, capabilities, seccomp, user and group ids,
// user namespaces and rlimits. Every test ends with the fixture's leak check.
#include <sys/mount.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <sstream>

#include "runtime/runtime_fixture.h"
#include "stack/runtime/defaults.h"
#include "stack/runtime/spec.h"

using nlohmann::json;
using stack::test::RuntimeFixture;

namespace {

// "Key: value" lines (probe caps) or "key=value" lines into a map.
std::map<std::string, std::string> key_values(const std::string& text, char sep) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto at = line.find(sep);
    if (at == std::string::npos) continue;
    std::string value = line.substr(at + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    out[line.substr(0, at)] = value;
  }
  return out;
}

// /proc/self/mounts text → mount point → filesystem type (the last mount on a point wins).
std::map<std::string, std::string> mount_types(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string source, point, type;
    if (f >> source >> point >> type) out[point] = type;
  }
  return out;
}

json seccomp_json(const stack::runtime::Seccomp& seccomp) {
  auto spec = stack::runtime::default_spec();
  spec.linux.seccomp = seccomp;
  return json::parse(stack::runtime::spec_to_json(spec))["linux"]["seccomp"];
}

}  // namespace

TEST_CASE("container: pid 1, hostname from the spec, exit status passed through",
          "[runtime][container][root]") {
  RuntimeFixture fx;
  fx.set_script("echo $$; hostname; exit 7");
  auto r = fx.run_container();
  CHECK(r.status == 7);
  CHECK(r.out == "1\nstack-test\n");
  CHECK(r.err == "");
  fx.check_no_leaks();
}

TEST_CASE("container: a container killed by a signal exits with 128+n", "[runtime][container][root]") {
  RuntimeFixture fx;
  fx.set_args({"sleep", "60"});
  // A pid-1 process ignores signals it has no handler for when they come from inside its pid
  // namespace, so the kill comes from the host through the CLI, retried until the container runs.
  pid_t killer = ::fork();
  REQUIRE(killer >= 0);
  if (killer == 0) {
    const std::string loop = "for i in $(seq 100); do \"$0\" --root \"$1\" kill \"$2\" KILL 2>/dev/null && exit 0; "
                             "sleep 0.1; done; exit 1";
    ::execl("/bin/sh", "sh", "-c", loop.c_str(), fx.runtime_bin().c_str(), fx.state_root().c_str(),
            fx.id().c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto r = fx.run_container(30000);
  int st = 0;
  ::waitpid(killer, &st, 0);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  CHECK(r.status == 128 + SIGKILL);
  fx.check_no_leaks();
}

TEST_CASE("container: mounts, read-only rootfs, masked and readonly paths, bind mounts",
          "[runtime][container][root][mounts]") {
  RuntimeFixture fx;
  const std::string rw_dir = fx.dir() + "/host-rw", ro_dir = fx.dir() + "/host-ro";
  std::filesystem::create_directories(rw_dir);
  std::filesystem::create_directories(ro_dir);
  stack::test::write_text(rw_dir + "/hello", "from host rw\n");
  stack::test::write_text(ro_dir + "/hello", "from host ro\n");
  fx.config()["root"]["readonly"] = true;
  fx.config()["mounts"].push_back({{"destination", "/data"}, {"type", "bind"}, {"source", rw_dir},
                                   {"options", {"rbind", "rw"}}});
  fx.config()["mounts"].push_back({{"destination", "/ro"}, {"type", "bind"}, {"source", ro_dir},
                                   {"options", {"rbind", "ro"}}});
  fx.set_script(
      "cat /proc/self/mounts; echo ---;"
      "touch /x 2>&1; echo rootfs_touch=$?;"
      "echo keys_bytes=$(cat /proc/keys | wc -c);"
      "echo acpi_entries=$(ls -A /proc/acpi | wc -l);"
      "echo x 2>&1 > /proc/sys/kernel/domainname; echo procsys_write=$?;"
      "cat /data/hello; echo written > /data/new; echo data_write=$?;"
      "cat /ro/hello; touch /ro/new 2>&1; echo ro_touch=$?");
  auto r = fx.run_container();
  REQUIRE(r.status == 0);
  auto at = r.out.find("---\n");
  REQUIRE(at != std::string::npos);
  auto types = mount_types(r.out.substr(0, at));
  CHECK(types["/proc"] == "proc");
  CHECK(types["/dev"] == "tmpfs");
  CHECK(types["/dev/pts"] == "devpts");
  CHECK(types["/dev/shm"] == "tmpfs");
  CHECK(types["/dev/mqueue"] == "mqueue");
  CHECK(types["/sys"] == "sysfs");
  CHECK(types.count("/data") == 1);
  CHECK(types.count("/ro") == 1);
  const std::string rest = r.out.substr(at + 4);
  CHECK(rest.find("touch: /x: Read-only file system\nrootfs_touch=1\n") != std::string::npos);
  // /proc/kcore does not exist on this kernel; /proc/keys (a file) and /proc/acpi (a directory)
  // are masked the same way: /dev/null and an empty read-only tmpfs.
  CHECK(rest.find("keys_bytes=0\n") != std::string::npos);
  CHECK(rest.find("acpi_entries=0\n") != std::string::npos);
  CHECK(rest.find("Read-only file system\nprocsys_write=1\n") != std::string::npos);
  CHECK(rest.find("from host rw\ndata_write=0\n") != std::string::npos);
  CHECK(rest.find("from host ro\ntouch: /ro/new: Read-only file system\nro_touch=1\n") != std::string::npos);
  CHECK(stack::test::read_text(rw_dir + "/new") == "written\n");
  CHECK_FALSE(std::filesystem::exists(ro_dir + "/new"));
  fx.check_no_leaks();
}

TEST_CASE("container: capabilities are exactly the spec's sets", "[runtime][container][root][caps]") {
  RuntimeFixture fx;
  fx.set_args({"probe", "caps"});
  SECTION("default spec: AUDIT_WRITE KILL NET_BIND_SERVICE") {
    auto r = fx.run_container();
    REQUIRE(r.status == 0);
    auto caps = key_values(r.out, ':');
    CHECK(caps["CapInh"] == "0000000000000000");
    CHECK(caps["CapPrm"] == "0000000020000420");
    CHECK(caps["CapEff"] == "0000000020000420");
    CHECK(caps["CapBnd"] == "0000000020000420");
    CHECK(caps["CapAmb"] == "0000000000000000");
  }
  SECTION("Docker's 14 default capabilities") {
    json names = stack::runtime::docker_default_capabilities();
    for (const char* set : {"bounding", "effective", "permitted"}) fx.config()["process"]["capabilities"][set] = names;
    auto r = fx.run_container();
    REQUIRE(r.status == 0);
    auto caps = key_values(r.out, ':');
    CHECK(caps["CapPrm"] == "00000000a80425fb");
    CHECK(caps["CapEff"] == "00000000a80425fb");
    CHECK(caps["CapBnd"] == "00000000a80425fb");
    CHECK(caps["CapAmb"] == "0000000000000000");
  }
  SECTION("ambient CAP_KILL survives the switch to a non-root user") {
    auto& c = fx.config()["process"]["capabilities"];
    c["inheritable"] = {"CAP_KILL"};
    c["ambient"] = {"CAP_KILL"};
    fx.config()["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    auto r = fx.run_container();
    REQUIRE(r.status == 0);
    auto caps = key_values(r.out, ':');
    CHECK(caps["CapInh"] == "0000000000000020");
    CHECK(caps["CapAmb"] == "0000000000000020");
    CHECK(caps["CapPrm"] == "0000000000000020");
    CHECK(caps["CapEff"] == "0000000000000020");
    CHECK(caps["CapBnd"] == "0000000020000420");
  }
  fx.check_no_leaks();
}

TEST_CASE("container: Docker's seccomp profile and no_new_privileges", "[runtime][container][root][seccomp]") {
  RuntimeFixture fx;
  auto caps = stack::runtime::docker_default_capabilities();
  for (const char* set : {"bounding", "effective", "permitted"}) fx.config()["process"]["capabilities"][set] = caps;
  fx.set_script(
      "probe syscall keyctl; probe syscall unshare-user; probe syscall mount; probe syscall getpid;"
      "probe syscall chroot; probe nnp");
  SECTION("with the profile: calls reserved to CAP_SYS_ADMIN and keyctl fail with EPERM") {
    fx.config()["linux"]["seccomp"] = seccomp_json(stack::runtime::docker_default_seccomp(caps));
    auto r = fx.run_container();
    CHECK(r.status == 0);
    CHECK(r.out == "errno=EPERM\nerrno=EPERM\nerrno=EPERM\nok\nok\nnnp=1\n");
  }
  SECTION("control without a filter: the kernel itself allows unshare and rejects keyctl(0) with EINVAL") {
    fx.config()["linux"].erase("seccomp");
    fx.config()["process"]["noNewPrivileges"] = false;
    auto r = fx.run_container();
    CHECK(r.status == 0);
    CHECK(r.out == "errno=EINVAL\nok\nerrno=EPERM\nok\nok\nnnp=0\n");
  }
  fx.check_no_leaks();
}

TEST_CASE("container: process.user ids, additional groups and umask", "[runtime][container][root]") {
  RuntimeFixture fx;
  fx.config()["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}, {"umask", 027}};
  fx.set_script("probe ids; umask");
  auto r = fx.run_container();
  CHECK(r.status == 0);
  CHECK(r.out == "uid=1000 gid=1000 groups=10,20\n0027\n");
  fx.check_no_leaks();
}

TEST_CASE("container: a user namespace maps root to host uid 100000", "[runtime][container][root][userns]") {
  RuntimeFixture fx;
  fx.config()["linux"]["namespaces"].push_back({{"type", "user"}});
  json mapping = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  fx.config()["linux"]["uidMappings"] = mapping;
  fx.config()["linux"]["gidMappings"] = mapping;
  fx.set_script("id; cat /proc/self/uid_map; cat /proc/self/gid_map; exec sleep 60");
  auto r = fx.create();
  REQUIRE(r.status == 0);
  pid_t pid = fx.state_pid();
  REQUIRE(pid > 0);
  REQUIRE(fx.run_runtime({"start", fx.id()}).status == 0);
  struct stat st {};
  REQUIRE(::stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0);
  CHECK(st.st_uid == 100000u);
  CHECK(st.st_gid == 100000u);
  std::string out;
  for (int i = 0; i < 200 && std::count(out.begin(), out.end(), '\n') < 3; ++i, ::usleep(10000)) out = fx.read_output(r);
  std::istringstream lines(out);
  std::string id_line, uid_map, gid_map;
  std::getline(lines, id_line);
  std::getline(lines, uid_map);
  std::getline(lines, gid_map);
  CHECK(id_line.rfind("uid=0(root) gid=0(root)", 0) == 0);
  auto fields = [](const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> v;
    for (std::string f; in >> f;) v.push_back(f);
    return v;
  };
  CHECK(fields(uid_map) == std::vector<std::string>{"0", "100000", "65536"});
  CHECK(fields(gid_map) == std::vector<std::string>{"0", "100000", "65536"});
  CHECK(fx.run_runtime({"delete", "--force", fx.id()}).status == 0);
  fx.check_no_leaks();
}

TEST_CASE("container: rlimits are set exactly, a hard limit above ours fails cleanly",
          "[runtime][container][root][rlimit]") {
  RuntimeFixture fx;
  fx.set_args({"probe", "rlimit", "RLIMIT_NOFILE"});
  SECTION("1000/2000") {
    fx.config()["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 1000}, {"hard", 2000}}};
    auto r = fx.run_container();
    CHECK(r.status == 0);
    CHECK(r.out == "soft=1000 hard=2000\n");
  }
  SECTION("hard 30000 is above this machine's 20000 and needs CAP_SYS_RESOURCE") {
    fx.config()["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 1024}, {"hard", 30000}}};
    auto r = fx.create();
    CHECK(r.status != 0);
    CHECK(r.err.find("RLIMIT_NOFILE") != std::string::npos);
    CHECK(fx.state_status() == "");
  }
  fx.check_no_leaks();
}

TEST_CASE("container: rro makes a bind mount and its submounts read-only, ro only the top",
          "[runtime][container][root][mounts]") {
  RuntimeFixture fx;
  const std::string src = fx.dir() + "/host-tree";
  std::filesystem::create_directories(src + "/sub");
  REQUIRE(::mount("tmpfs", (src + "/sub").c_str(), "tmpfs", 0, "size=1m") == 0);
  fx.config()["mounts"].push_back({{"destination", "/rro"}, {"type", "bind"}, {"source", src},
                                   {"options", {"rbind", "rro"}}});
  fx.config()["mounts"].push_back({{"destination", "/ro"}, {"type", "bind"}, {"source", src},
                                   {"options", {"rbind", "ro"}}});
  fx.set_script(
      "touch /rro/a 2>/dev/null; echo rro_top=$?; touch /rro/sub/a 2>/dev/null; echo rro_sub=$?;"
      "touch /ro/a 2>/dev/null; echo ro_top=$?; touch /ro/sub/b 2>/dev/null; echo ro_sub=$?");
  auto r = fx.run_container();
  ::umount2((src + "/sub").c_str(), MNT_DETACH);
  CHECK(r.status == 0);
  // A plain "ro" remount applies to the top mount only (mount(2)); "rro" reaches the submount.
  CHECK(r.out == "rro_top=1\nrro_sub=1\nro_top=1\nro_sub=0\n");
  fx.check_no_leaks();
}
