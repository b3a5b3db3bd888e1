// Parity with runc (needs root and /usr/sbin/runc): the same bundle run by runc and by
// stack-runtime must show the same capabilities, ids, hostname and set of mount points.
// Device names and mount options are not compared: they legitimately differ in detail.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "runtime/runtime_fixture.h"

using stack::test::RuntimeFixture;

namespace {

const char kRunc[] = "/usr/sbin/runc";

struct Observed {
  std::string head;                 // probe caps, probe ids, hostname
  std::vector<std::string> points;  // sorted mount points from /proc/self/mounts
};

Observed observe(const std::string& out) {
  Observed o;
  auto at = out.find("---\n");
  o.head = out.substr(0, at);
  if (at == std::string::npos) return o;
  std::istringstream in(out.substr(at + 4));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string source, point;
    if (f >> source >> point) o.points.push_back(point);
  }
  std::sort(o.points.begin(), o.points.end());
  return o;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

}  // namespace

TEST_CASE("container vs runc: same caps, ids, hostname and mount points", "[runtime][container][root][runc]") {
  if (::access(kRunc, X_OK) != 0) {
    WARN("runc not installed: skipped");
    return;
  }
  RuntimeFixture fx;
  fx.set_script("probe caps; probe ids; hostname; echo ---; cat /proc/self/mounts");
  auto ours = fx.run_container();
  REQUIRE(ours.status == 0);
  fx.check_no_leaks();

  // runc removes only its leaf cgroup, so it gets a leaf of its own and the parent is removed
  // here, in every hierarchy.
  const std::string runc_id = fx.id() + "-runc";
  const std::string runc_root = fx.dir() + "/runc-state";
  fx.config()["linux"]["cgroupsPath"] = "/" + fx.cgroup_parent() + "/" + runc_id;
  fx.write_config();
  auto theirs = stack::test::run_command(
      {kRunc, "--root", runc_root, "run", "--bundle", fx.bundle(), runc_id}, fx.dir() + "/runc.out",
      fx.dir() + "/runc.err", 20000);
  INFO("runc stderr: " << theirs.err);
  if (theirs.timed_out)
    stack::test::run_command({kRunc, "--root", runc_root, "delete", "--force", runc_id}, "/dev/null", "/dev/null", 20000);
  for (const auto& h : stack::test::cgroup_hierarchies()) {
    ::rmdir((h + "/" + fx.cgroup_parent() + "/" + runc_id).c_str());
    ::rmdir((h + "/" + fx.cgroup_parent()).c_str());
  }
  REQUIRE(theirs.status == 0);

  auto a = observe(ours.out), b = observe(theirs.out);
  CHECK(a.head == b.head);
  CHECK(joined(a.points) == joined(b.points));
  fx.check_no_leaks();
}
