// One real run on this machine's cgroups (needs root): create, limit, move a process in,
// freeze, attach a device filter, destroy, and check that nothing is left behind.
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "stack/runtime/cgroup.h"

using namespace stack;
using namespace stack::runtime;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint32_t attached_device_programs(int dir_fd) {
  uint32_t ids[16] = {};
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(dir_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids);
  attr.query.prog_cnt = 16;
  REQUIRE(::syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof attr) == 0);
  return attr.query.prog_cnt;
}

}  // namespace

TEST_CASE("cgroup root: real create, apply, add_process, freeze, destroy",
          "[runtime][cgroup][root]") {
  if (::geteuid() != 0) {
    WARN("not root: skipped");
    return;
  }
  auto host = detect_cgroup_host(slurp("/proc/self/mountinfo"));
  REQUIRE(host.ok());
  auto self = parse_proc_cgroup(slurp("/proc/self/cgroup"));
  std::string path = "/stack-cgroup-test-" + std::to_string(::getpid());
  auto cg = Cgroup::create(*host, "/", path, "t", self);
  INFO((cg.ok() ? std::string() : cg.error().to_string()));
  REQUIRE(cg.ok());
  const auto paths = cg->paths();
  for (const auto& [key, dir] : paths) CHECK(std::filesystem::is_directory(dir));

  Resources r;
  r.memory = MemoryResources{};
  r.memory->limit = 64 << 20;
  r.pids_limit = 42;
  auto has_hugetlb = [&] {
    for (const auto& c : host->unified_controllers)
      if (c == "hugetlb") return true;
    return host->v1.count("hugetlb") > 0;
  }();
  if (has_hugetlb) r.hugepage_limits = {{"2MB", 4194304}};
  auto st = cg->apply(r);
  INFO((st.ok() ? std::string() : st.error().to_string()));
  CHECK(st.ok());
  if (paths.count("memory"))
    CHECK(slurp(paths.at("memory") + "/memory.limit_in_bytes") == "67108864\n");
  if (paths.count("pids")) CHECK(slurp(paths.at("pids") + "/pids.max") == "42\n");
  if (has_hugetlb && paths.count("unified") && !host->v1.count("hugetlb")) {
    CHECK(slurp(paths.at("unified") + "/hugetlb.2MB.max") == "4194304\n");
  }

  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  CHECK(cg->add_process(child).ok());
  auto pids = cg->processes();
  REQUIRE(pids.ok());
  CHECK(*pids == std::vector<pid_t>{child});
  CHECK(cg->freeze(true).ok());
  CHECK(*cg->frozen());
  CHECK(cg->freeze(false).ok());
  CHECK_FALSE(*cg->frozen());
  CHECK(*cg->oom_kill_count() == 0);

  if (paths.count("unified")) {
    auto fd = cg->open_unified_dir();
    REQUIRE(fd.ok());
    UniqueFd dir(::open(paths.at("unified").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    std::vector<DeviceRule> rules = {DeviceRule{false, 'a', {}, {}, "rwm"},
                                     DeviceRule{true, 'c', 1, 3, "rwm"}};
    auto attached = attach_device_filter(fd->get(), rules);  // the O_PATH fd works too
    INFO((attached.ok() ? std::string() : attached.error().to_string()));
    CHECK(attached.ok());
    CHECK(attached_device_programs(dir.get()) == 1);
    CHECK(attach_device_filter(dir.get(), rules).ok());  // update replaces
    CHECK(attached_device_programs(dir.get()) == 1);
  }

  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  auto destroyed = cg->destroy();
  INFO((destroyed.ok() ? std::string() : destroyed.error().to_string()));
  CHECK(destroyed.ok());
  for (const auto& [key, dir] : paths) CHECK_FALSE(std::filesystem::exists(dir));
}
