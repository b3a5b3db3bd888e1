// The container init's step list against the recording syscall seam: the whole call sequence of
// a typical container is one golden transcript, and a failing step stops the sequence with an
// error naming it.
#include <sched.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "init_plan.h"
#include "stack/common/atomic_file.h"
#include "stack/runtime/defaults.h"

using namespace stack;
using namespace stack::runtime;

namespace {

struct Fixture {
  std::string dir;
  CgroupHost host;
  std::optional<Cgroup> cgroup;

  Fixture() {
    char tmpl[] = "/tmp/stack-init-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::filesystem::create_directories(dir + "/data");
    host.layout = CgroupLayout::kHybrid;
    host.unified = "/sys/fs/cgroup/unified";
    host.v1 = {{"memory", "/sys/fs/cgroup/memory"}, {"pids", "/sys/fs/cgroup/pids"}};
    cgroup = Cgroup::from_paths(host, "/", {{"memory", "/sys/fs/cgroup/memory/c1"},
                                            {"pids", "/sys/fs/cgroup/pids/c1"},
                                            {"unified", "/sys/fs/cgroup/unified/c1"}});
  }
  ~Fixture() { std::filesystem::remove_all(dir); }

  Spec spec() const {
    Spec s = default_spec();
    s.root.path = "/bundle/rootfs";
    s.process->terminal = false;
    s.process->args = {"/bin/true"};
    s.process->user.uid = 1000;
    s.process->user.gid = 1000;
    s.process->user.additional_gids = {10};
    s.mounts.push_back({"/data", "bind", dir + "/data", {"rbind", "ro"}, {}});
    s.linux.masked_paths = {"/proc/kcore"};
    s.linux.readonly_paths = {"/proc/sys"};
    s.linux.sysctl = {{"net.ipv4.ip_forward", "1"}};
    s.process->rlimits = {{"RLIMIT_NOFILE", 7, 1024, 1024}};
    return s;
  }

  InitPlan plan(const Spec& s) const {
    PlanContext ctx;
    ctx.cgroup_host = &host;
    ctx.cgroup = &*cgroup;
    CapabilityMasks caps;
    caps.bounding = caps.effective = caps.permitted = (1ULL << 5) | (1ULL << 10);
    caps.last_cap = 12;
    ctx.caps = caps;
    auto p = build_init_plan(s, ctx);
    REQUIRE(p.ok());
    return std::move(*p);
  }
};

}  // namespace

// Compares with tests/runtime/golden/<name>.txt; STACK_UPDATE_GOLDEN=1 rewrites the file.
void check_golden(const std::string& name, const std::string& transcript) {
  const std::string path = std::string(STACK_TEST_DATA_DIR) + "/runtime/golden/" + name + ".txt";
  if (std::getenv("STACK_UPDATE_GOLDEN")) REQUIRE(write_file_atomic(path, transcript).ok());
  auto expected = read_file(path);
  REQUIRE(expected.ok());
  CHECK(transcript == *expected);
}

TEST_CASE("init steps: the call sequence of a default container", "[runtime][init]") {
  Fixture f;
  Spec s = f.spec();
  InitPlan plan = f.plan(s);
  RecordingSyscalls sys;
  sys.fail_on("openat2(-100, /proc/kcore, 0x210000", ENOTDIR);  // a file: masked with /dev/null
  InitIo io;
  REQUIRE(run_init_steps(plan, sys, io).ok());
  std::string transcript = sys.transcript();
  // The bind source is a temporary directory; name it stably.
  for (size_t at; (at = transcript.find(f.dir)) != std::string::npos;) transcript.replace(at, f.dir.size(), "$TMP");
  check_golden("init_default", transcript);
}

TEST_CASE("init steps: a user namespace container becomes root first and binds devices", "[runtime][init]") {
  Fixture f;
  Spec s = f.spec();
  s.linux.namespaces.push_back({"user", ""});
  s.linux.uid_mappings = {{0, 100000, 65536}};
  s.linux.gid_mappings = {{0, 100000, 65536}};
  s.mounts.pop_back();
  InitPlan plan = f.plan(s);
  CHECK(plan.needs_id_maps);
  CHECK(plan.bind_devices);
  RecordingSyscalls sys;
  InitIo io;
  REQUIRE(run_init_steps(plan, sys, io).ok());
  const auto& calls = sys.calls();
  REQUIRE(calls.size() > 3);
  CHECK(calls[1] == "setresgid(0, 0, 0)");
  CHECK(calls[2] == "setresuid(0, 0, 0)");
  const std::string t = sys.transcript();
  CHECK(t.find("mknodat") == std::string::npos);
  CHECK(t.find("mount(/dev/null, /proc/self/fd/") != std::string::npos);
}

TEST_CASE("init steps: a failing step stops the sequence and names itself", "[runtime][init]") {
  Fixture f;
  Spec s = f.spec();
  InitPlan plan = f.plan(s);
  RecordingSyscalls sys;
  sys.fail_on("pivot_root", EINVAL);
  InitIo io;
  auto st = run_init_steps(plan, sys, io);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == EINVAL);
  CHECK(st.error().to_string() == "pivot_root: pivot_root(., .): Invalid argument");
  CHECK(sys.calls().back() == "pivot_root(., .) = -22");
}

TEST_CASE("init steps: a mount error names the spec entry and destination", "[runtime][init]") {
  Fixture f;
  Spec s = f.spec();
  InitPlan plan = f.plan(s);
  RecordingSyscalls sys;
  sys.fail_on("mount(sysfs", EPERM);
  InitIo io;
  auto st = run_init_steps(plan, sys, io);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().to_string().rfind("mounts[5] (sysfs on /sys): ", 0) == 0);
}

TEST_CASE("init steps: no_new_privileges loads seccomp last, otherwise before the user switch", "[runtime][init]") {
  Fixture f;
  for (bool nnp : {true, false}) {
    Spec s = f.spec();
    s.process->no_new_privileges = nnp;
    InitPlan plan = f.plan(s);
    plan.seccomp = SeccompFilter{std::string(16, '\0'), 0, false};
    RecordingSyscalls sys;
    InitIo io;
    REQUIRE(run_init_steps(plan, sys, io).ok());
    const std::string t = sys.transcript();
    auto seccomp = t.find("seccomp(2 insns");
    auto setuid = t.find("setresuid(1000");
    REQUIRE(seccomp != std::string::npos);
    if (nnp) CHECK(seccomp > t.find("prctl(38, 1"));
    else CHECK(seccomp < setuid);
  }
}
