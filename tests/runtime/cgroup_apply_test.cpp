// Cgroup::apply on fake trees: the exact bytes each v1 and v2 file receives, runc's v2
// conversions, write orderings, and errors that name the spec field and the file.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "stack/runtime/cgroup.h"

using namespace stack;
using namespace stack::runtime;

namespace {

struct FakeRoot {
  std::string path;
  FakeRoot() {
    char tmpl[] = "/tmp/stack-cgroup-apply-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~FakeRoot() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string at(const std::string& p) const { return path + p; }
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

// The container's directories exist already (as after create()); apply() only writes files.
Cgroup v1_cgroup(const FakeRoot& root) {
  CgroupHost h;
  h.layout = CgroupLayout::kV1;
  std::map<std::string, std::string> paths;
  for (const char* c :
       {"memory", "cpu", "cpuset", "pids", "blkio", "hugetlb", "devices", "net_cls", "net_prio"}) {
    h.v1[c] = std::string("/sys/fs/cgroup/") + c;
    paths[c] = root.at(h.v1[c] + "/ctr");
    std::filesystem::create_directories(paths[c]);
  }
  return Cgroup::from_paths(h, root.path, paths);
}

Cgroup v2_cgroup(const FakeRoot& root) {
  CgroupHost h;
  h.layout = CgroupLayout::kV2;
  h.unified = "/sys/fs/cgroup";
  h.unified_controllers = {"cpuset", "cpu", "io", "memory", "hugetlb", "pids"};
  root.write("/sys/fs/cgroup/ctr/cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
  return Cgroup::from_paths(h, root.path, {{"unified", root.at("/sys/fs/cgroup/ctr")}});
}

// This machine: v1 memory and pids, cgroup2 with hugetlb only.
Cgroup hybrid_cgroup(const FakeRoot& root) {
  CgroupHost h;
  h.layout = CgroupLayout::kHybrid;
  h.v1 = {{"memory", "/sys/fs/cgroup/memory"}, {"pids", "/sys/fs/cgroup/pids"}};
  h.unified = "/sys/fs/cgroup/unified";
  h.unified_controllers = {"hugetlb"};
  std::map<std::string, std::string> paths = {{"memory", root.at("/sys/fs/cgroup/memory/ctr")},
                                              {"pids", root.at("/sys/fs/cgroup/pids/ctr")},
                                              {"unified", root.at("/sys/fs/cgroup/unified/ctr")}};
  for (const auto& [k, d] : paths) std::filesystem::create_directories(d);
  return Cgroup::from_paths(h, root.path, paths);
}

DeviceRule rule(bool allow, char type, std::optional<int64_t> major, std::optional<int64_t> minor,
                std::string access) {
  return DeviceRule{allow, type, major, minor, std::move(access)};
}

Resources rich_resources() {
  Resources r;
  r.memory = MemoryResources{};
  r.memory->limit = 512 << 20;
  r.memory->swap = int64_t{1} << 30;
  r.memory->reservation = 256 << 20;
  r.cpu = CpuResources{};
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->cpus = "0-1";
  r.cpu->mems = "0";
  r.pids_limit = 100;
  r.block_io = BlockIoResources{};
  r.block_io->weight = 500;
  r.block_io->throttle_read_bps = {{8, 0, 1048576}, {8, 16, 2097152}};
  r.block_io->throttle_write_iops = {{8, 0, 300}};
  r.hugepage_limits = {{"2MB", 4194304}};
  return r;
}

std::string v1(const std::string& controller, const std::string& file) {
  return "/sys/fs/cgroup/" + controller + "/ctr/" + file;
}
std::string v2(const std::string& file) { return "/sys/fs/cgroup/ctr/" + file; }

}  // namespace

TEST_CASE("cgroup apply: v1 writes every resource file with exact contents", "[runtime][cgroup]") {
  FakeRoot root;
  auto cg = v1_cgroup(root);
  root.write(v1("blkio", "blkio.bfq.weight"), "100\n");  // BFQ present: its file is used
  Resources r = rich_resources();
  r.memory->swappiness = 10;
  r.memory->disable_oom_killer = true;
  r.cpu->realtime_period = 1000000;
  r.cpu->realtime_runtime = 950000;
  r.devices = {rule(false, 'a', {}, {}, "rwm"), rule(true, 'c', 1, 3, "rwm"),
               rule(true, 'c', {}, {}, "m"), rule(true, 'b', 8, {}, "r"),
               rule(false, 'c', 5, 1, "")};
  r.network = NetworkResources{0x100001, {{"eth0", 5}, {"lo", 2}}};
  auto st = cg.apply(r);
  INFO(st.error().to_string());
  REQUIRE(st.ok());
  CHECK(root.read(v1("memory", "memory.limit_in_bytes")) == "536870912\n");
  CHECK(root.read(v1("memory", "memory.memsw.limit_in_bytes")) == "1073741824\n");
  CHECK(root.read(v1("memory", "memory.soft_limit_in_bytes")) == "268435456\n");
  CHECK(root.read(v1("memory", "memory.swappiness")) == "10\n");
  CHECK(root.read(v1("memory", "memory.oom_control")) == "1\n");
  CHECK_FALSE(root.exists(v1("memory", "memory.use_hierarchy")));
  CHECK(root.read(v1("cpu", "cpu.shares")) == "1024\n");
  CHECK(root.read(v1("cpu", "cpu.cfs_period_us")) == "100000\n");
  CHECK(root.read(v1("cpu", "cpu.cfs_quota_us")) == "50000\n");
  CHECK(root.read(v1("cpu", "cpu.rt_period_us")) == "1000000\n");
  CHECK(root.read(v1("cpu", "cpu.rt_runtime_us")) == "950000\n");
  CHECK(root.read(v1("cpuset", "cpuset.cpus")) == "0-1\n");
  CHECK(root.read(v1("cpuset", "cpuset.mems")) == "0\n");
  CHECK(root.read(v1("pids", "pids.max")) == "100\n");
  CHECK(root.read(v1("blkio", "blkio.bfq.weight")) == "500\n");
  CHECK_FALSE(root.exists(v1("blkio", "blkio.weight")));
  CHECK(root.read(v1("blkio", "blkio.throttle.read_bps_device")) == "8:0 1048576\n8:16 2097152\n");
  CHECK(root.read(v1("blkio", "blkio.throttle.write_iops_device")) == "8:0 300\n");
  CHECK(root.read(v1("hugetlb", "hugetlb.2MB.limit_in_bytes")) == "4194304\n");
  CHECK(root.read(v1("devices", "devices.allow")) == "c 1:3 rwm\nc *:* m\nb 8:* r\n");
  CHECK(root.read(v1("devices", "devices.deny")) == "c 5:1 rwm\n");  // last group written
  CHECK(root.read(v1("net_cls", "net_cls.classid")) == "1048577\n");
  CHECK(root.read(v1("net_prio", "net_prio.ifpriomap")) == "eth0 5\nlo 2\n");
}

TEST_CASE("cgroup apply: v1 deny-all comes first as \"a\"", "[runtime][cgroup]") {
  FakeRoot root;
  auto cg = v1_cgroup(root);
  Resources r;
  r.devices = {rule(false, 'a', {}, {}, "rwm"), rule(true, 'c', 136, {}, "rwm")};
  REQUIRE(cg.apply(r).ok());
  CHECK(root.read(v1("devices", "devices.deny")) == "a\n");
  CHECK(root.read(v1("devices", "devices.allow")) == "c 136:* rwm\n");
}

TEST_CASE("cgroup apply: v1 memory and swap order follows the current limit", "[runtime][cgroup]") {
  FakeRoot root;
  auto cg = v1_cgroup(root);
  Resources r;
  r.memory = MemoryResources{};
  r.memory->limit = 512 << 20;
  r.memory->swap = int64_t{1} << 30;
  // memsw cannot be written (a directory): which file was written before the failure shows the
  // order.
  std::filesystem::create_directories(root.at(v1("memory", "memory.memsw.limit_in_bytes")));

  SECTION("lowering from unlimited: limit first") {
    root.write(v1("memory", "memory.limit_in_bytes"), "9223372036854771712\n");
    auto st = cg.apply(r);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().to_string() ==
          "linux.resources.memory.swap: writing memory.memsw.limit_in_bytes: Is a directory");
    CHECK(root.read(v1("memory", "memory.limit_in_bytes")) == "536870912\n");
  }
  SECTION("raising from 100 MiB: swap first") {
    root.write(v1("memory", "memory.limit_in_bytes"), "104857600\n");
    auto st = cg.apply(r);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().to_string() ==
          "linux.resources.memory.swap: writing memory.memsw.limit_in_bytes: Is a directory");
    CHECK(root.read(v1("memory", "memory.limit_in_bytes")) == "104857600\n");
  }
}

TEST_CASE("cgroup apply: v1 unlimited memory makes swap unlimited, pids 0 is max",
          "[runtime][cgroup]") {
  FakeRoot root;
  auto cg = v1_cgroup(root);
  root.write(v1("memory", "memory.memsw.limit_in_bytes"), "1073741824\n");
  Resources r;
  r.memory = MemoryResources{};
  r.memory->limit = -1;
  r.pids_limit = 0;
  REQUIRE(cg.apply(r).ok());
  CHECK(root.read(v1("memory", "memory.limit_in_bytes")) == "-1\n");
  CHECK(root.read(v1("memory", "memory.memsw.limit_in_bytes")) == "-1\n");
  CHECK(root.read(v1("pids", "pids.max")) == "max\n");
}

TEST_CASE("cgroup apply: v2 converts as runc does", "[runtime][cgroup]") {
  FakeRoot root;
  auto cg = v2_cgroup(root);
  Resources r = rich_resources();
  r.unified = {{"memory.high", "400000000"}, {"cgroup.max.depth", "3"}};
  auto st = cg.apply(r);
  INFO(st.error().to_string());
  REQUIRE(st.ok());
  CHECK(root.read(v2("memory.max")) == "536870912\n");
  CHECK(root.read(v2("memory.swap.max")) == "536870912\n");  // memory+swap − memory
  CHECK(root.read(v2("memory.low")) == "268435456\n");
  CHECK(root.read(v2("cpu.weight")) == "39\n");  // 1 + (1024 − 2) × 9999 / 262142
  CHECK(root.read(v2("cpu.max")) == "50000 100000\n");
  CHECK(root.read(v2("cpuset.cpus")) == "0-1\n");
  CHECK(root.read(v2("cpuset.mems")) == "0\n");
  CHECK(root.read(v2("pids.max")) == "100\n");
  CHECK(root.read(v2("io.weight")) == "4950\n");  // 1 + (500 − 10) × 9999 / 990
  CHECK(root.read(v2("io.max")) == "8:0 rbps=1048576\n8:16 rbps=2097152\n8:0 wiops=300\n");
  CHECK(root.read(v2("hugetlb.2MB.max")) == "4194304\n");
  CHECK(root.read(v2("memory.high")) == "400000000\n");
  CHECK(root.read(v2("cgroup.max.depth")) == "3\n");
}

TEST_CASE("cgroup apply: v2 edge values", "[runtime][cgroup]") {
  FakeRoot root;
  auto cg = v2_cgroup(root);
  Resources r;
  r.memory = MemoryResources{};
  r.cpu = CpuResources{};
  r.block_io = BlockIoResources{};
  SECTION("unlimited memory, period only, minimum and maximum weights, bfq") {
    root.write(v2("io.bfq.weight"), "100\n");
    r.memory->limit = -1;
    r.cpu->period = 50000;
    r.cpu->shares = 2;
    r.pids_limit = -1;
    r.block_io->weight = 1000;
    REQUIRE(cg.apply(r).ok());
    CHECK(root.read(v2("memory.max")) == "max\n");
    CHECK(root.read(v2("memory.swap.max")) == "max\n");
    CHECK(root.read(v2("cpu.max")) == "max 50000\n");
    CHECK(root.read(v2("cpu.weight")) == "1\n");
    CHECK(root.read(v2("pids.max")) == "max\n");
    CHECK(root.read(v2("io.bfq.weight")) == "1000\n");  // BFQ takes the blkio range as is
    CHECK_FALSE(root.exists(v2("io.weight")));
  }
  SECTION("largest shares and blkio weight") {
    r.cpu->shares = 262144;
    r.block_io->weight = 10;
    REQUIRE(cg.apply(r).ok());
    CHECK(root.read(v2("cpu.weight")) == "10000\n");
    CHECK(root.read(v2("io.weight")) == "1\n");
  }
  SECTION("swap below the limit") {
    r.memory->limit = 200;
    r.memory->swap = 100;
    auto st = cg.apply(r);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().to_string() ==
          "linux.resources.memory.swap: memory+swap (100) must not be below memory.limit (200)");
    CHECK_FALSE(root.exists(v2("memory.max")));
  }
  SECTION("swap without a limit") {
    r.memory->swap = 100;
    auto st = cg.apply(r);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().to_string() ==
          "linux.resources.memory.swap: a swap limit needs a memory limit (memory.limit)");
  }
  SECTION("realtime has no v2 file") {
    r.cpu->realtime_runtime = 1000;
    auto st = cg.apply(r);
    REQUIRE_FALSE(st.ok());
    CHECK(
        st.error().to_string() ==
        "linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime CPU bandwidth (cpu.rt_*)");
  }
}

TEST_CASE("cgroup apply: unified keys need their controller enabled", "[runtime][cgroup]") {
  FakeRoot root;
  auto cg = v2_cgroup(root);
  Resources r;
  r.unified = {{"rdma.max", "mlx4_0 hca_handle=2"}};
  auto st = cg.apply(r);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().to_string() ==
        "linux.resources.unified[\"rdma.max\"]: the rdma controller is not "
        "enabled in " +
            root.at("/sys/fs/cgroup/ctr"));
  CHECK_FALSE(root.exists(v2("rdma.max")));
  r.unified = {{"../memory.max", "1"}};
  st = cg.apply(r);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().to_string() ==
        "linux.resources.unified[\"../memory.max\"]: not a cgroup interface file name");
}

TEST_CASE("cgroup apply: hybrid sends hugetlb to cgroup2 and the rest to v1", "[runtime][cgroup]") {
  FakeRoot root;
  auto cg = hybrid_cgroup(root);
  Resources r;
  r.memory = MemoryResources{};
  r.memory->limit = 64 << 20;
  r.pids_limit = 42;
  r.hugepage_limits = {{"2MB", 2097152}, {"1GB", 0}};
  REQUIRE(cg.apply(r).ok());
  CHECK(root.read("/sys/fs/cgroup/memory/ctr/memory.limit_in_bytes") == "67108864\n");
  CHECK(root.read("/sys/fs/cgroup/pids/ctr/pids.max") == "42\n");
  CHECK(root.read("/sys/fs/cgroup/unified/ctr/hugetlb.2MB.max") == "2097152\n");
  CHECK(root.read("/sys/fs/cgroup/unified/ctr/hugetlb.1GB.max") == "0\n");
  CHECK_FALSE(root.exists("/sys/fs/cgroup/unified/ctr/memory.max"));

  Resources cpu;
  cpu.cpu = CpuResources{};
  cpu.cpu->shares = 512;
  auto st = cg.apply(cpu);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().to_string() ==
        "linux.resources.cpu: the cpu controller is not mounted on this host (neither a cgroup v1 "
        "hierarchy nor enabled in cgroup2)");
}

TEST_CASE("cgroup apply: v1-only controllers are errors on v2", "[runtime][cgroup]") {
  FakeRoot root;
  auto cg = v2_cgroup(root);
  Resources r;
  r.network = NetworkResources{7, {}};
  auto st = cg.apply(r);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().to_string() ==
        "linux.resources.network.classID: the net_cls controller is not mounted on this host "
        "(neither a cgroup v1 hierarchy nor enabled in cgroup2)");
}

TEST_CASE("cgroup apply: a refused write names the field and the file", "[runtime][cgroup]") {
  FakeRoot root;
  auto cg = v1_cgroup(root);
  std::filesystem::create_directories(root.at(v1("pids", "pids.max")));
  std::filesystem::create_directories(root.at(v1("blkio", "blkio.throttle.write_bps_device")));
  Resources r;
  r.pids_limit = 5;
  auto st = cg.apply(r);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().to_string() == "linux.resources.pids.limit: writing pids.max: Is a directory");
  CHECK(st.error().code == EISDIR);

  Resources b;
  b.block_io = BlockIoResources{};
  b.block_io->throttle_write_bps = {{8, 0, 1}, {8, 16, 2}};
  st = cg.apply(b);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().to_string() ==
        "linux.resources.blockIO.throttleWriteBpsDevice[0]: writing "
        "blkio.throttle.write_bps_device: Is a directory");
}

TEST_CASE("cgroup apply: absent fields are left alone, checkBeforeUpdate refuses a low limit",
          "[runtime][cgroup]") {
  FakeRoot root;
  auto cg = v2_cgroup(root);
  Resources empty;
  empty.memory = MemoryResources{};
  empty.cpu = CpuResources{};
  REQUIRE(cg.apply(empty).ok());
  CHECK_FALSE(root.exists(v2("memory.max")));
  CHECK_FALSE(root.exists(v2("cpu.max")));
  CHECK_FALSE(root.exists(v2("cpu.weight")));

  root.write(v2("memory.current"), "1000000\n");
  Resources r;
  r.memory = MemoryResources{};
  r.memory->limit = 999999;
  r.memory->check_before_update = true;
  auto st = cg.apply(r);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().to_string() ==
        "linux.resources.memory.limit: 999999 is not above the current "
        "usage 1000000 (memory.current, checkBeforeUpdate)");
  r.memory->limit = 2000000;
  REQUIRE(cg.apply(r).ok());
  CHECK(root.read(v2("memory.max")) == "2000000\n");
}
