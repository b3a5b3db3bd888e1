// Resource limits of real containers on this machine's cgroup v1 hierarchies (needs root): the
// kernel enforces them (OOM kill, fork EAGAIN) and the files hold the spec's values while the
// container runs. Every test ends with the fixture's leak check.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "runtime/runtime_fixture.h"

using nlohmann::json;
using stack::test::read_text;
using stack::test::RuntimeFixture;

namespace {

constexpr int64_t kMiB = 1024 * 1024;

// The container's cgroup directory in the v1 hierarchy of controller, found through
// /proc/<pid>/cgroup as an operator would.
std::string cgroup_dir(pid_t pid, const std::string& controller) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::stringstream names(line.substr(first + 1, second - first - 1));
    for (std::string name; std::getline(names, name, ',');)
      if (name == controller) return "/sys/fs/cgroup/" + controller + line.substr(second + 1);
  }
  return "";
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Waits until `state` reports stopped (or gives up after timeout_ms).
bool wait_stopped(RuntimeFixture& fx, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (fx.state_status() == "stopped") return true;
    ::usleep(50000);
  }
  return false;
}

}  // namespace

TEST_CASE("container cgroup: 32 MiB without swap gets the container OOM-killed",
          "[runtime][container][root][cgroup]") {
  RuntimeFixture fx;
  fx.config()["linux"]["resources"]["memory"] = {{"limit", 32 * kMiB}, {"swap", 32 * kMiB}};
  fx.set_args({"probe", "alloc", "200"});
  SECTION("run passes the SIGKILL through as 137") {
    auto r = fx.run_container();
    CHECK(r.status == 137);
    CHECK(r.out.find("allocated") == std::string::npos);
  }
  SECTION("the memory cgroup holds the limits and counts the kill") {
    REQUIRE(fx.create().status == 0);
    pid_t pid = fx.state_pid();
    REQUIRE(pid > 0);
    const std::string dir = cgroup_dir(pid, "memory");
    CHECK(dir == "/sys/fs/cgroup/memory" + fx.cgroups_path());
    CHECK(trimmed(read_text(dir + "/memory.limit_in_bytes")) == std::to_string(32 * kMiB));
    CHECK(trimmed(read_text(dir + "/memory.memsw.limit_in_bytes")) == std::to_string(32 * kMiB));
    REQUIRE(fx.run_runtime({"start", fx.id()}).status == 0);
    REQUIRE(wait_stopped(fx, 10000));
    std::istringstream oom(read_text(dir + "/memory.oom_control"));
    uint64_t kills = 0;
    for (std::string key; oom >> key;) {
      uint64_t value = 0;
      oom >> value;
      if (key == "oom_kill") kills = value;
    }
    CHECK(kills >= 1);
    CHECK(fx.run_runtime({"delete", fx.id()}).status == 0);
  }
  fx.check_no_leaks();
}

TEST_CASE("container cgroup: pids limit 10 stops fork with EAGAIN", "[runtime][container][root][cgroup]") {
  RuntimeFixture fx;
  fx.config()["linux"]["resources"]["pids"] = {{"limit", 10}};
  // probe is pid 1 and counts against the limit: 9 children fit.
  fx.set_args({"probe", "fork", "50"});
  auto r = fx.run_container();
  CHECK(r.status == 0);
  CHECK(r.out == "forked=9 error=EAGAIN\n");
  fx.check_no_leaks();
}

TEST_CASE("container cgroup: cpu, cpuset and pids files hold the spec's values while it runs",
          "[runtime][container][root][cgroup]") {
  RuntimeFixture fx;
  fx.config()["linux"]["resources"]["cpu"] = {
      {"shares", 512}, {"quota", 50000}, {"period", 100000}, {"cpus", "0"}, {"mems", "0"}};
  fx.config()["linux"]["resources"]["pids"] = {{"limit", 42}};
  fx.set_args({"sleep", "60"});
  REQUIRE(fx.create().status == 0);
  pid_t pid = fx.state_pid();
  REQUIRE(pid > 0);
  REQUIRE(fx.run_runtime({"start", fx.id()}).status == 0);
  CHECK(fx.state_status() == "running");
  const std::string cpu = cgroup_dir(pid, "cpu"), cpuset = cgroup_dir(pid, "cpuset"), pids = cgroup_dir(pid, "pids");
  CHECK(cpu == "/sys/fs/cgroup/cpu" + fx.cgroups_path());
  CHECK(trimmed(read_text(cpu + "/cpu.shares")) == "512");
  CHECK(trimmed(read_text(cpu + "/cpu.cfs_quota_us")) == "50000");
  CHECK(trimmed(read_text(cpu + "/cpu.cfs_period_us")) == "100000");
  CHECK(trimmed(read_text(cpuset + "/cpuset.cpus")) == "0");
  CHECK(trimmed(read_text(cpuset + "/cpuset.mems")) == "0");
  CHECK(trimmed(read_text(pids + "/pids.max")) == "42");
  CHECK(trimmed(read_text(pids + "/cgroup.procs")) == std::to_string(pid));
  // The process itself is confined to CPU 0.
  std::string status = read_text("/proc/" + std::to_string(pid) + "/status");
  CHECK(status.find("Cpus_allowed_list:\t0\n") != std::string::npos);
  SECTION("update changes the files of the running container") {
    CHECK(fx.run_runtime({"update", "--cpu-shares", "256", "--pids-limit", "7", fx.id()}).status == 0);
    CHECK(trimmed(read_text(cpu + "/cpu.shares")) == "256");
    CHECK(trimmed(read_text(pids + "/pids.max")) == "7");
  }
  CHECK(fx.run_runtime({"kill", fx.id(), "KILL"}).status == 0);
  CHECK(wait_stopped(fx, 5000));
  CHECK(fx.run_runtime({"delete", fx.id()}).status == 0);
  fx.check_no_leaks();
}
