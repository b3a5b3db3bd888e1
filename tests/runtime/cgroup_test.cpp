// cgroup host detection, path resolution, directory lifetime and state, on fake trees in a
// temporary directory (no real cgroup is touched).
#include "stack/runtime/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace stack;
using namespace stack::runtime;

namespace {

// A temporary directory standing in for "/", removed at the end of the test.
struct FakeRoot {
  std::string path;
  FakeRoot() {
    char tmpl[] = "/tmp/stack-cgroup-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~FakeRoot() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string at(const std::string& p) const { return path + p; }
  void mkdirs(const std::string& p) const { std::filesystem::create_directories(at(p)); }
  void write(const std::string& p, const std::string& content) const {
    std::filesystem::create_directories(std::filesystem::path(at(p)).parent_path());
    std::ofstream(at(p)) << content;
  }
  std::string read(const std::string& p) const {
    std::ifstream in(at(p));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool exists(const std::string& p) const { return std::filesystem::exists(at(p)); }
};

// /proc/self/mountinfo of the development VM (hybrid: v1 controllers, cgroup2 with hugetlb).
const char* kHybridMountinfo =
    "23 1 0:21 / / rw,relatime - ext4 /dev/vda rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// A systemd host in unified mode, with optional fields (shared:N) before the separator.
const char* kV2Mountinfo =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

// An older systemd host: v1 with cpu,cpuacct and net_cls,net_prio co-mounted, a named
// hierarchy, and a mount point with an escaped space.
const char* kV1Mountinfo =
    "24 22 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "25 24 0:22 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup "
    "cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n"
    "28 24 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup "
    "cgroup rw,cpu,cpuacct\n"
    "29 24 0:26 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:14 - cgroup cgroup "
    "rw,net_cls,net_prio\n"
    "30 24 0:27 / /sys/fs/cgroup/my\\040memory rw,nosuid master:3 propagate_from:2 - cgroup "
    "cgroup rw,memory\n";

CgroupHost v1_host() {
  CgroupHost h;
  h.layout = CgroupLayout::kV1;
  for (const char* c : {"memory", "cpuset", "pids", "freezer", "name=systemd"}) {
    h.v1[c] = std::string("/sys/fs/cgroup/") + (std::string(c) == "name=systemd" ? "systemd" : c);
  }
  h.v1["cpu"] = h.v1["cpuacct"] = "/sys/fs/cgroup/cpu,cpuacct";
  return h;
}

CgroupHost hybrid_host() {
  CgroupHost h;
  h.layout = CgroupLayout::kHybrid;
  h.v1["memory"] = "/sys/fs/cgroup/memory";
  h.v1["pids"] = "/sys/fs/cgroup/pids";
  h.unified = "/sys/fs/cgroup/unified";
  h.unified_controllers = {"hugetlb"};
  return h;
}

CgroupHost v2_host() {
  CgroupHost h;
  h.layout = CgroupLayout::kV2;
  h.unified = "/sys/fs/cgroup";
  h.unified_controllers = {"cpu", "io", "memory", "pids"};
  return h;
}

void make_mounts(const FakeRoot& root, const CgroupHost& host) {
  for (const auto& [c, m] : host.v1) root.mkdirs(m);
  if (!host.unified.empty()) {
    std::string all;
    for (const auto& c : host.unified_controllers) all += (all.empty() ? "" : " ") + c;
    root.write(host.unified + "/cgroup.controllers", all + "\n");
  }
}

}  // namespace

TEST_CASE("cgroup: detects this machine's hybrid layout from mountinfo", "[runtime][cgroup]") {
  FakeRoot root;
  root.write("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
  auto host = detect_cgroup_host(kHybridMountinfo, root.path);
  REQUIRE(host.ok());
  CHECK(host->layout == CgroupLayout::kHybrid);
  CHECK(host->unified == "/sys/fs/cgroup/unified");
  CHECK(host->unified_controllers == std::vector<std::string>{"hugetlb"});
  std::map<std::string, std::string> expected;
  for (const char* c :
       {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"}) {
    expected[c] = std::string("/sys/fs/cgroup/") + c;
  }
  expected["name=systemd"] = "/sys/fs/cgroup/systemd";
  CHECK(host->v1 == expected);
}

TEST_CASE("cgroup: detects pure v2 and reads the root's controllers", "[runtime][cgroup]") {
  FakeRoot root;
  root.write("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  auto host = detect_cgroup_host(kV2Mountinfo, root.path);
  REQUIRE(host.ok());
  CHECK(host->layout == CgroupLayout::kV2);
  CHECK(host->unified == "/sys/fs/cgroup");
  CHECK(host->v1.empty());
  CHECK(host->unified_controllers == std::vector<std::string>{"cpuset", "cpu", "io", "memory",
                                                              "hugetlb", "pids", "rdma", "misc"});
}

TEST_CASE("cgroup: detects v1 with co-mounted controllers and escaped mount points",
          "[runtime][cgroup]") {
  auto host = detect_cgroup_host(kV1Mountinfo, "/nonexistent");
  REQUIRE(host.ok());
  CHECK(host->layout == CgroupLayout::kV1);
  CHECK(host->unified.empty());
  std::map<std::string, std::string> expected = {{"name=systemd", "/sys/fs/cgroup/systemd"},
                                                 {"cpu", "/sys/fs/cgroup/cpu,cpuacct"},
                                                 {"cpuacct", "/sys/fs/cgroup/cpu,cpuacct"},
                                                 {"net_cls", "/sys/fs/cgroup/net_cls,net_prio"},
                                                 {"net_prio", "/sys/fs/cgroup/net_cls,net_prio"},
                                                 {"memory", "/sys/fs/cgroup/my memory"}};
  CHECK(host->v1 == expected);
}

TEST_CASE("cgroup: mountinfo without cgroups is an error", "[runtime][cgroup]") {
  auto host = detect_cgroup_host("22 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n");
  REQUIRE_FALSE(host.ok());
  CHECK(host.error().to_string() == "mountinfo: no cgroup or cgroup2 filesystem is mounted");
}

TEST_CASE("cgroup: parses /proc/self/cgroup, splitting co-mounted controllers",
          "[runtime][cgroup]") {
  auto self = parse_proc_cgroup(
      "9:name=systemd:/\n4:memory:/process_api/b6f0\n2:cpu,cpuacct:/a:b\n0::/user.slice/s.scope\n");
  std::map<std::string, std::string> expected = {{"name=systemd", "/"},
                                                 {"memory", "/process_api/b6f0"},
                                                 {"cpu", "/a:b"},
                                                 {"cpuacct", "/a:b"},
                                                 {"", "/user.slice/s.scope"}};
  CHECK(self == expected);
}

TEST_CASE("cgroup: absolute path on v1 makes every hierarchy's directory and copies cpuset",
          "[runtime][cgroup]") {
  FakeRoot root;
  auto host = v1_host();
  make_mounts(root, host);
  root.write("/sys/fs/cgroup/cpuset/cpuset.cpus", "0-3\n");
  root.write("/sys/fs/cgroup/cpuset/cpuset.mems", "0\n");
  auto cg = Cgroup::create(host, root.path, "/stack/web-1", "ignored", {{"memory", "/elsewhere"}});
  REQUIRE(cg.ok());
  std::map<std::string, std::string> expected;
  for (const auto& [c, m] : host.v1) expected[c] = root.at(m + "/stack/web-1");
  CHECK(cg->paths() == expected);
  CHECK(root.read("/sys/fs/cgroup/cpuset/stack/cpuset.cpus") == "0-3\n");
  CHECK(root.read("/sys/fs/cgroup/cpuset/stack/cpuset.mems") == "0\n");
  CHECK(root.read("/sys/fs/cgroup/cpuset/stack/web-1/cpuset.cpus") == "0-3\n");
  CHECK(root.read("/sys/fs/cgroup/cpuset/stack/web-1/cpuset.mems") == "0\n");
  CHECK_FALSE(root.exists("/sys/fs/cgroup/memory/stack/web-1/cpuset.cpus"));

  REQUIRE(cg->destroy().ok());
  for (const auto& [c, m] : host.v1) {
    CHECK(root.exists(m));
    CHECK_FALSE(root.exists(m + "/stack"));
  }
}

TEST_CASE("cgroup: relative path on hybrid goes below the own cgroup, unified enables controllers",
          "[runtime][cgroup]") {
  FakeRoot root;
  auto host = hybrid_host();
  make_mounts(root, host);
  root.mkdirs("/sys/fs/cgroup/memory/process_api/b6f0");
  auto self = parse_proc_cgroup("8:pids:/\n4:memory:/process_api/b6f0\n0::/\n");
  auto cg = Cgroup::create(host, root.path, "", "ctr1", self);
  REQUIRE(cg.ok());
  std::map<std::string, std::string> expected = {
      {"memory", root.at("/sys/fs/cgroup/memory/process_api/b6f0/ctr1")},
      {"pids", root.at("/sys/fs/cgroup/pids/ctr1")},
      {"unified", root.at("/sys/fs/cgroup/unified/ctr1")}};
  CHECK(cg->paths() == expected);
  CHECK(root.read("/sys/fs/cgroup/unified/cgroup.subtree_control") == "+hugetlb\n");

  REQUIRE(cg->destroy().ok());
  CHECK(root.exists("/sys/fs/cgroup/memory/process_api/b6f0"));
  CHECK_FALSE(root.exists("/sys/fs/cgroup/memory/process_api/b6f0/ctr1"));
  CHECK_FALSE(root.exists("/sys/fs/cgroup/unified/ctr1"));
}

TEST_CASE("cgroup: relative path on v2 starts at the own cgroup's parent (no internal processes)",
          "[runtime][cgroup]") {
  FakeRoot root;
  auto host = v2_host();
  make_mounts(root, host);
  root.write("/sys/fs/cgroup/user.slice/cgroup.controllers", "cpu memory pids\n");
  root.mkdirs("/sys/fs/cgroup/user.slice/session-1.scope");
  auto cg =
      Cgroup::create(host, root.path, "stack/db", "db", {{"", "/user.slice/session-1.scope"}});
  REQUIRE(cg.ok());
  CHECK(cg->paths() == std::map<std::string, std::string>{
                           {"unified", root.at("/sys/fs/cgroup/user.slice/stack/db")}});
  CHECK(root.read("/sys/fs/cgroup/cgroup.subtree_control") == "+cpu +io +memory +pids\n");
  CHECK(root.read("/sys/fs/cgroup/user.slice/cgroup.subtree_control") == "+cpu +memory +pids\n");
  CHECK_FALSE(root.exists("/sys/fs/cgroup/user.slice/session-1.scope/cgroup.subtree_control"));

  auto fd = cg->open_unified_dir();
  REQUIRE(fd.ok());
  REQUIRE(fd->valid());
  struct stat st {};
  REQUIRE(::fstat(fd->get(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((::fcntl(fd->get(), F_GETFL) & O_PATH) == O_PATH);

  REQUIRE(cg->destroy().ok());
  CHECK_FALSE(root.exists("/sys/fs/cgroup/user.slice/stack"));
  CHECK(root.exists("/sys/fs/cgroup/user.slice/session-1.scope"));
}

TEST_CASE("cgroup: systemd-style and escaping paths are refused", "[runtime][cgroup]") {
  FakeRoot root;
  auto host = v2_host();
  make_mounts(root, host);
  auto systemd = Cgroup::create(host, root.path, "system.slice:stack:web", "web", {});
  REQUIRE_FALSE(systemd.ok());
  CHECK(systemd.error().to_string() ==
        "linux.cgroupsPath: systemd cgroup paths (\"slice:prefix:name\") need --systemd-cgroup, "
        "which stack-runtime does not support");
  auto dotdot = Cgroup::create(host, root.path, "/a/../../etc", "x", {});
  REQUIRE_FALSE(dotdot.ok());
  CHECK(dotdot.error().to_string() ==
        "linux.cgroupsPath: \"/a/../../etc\" must not contain \"..\"");
}

TEST_CASE("cgroup: a failed create removes the directories it made", "[runtime][cgroup]") {
  FakeRoot root;
  auto host = v1_host();
  make_mounts(root, host);
  std::filesystem::remove(root.at("/sys/fs/cgroup/pids"));
  auto cg = Cgroup::create(host, root.path, "/x/y", "c", {});
  REQUIRE_FALSE(cg.ok());
  CHECK(cg.error().to_string() == "linux.cgroupsPath: creating " +
                                      root.at("/sys/fs/cgroup/pids/x") +
                                      ": No such file or directory");
  CHECK_FALSE(root.exists("/sys/fs/cgroup/cpu,cpuacct/x"));
  CHECK_FALSE(root.exists("/sys/fs/cgroup/memory/x"));
}

TEST_CASE("cgroup: destroy removes sub-cgroups first and only the parents create() made",
          "[runtime][cgroup]") {
  FakeRoot root;
  auto host = v2_host();
  make_mounts(root, host);
  root.mkdirs("/sys/fs/cgroup/stack");
  auto cg = Cgroup::create(host, root.path, "/stack/a/b", "b", {});
  REQUIRE(cg.ok());
  root.write("/sys/fs/cgroup/stack/a/b/nested/inner/cgroup.procs", "");
  root.mkdirs("/sys/fs/cgroup/stack/a/sibling");
  REQUIRE(cg->destroy().ok());
  CHECK_FALSE(root.exists("/sys/fs/cgroup/stack/a/b"));
  CHECK(root.exists("/sys/fs/cgroup/stack/a/sibling"));  // "a" is shared now: kept
  std::filesystem::remove(root.at("/sys/fs/cgroup/stack/a/sibling"));

  // Re-opened from persisted paths, only the container's own directory is removed.
  auto again = Cgroup::create(host, root.path, "/stack/a/b", "b", {});
  REQUIRE(again.ok());
  auto reopened = Cgroup::from_paths(host, root.path, again->paths());
  REQUIRE(reopened.destroy().ok());
  CHECK_FALSE(root.exists("/sys/fs/cgroup/stack/a/b"));
  CHECK(root.exists("/sys/fs/cgroup/stack/a"));
  CHECK(reopened.destroy().ok());  // already gone: not an error
}

TEST_CASE("cgroup: add_process writes each distinct directory once", "[runtime][cgroup]") {
  FakeRoot root;
  auto host = v1_host();
  make_mounts(root, host);
  auto cg = Cgroup::create(host, root.path, "/c", "c", {});
  REQUIRE(cg.ok());
  REQUIRE(cg->add_process(4242).ok());
  CHECK(root.read("/sys/fs/cgroup/cpu,cpuacct/c/cgroup.procs") == "4242\n");
  CHECK(root.read("/sys/fs/cgroup/systemd/c/cgroup.procs") == "4242\n");
  auto fd = cg->open_unified_dir();
  REQUIRE(fd.ok());
  CHECK_FALSE(fd->valid());  // pure v1: nothing to clone into

  std::filesystem::remove(root.at("/sys/fs/cgroup/memory/c/cgroup.procs"));
  std::filesystem::create_directory(root.at("/sys/fs/cgroup/memory/c/cgroup.procs"));
  auto st = cg->add_process(7);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().to_string() == "adding process 7 to " + root.at("/sys/fs/cgroup/memory/c") +
                                      ": writing cgroup.procs: Is a directory");
}

TEST_CASE("cgroup: v1 freezer and processes from the pids hierarchy", "[runtime][cgroup]") {
  FakeRoot root;
  auto host = v1_host();
  make_mounts(root, host);
  auto cg = Cgroup::create(host, root.path, "/c", "c", {});
  REQUIRE(cg.ok());
  REQUIRE(cg->freeze(true).ok());
  CHECK(root.read("/sys/fs/cgroup/freezer/c/freezer.state") == "FROZEN\n");
  CHECK(*cg->frozen());
  REQUIRE(cg->freeze(false).ok());
  CHECK(root.read("/sys/fs/cgroup/freezer/c/freezer.state") == "THAWED\n");
  CHECK_FALSE(*cg->frozen());

  root.write("/sys/fs/cgroup/pids/c/cgroup.procs", "12\n7\n");
  root.write("/sys/fs/cgroup/pids/c/sub/cgroup.procs", "7\n30\n");
  root.write("/sys/fs/cgroup/memory/c/cgroup.procs", "999\n");
  auto pids = cg->processes();
  REQUIRE(pids.ok());
  CHECK(*pids == std::vector<pid_t>{7, 12, 30});

  root.write("/sys/fs/cgroup/memory/c/memory.oom_control",
             "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  CHECK(*cg->oom_kill_count() == 3);
}

TEST_CASE("cgroup: v2 freeze waits for cgroup.events and counts oom_kill", "[runtime][cgroup]") {
  FakeRoot root;
  auto host = v2_host();
  make_mounts(root, host);
  auto cg = Cgroup::create(host, root.path, "/c", "c", {});
  REQUIRE(cg.ok());
  root.write("/sys/fs/cgroup/c/cgroup.events", "populated 1\nfrozen 1\n");
  REQUIRE(cg->freeze(true).ok());
  CHECK(root.read("/sys/fs/cgroup/c/cgroup.freeze") == "1\n");
  CHECK(*cg->frozen());

  // Never reports frozen 0: thawing times out with an error naming the directory.
  auto st = cg->freeze(false);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().to_string() ==
        root.at("/sys/fs/cgroup/c") + ": cgroup.events: still frozen after 2 s");
  CHECK(root.read("/sys/fs/cgroup/c/cgroup.freeze") == "0\n");
  root.write("/sys/fs/cgroup/c/memory.events",
             "low 0\nhigh 0\nmax 4\noom 2\noom_group_kill 5\noom_kill 1\n");
  CHECK(*cg->oom_kill_count() == 1);
}
