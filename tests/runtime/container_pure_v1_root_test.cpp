// A pure cgroup v1 host: this test executable moves into its own mount namespace and detaches
// the cgroup2 mount of this machine's hybrid layout, so the runtime it starts sees v1 hierarchies
// only (the layout crun also needs here). Limits must be enforced the same way, and the
// container's /sys/fs/cgroup must show the v1 hierarchies.
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "runtime/runtime_fixture.h"

using stack::test::RuntimeFixture;

namespace {

// Once per process: private mount namespace without /sys/fs/cgroup/unified.
bool enter_pure_v1() {
  static const bool done = [] {
    if (::unshare(CLONE_NEWNS) != 0) return false;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
    struct stat st {};
    if (::stat("/sys/fs/cgroup/unified", &st) == 0 && ::umount2("/sys/fs/cgroup/unified", MNT_DETACH) != 0)
      return false;
    return true;
  }();
  return done;
}

}  // namespace

TEST_CASE("container on pure v1: limits enforced, v1 hierarchies inside", "[runtime][container][root][cgroup]") {
  REQUIRE(enter_pure_v1());
  RuntimeFixture fx;
  fx.config()["linux"]["resources"]["memory"] = {{"limit", 32 * 1024 * 1024}, {"swap", 32 * 1024 * 1024}};
  fx.config()["linux"]["resources"]["pids"] = {{"limit", 10}};
  SECTION("the memory limit OOM-kills") {
    fx.set_args({"probe", "alloc", "200"});
    CHECK(fx.run_container().status == 137);
  }
  SECTION("the pids limit stops forks; the container sees its v1 hierarchies and no cgroup2") {
    fx.set_script(
        "probe fork 50; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/pids/pids.max;"
        "test -e /sys/fs/cgroup/unified && echo unified || echo no-unified");
    auto r = fx.run_container();
    CHECK(r.status == 0);
    // 10 pids: the shell, probe, and 8 children.
    CHECK(r.out == "forked=8 error=EAGAIN\n33554432\n10\nno-unified\n");
  }
  fx.check_no_leaks();
}
