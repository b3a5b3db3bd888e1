// Bad input to `stack-runtime create` (needs root): every case must fail with a non-zero exit,
// an error naming the field or path at fault, and leave nothing behind — no state directory,
// cgroup directory, mount or process (the fixture's leak check). Rootfs symlinks that point
// outside the rootfs must be resolved inside it, never on the host.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "runtime/runtime_fixture.h"

namespace fs = std::filesystem;
using nlohmann::json;
using stack::test::CommandResult;
using stack::test::RuntimeFixture;

namespace {

// create must fail, name `what` on stderr, and leave no container behind.
void expect_create_fails(RuntimeFixture& fx, const std::string& what) {
  CommandResult r = fx.create();
  CHECK(r.status != 0);
  CHECK_FALSE(r.timed_out);
  INFO("expected on stderr: " << what);
  CHECK(r.err.find(what) != std::string::npos);
  CHECK(fx.state_status() == "");
  fx.check_no_leaks();
}

// A host path that nothing else uses, below /tmp, for escape checks.
std::string unique_host_path(const RuntimeFixture& fx, const std::string& tag) {
  return "/tmp/stack-escape-" + tag + "-" + fx.id();
}

}  // namespace

TEST_CASE("container errors: malformed config.json names line and column", "[runtime][container][root][errors]") {
  RuntimeFixture fx;
  // The trailing comma makes the '}' at line 3, column 30 the offending character.
  const std::string text =
      "{\n"
      "  \"ociVersion\": \"1.2.0\",\n"
      "  \"process\": {\"args\": [\"sh\"],}\n"
      "}\n";
  stack::test::write_text(fx.bundle() + "/config.json", text);
  auto r = fx.run_runtime({"create", "--bundle", fx.bundle(), fx.id()});
  CHECK(r.status != 0);
  CHECK(r.err.find("config.json") != std::string::npos);
  CHECK(r.err.find("line 3, column 30") != std::string::npos);
  fx.check_no_leaks();
}

TEST_CASE("container errors: invalid spec fields are named by their JSON path",
          "[runtime][container][root][errors]") {
  RuntimeFixture fx;
  SECTION("missing process.args") {
    fx.config()["process"].erase("args");
    expect_create_fails(fx, "process.args");
  }
  SECTION("unknown namespace type") {
    fx.config()["linux"]["namespaces"].push_back({{"type", "foo"}});
    expect_create_fails(fx, "linux.namespaces[6].type");
  }
  SECTION("mount with a relative destination") {
    fx.config()["mounts"].push_back({{"destination", "data"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    expect_create_fails(fx, "mounts[7].destination");
  }
  SECTION("unknown capability name") {
    fx.config()["process"]["capabilities"]["bounding"].push_back("CAP_FOO");
    expect_create_fails(fx, "CAP_FOO");
  }
  SECTION("seccomp with an unknown action") {
    fx.config()["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls", {{{"names", {"getpid"}}, {"action", "SCMP_ACT_FOO"}}}}};
    expect_create_fails(fx, "SCMP_ACT_FOO");
  }
  SECTION("id with a slash") {
    fx.write_config();
    auto r = fx.run_runtime({"create", "--bundle", fx.bundle(), "a/b"});
    CHECK(r.status != 0);
    CHECK(r.err.find("invalid container id \"a/b\"") != std::string::npos);
    CHECK_FALSE(fs::exists(fx.state_root() + "/a"));
    fx.check_no_leaks();
  }
}

TEST_CASE("container errors: failures during setup roll everything back", "[runtime][container][root][errors]") {
  RuntimeFixture fx;
  fx.set_args({"sleep", "60"});
  SECTION("missing rootfs directory") {
    fx.config()["root"]["path"] = "no-such-rootfs";
    expect_create_fails(fx, fx.bundle() + "/no-such-rootfs");
  }
  SECTION("bind mount of a missing source") {
    const std::string missing = fx.dir() + "/missing-source";
    fx.config()["mounts"].push_back(
        {{"destination", "/data"}, {"type", "bind"}, {"source", missing}, {"options", {"rbind"}}});
    expect_create_fails(fx, missing);
  }
  SECTION("memory swap limit below the memory limit (the kernel rejects memsw < limit)") {
    fx.config()["linux"]["resources"]["memory"] = {{"limit", 64 << 20}, {"swap", 32 << 20}};
    expect_create_fails(fx, "linux.resources.memory");
  }
  SECTION("cpu quota below the kernel's 1 ms minimum") {
    fx.config()["linux"]["resources"]["cpu"] = {{"quota", 500}, {"period", 100000}};
    expect_create_fails(fx, "linux.resources.cpu.quota");
  }
  SECTION("an rlimit above the hard limit we may set") {
    fx.config()["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 1024}, {"hard", 1 << 20}}};
    expect_create_fails(fx, "RLIMIT_NOFILE");
  }
}

TEST_CASE("container errors: creating an existing id fails and leaves the first untouched",
          "[runtime][container][root][errors]") {
  RuntimeFixture fx;
  fx.set_args({"sleep", "60"});
  REQUIRE(fx.create().status == 0);
  const pid_t pid = fx.state_pid();
  REQUIRE(pid > 0);
  const std::string state_before = stack::test::read_text(fx.state_root() + "/" + fx.id() + "/state.json");
  auto again = fx.create();
  CHECK(again.status != 0);
  CHECK(again.err.find("container \"" + fx.id() + "\" already exists") != std::string::npos);
  CHECK(fx.state_status() == "created");
  CHECK(fx.state_pid() == pid);
  CHECK(::kill(pid, 0) == 0);
  CHECK(stack::test::read_text(fx.state_root() + "/" + fx.id() + "/state.json") == state_before);
  // The first container still works.
  CHECK(fx.run_runtime({"start", fx.id()}).status == 0);
  CHECK(fx.state_status() == "running");
  CHECK(fx.run_runtime({"delete", "--force", fx.id()}).status == 0);
  fx.check_no_leaks();
}

TEST_CASE("container errors: a /proc symlink climbing out of the rootfs stays inside it",
          "[runtime][container][root][errors][escape]") {
  RuntimeFixture fx;
  const std::string host = unique_host_path(fx, "proc");
  fs::remove(fx.rootfs() + "/proc");
  fs::create_symlink("/../../../.." + host, fx.rootfs() + "/proc");
  SECTION("the target is missing in the rootfs") {}
  SECTION("the target exists in the rootfs") { fs::create_directories(fx.rootfs() + host); }
  fx.config()["root"]["readonly"] = false;
  fx.set_script("cat /proc/self/mounts");
  auto r = fx.run_container();
  // Refusing is as good as mounting inside the rootfs; mounting on the host path is not.
  if (r.status == 0) {
    CHECK(r.out.find("proc " + host + " proc ") != std::string::npos);
    CHECK(fs::is_directory(fx.rootfs() + host));
  } else {
    CHECK(r.err.find("/proc") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(host));
  CHECK(fs::read_symlink(fx.rootfs() + "/proc") == "/../../../.." + host);
  fx.check_no_leaks();
  std::error_code ec;
  fs::remove(host, ec);
}

TEST_CASE("container errors: a /dev symlink to an absolute host path stays inside the rootfs",
          "[runtime][container][root][errors][escape]") {
  RuntimeFixture fx;
  const std::string host = unique_host_path(fx, "dev");
  // The host directory exists and is empty; a runtime that follows the link on the host would
  // fill it with device nodes (or mount over it).
  fs::create_directories(host);
  fs::remove(fx.rootfs() + "/dev");
  fs::create_symlink(host, fx.rootfs() + "/dev");
  SECTION("the target is missing in the rootfs") {}
  SECTION("the target exists in the rootfs") { fs::create_directories(fx.rootfs() + host); }
  fx.config()["root"]["readonly"] = false;
  fx.set_script("echo ok > /dev/null && cat /proc/self/mounts");
  auto r = fx.run_container();
  if (r.status == 0) CHECK(r.out.find("tmpfs " + host + " tmpfs ") != std::string::npos);
  else CHECK(r.err.find("/dev") != std::string::npos);
  CHECK(fs::is_empty(host));
  CHECK(fs::read_symlink(fx.rootfs() + "/dev") == host);
  fx.check_no_leaks();
  std::error_code ec;
  fs::remove_all(host, ec);
}
