// Capabilities and seccomp: masks from names, filters compiled with libseccomp and checked by
// running them in a small classic-BPF interpreter against hand-made struct seccomp_data, the
// filter cache, and Docker's default profile.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <string>
#include <vector>

#include "stack/common/atomic_file.h"
#include "stack/runtime/defaults.h"
#include "stack/runtime/security.h"

using namespace stack;
using namespace stack::runtime;

namespace {

struct Call {
  int nr = 0;
  uint32_t arch = seccomp_arch_native();
  std::array<uint64_t, 6> args{};
};

int nr_of(const char* name) { return seccomp_syscall_resolve_name(name); }

Call call(const char* name, std::array<uint64_t, 6> args = {}) {
  Call c;
  c.nr = nr_of(name);
  c.args = args;
  return c;
}

// The struct seccomp_data the kernel hands to a filter (linux/seccomp.h), little-endian.
std::array<unsigned char, 64> seccomp_data_bytes(const Call& c) {
  std::array<unsigned char, 64> d{};
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) d[at + i] = static_cast<unsigned char>(v >> (8 * i));
  };
  put32(0, static_cast<uint32_t>(c.nr));
  put32(4, c.arch);
  for (size_t i = 0; i < 6; ++i) {
    put32(16 + 8 * i, static_cast<uint32_t>(c.args[i]));
    put32(20 + 8 * i, static_cast<uint32_t>(c.args[i] >> 32));
  }
  return d;
}

// A classic-BPF interpreter covering what seccomp filters may contain (kernel
// Documentation/networking/filter.rst): loads, scratch memory, ALU, jumps, returns, TAX/TXA.
uint32_t run(const std::string& bpf, const Call& c) {
  const auto data = seccomp_data_bytes(c);
  std::vector<sock_filter> prog(bpf.size() / sizeof(sock_filter));
  std::memcpy(prog.data(), bpf.data(), prog.size() * sizeof(sock_filter));
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& in = prog[pc];
    const uint32_t src = BPF_SRC(in.code) == BPF_X ? x : in.k;
    switch (BPF_CLASS(in.code)) {
      case BPF_LD:
      case BPF_LDX: {
        uint32_t v = 0;
        switch (BPF_MODE(in.code)) {
          case BPF_IMM: v = in.k; break;
          case BPF_MEM: v = mem[in.k]; break;
          case BPF_LEN: v = data.size(); break;
          case BPF_ABS:
            REQUIRE(in.k + 4 <= data.size());
            std::memcpy(&v, data.data() + in.k, 4);
            break;
          default: FAIL("unsupported load mode " << in.code);
        }
        (BPF_CLASS(in.code) == BPF_LD ? a : x) = v;
        break;
      }
      case BPF_ST: mem[in.k] = a; break;
      case BPF_STX: mem[in.k] = x; break;
      case BPF_ALU:
        switch (BPF_OP(in.code)) {
          case BPF_ADD: a += src; break;
          case BPF_SUB: a -= src; break;
          case BPF_MUL: a *= src; break;
          case BPF_DIV: a = src ? a / src : 0; break;
          case BPF_OR: a |= src; break;
          case BPF_AND: a &= src; break;
          case BPF_LSH: a <<= src; break;
          case BPF_RSH: a >>= src; break;
          case BPF_NEG: a = -a; break;
          default: FAIL("unsupported alu op " << in.code);
        }
        break;
      case BPF_JMP: {
        bool taken = false;
        switch (BPF_OP(in.code)) {
          case BPF_JA: pc += in.k; continue;
          case BPF_JEQ: taken = a == src; break;
          case BPF_JGT: taken = a > src; break;
          case BPF_JGE: taken = a >= src; break;
          case BPF_JSET: taken = (a & src) != 0; break;
          default: FAIL("unsupported jump " << in.code);
        }
        pc += taken ? in.jt : in.jf;
        break;
      }
      case BPF_RET: return BPF_RVAL(in.code) == BPF_A ? a : in.k;
      case BPF_MISC:
        if (BPF_MISCOP(in.code) == BPF_TAX) x = a; else a = x;
        break;
    }
  }
  FAIL("filter ran off its end");
  return 0;
}

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kEperm = SECCOMP_RET_ERRNO | EPERM;

SeccompSyscall rule(std::vector<std::string> names, std::string action,
                    std::vector<SeccompArg> args = {}) {
  SeccompSyscall s;
  s.names = std::move(names);
  s.action = std::move(action);
  s.args = std::move(args);
  return s;
}

Seccomp small_profile() {
  Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.syscalls.push_back(rule({"getpid", "gettid"}, "SCMP_ACT_ALLOW"));
  s.syscalls.push_back(rule({"uname"}, "SCMP_ACT_ALLOW", {{0, 42, 0, "SCMP_CMP_EQ"}}));
  // (arg1 & 0xff) == 0x12
  s.syscalls.push_back(rule({"socket"}, "SCMP_ACT_ALLOW", {{1, 0xff, 0x12, "SCMP_CMP_MASKED_EQ"}}));
  auto nosys = rule({"mkdirat"}, "SCMP_ACT_ERRNO");
  nosys.errno_ret = ENOSYS;
  s.syscalls.push_back(nosys);
  s.syscalls.push_back(rule({"ptrace"}, "SCMP_ACT_KILL_PROCESS"));
  s.syscalls.push_back(rule({"acct"}, "SCMP_ACT_TRACE"));
  s.syscalls.push_back(rule({"getppid"}, "SCMP_ACT_LOG"));
  s.syscalls.push_back(rule({"reboot"}, "SCMP_ACT_TRAP"));
  return s;
}

Seccomp compile_ok_profile(std::vector<SeccompSyscall> rules) {
  Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.syscalls = std::move(rules);
  return s;
}

std::string compile_or_fail(const Seccomp& s) {
  auto f = compile_seccomp(s);
  INFO((f.ok() ? std::string() : f.error().to_string()));
  REQUIRE(f.ok());
  return f->bpf;
}

std::string error_of(const Seccomp& s) {
  auto f = compile_seccomp(s);
  REQUIRE_FALSE(f.ok());
  return f.error().to_string();
}

}  // namespace

TEST_CASE("security: capability masks use the kernel's numbers", "[runtime][caps]") {
  Capabilities caps;
  caps.bounding = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  caps.effective = {"CAP_CHOWN", "CAP_SYS_ADMIN"};
  caps.permitted = {"CAP_SETPCAP"};
  caps.ambient = {"CAP_NET_RAW"};
  auto m = capability_masks(caps);
  REQUIRE(m.ok());
  CHECK(m->bounding == ((1ULL << 29) | (1ULL << 5) | (1ULL << 10)));
  CHECK(m->effective == ((1ULL << 0) | (1ULL << 21)));
  CHECK(m->permitted == (1ULL << 8));
  CHECK(m->inheritable == 0);
  CHECK(m->ambient == (1ULL << 13));
  auto last = read_file("/proc/sys/kernel/cap_last_cap");
  REQUIRE(last.ok());
  CHECK(m->last_cap == std::stoi(*last));
}

TEST_CASE("security: unknown capabilities are errors naming the set", "[runtime][caps]") {
  Capabilities caps;
  caps.effective = {"CAP_CHOWN", "CAP_FOO"};
  auto m = capability_masks(caps);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().to_string() == "process.capabilities.effective: unknown capability \"CAP_FOO\"");
  // libcap alone would accept these spellings; the OCI spec does not.
  for (const char* name : {"chown", "cap_chown", "5"}) {
    Capabilities c;
    c.ambient = {name};
    auto r = capability_masks(c);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().to_string() ==
          std::string("process.capabilities.ambient: unknown capability \"") + name + "\"");
  }
}

TEST_CASE("security: a compiled profile allows, denies and filters arguments",
          "[runtime][seccomp]") {
  const std::string bpf = compile_or_fail(small_profile());
  CHECK(run(bpf, call("getpid")) == kAllow);
  CHECK(run(bpf, call("gettid")) == kAllow);
  CHECK(run(bpf, call("getuid")) == kEperm);
  CHECK(run(bpf, call("uname", {42})) == kAllow);
  CHECK(run(bpf, call("uname", {43})) == kEperm);
  CHECK(run(bpf, call("uname", {42 | (1ULL << 32)})) == kEperm);  // all 64 bits compared
  CHECK(run(bpf, call("socket", {0, 0x3312})) == kAllow);
  CHECK(run(bpf, call("socket", {0, 0x3313})) == kEperm);
  CHECK(run(bpf, call("mkdirat")) == (SECCOMP_RET_ERRNO | ENOSYS));
  CHECK(run(bpf, call("ptrace")) == SECCOMP_RET_KILL_PROCESS);
  CHECK(run(bpf, call("acct")) == (SECCOMP_RET_TRACE | EPERM));
  CHECK(run(bpf, call("getppid")) == SECCOMP_RET_LOG);
  CHECK(run(bpf, call("reboot")) == SECCOMP_RET_TRAP);
}

TEST_CASE("security: a foreign architecture is killed unless listed", "[runtime][seccomp]") {
#if defined(__x86_64__)
  Seccomp s = small_profile();
  Call foreign = call("getpid");
  foreign.arch = SCMP_ARCH_AARCH64;
  CHECK(run(compile_or_fail(s), foreign) == SECCOMP_RET_KILL_THREAD);
  Call i386;
  i386.arch = SCMP_ARCH_X86;
  i386.nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, "getpid");
  CHECK(run(compile_or_fail(s), i386) == SECCOMP_RET_KILL_THREAD);
  // x32 system calls carry bit 30 on the x86_64 ABI; without SCMP_ARCH_X32 they are killed.
  Call x32 = call("getpid");
  x32.nr |= 0x40000000;
  CHECK(run(compile_or_fail(s), x32) == SECCOMP_RET_KILL_THREAD);

  s.architectures = {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64"};
  const std::string multi = compile_or_fail(s);
  CHECK(run(multi, i386) == kAllow);
  i386.nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, "getuid");
  CHECK(run(multi, i386) == kEperm);
  CHECK(run(multi, call("getpid")) == kAllow);
  CHECK(run(multi, foreign) == SECCOMP_RET_KILL_THREAD);
#else
  SUCCEED("architecture checks are written for x86_64 hosts");
#endif
}

TEST_CASE("security: repeated argument indexes are alternatives, distinct ones all apply",
          "[runtime][seccomp]") {
  const std::string either = compile_or_fail(compile_ok_profile({rule(
      {"personality"}, "SCMP_ACT_ALLOW", {{0, 1, 0, "SCMP_CMP_EQ"}, {0, 2, 0, "SCMP_CMP_EQ"}})}));
  CHECK(run(either, call("personality", {1})) == kAllow);
  CHECK(run(either, call("personality", {2})) == kAllow);
  CHECK(run(either, call("personality", {3})) == kEperm);

  const std::string both = compile_or_fail(compile_ok_profile({rule(
      {"kill"}, "SCMP_ACT_ALLOW", {{0, 1, 0, "SCMP_CMP_EQ"}, {1, 9, 0, "SCMP_CMP_GE"}})}));
  CHECK(run(both, call("kill", {1, 9})) == kAllow);
  CHECK(run(both, call("kill", {1, 15})) == kAllow);
  CHECK(run(both, call("kill", {1, 8})) == kEperm);
  CHECK(run(both, call("kill", {2, 9})) == kEperm);

  const std::string ops = compile_or_fail(compile_ok_profile(
      {rule({"dup"}, "SCMP_ACT_ALLOW", {{0, 5, 0, "SCMP_CMP_LT"}}),
       rule({"dup2"}, "SCMP_ACT_ALLOW", {{0, 5, 0, "SCMP_CMP_LE"}}),
       rule({"dup3"}, "SCMP_ACT_ALLOW", {{0, 5, 0, "SCMP_CMP_GT"}}),
       rule({"close"}, "SCMP_ACT_ALLOW", {{0, 5, 0, "SCMP_CMP_NE"}})}));
  CHECK(run(ops, call("dup", {4})) == kAllow);
  CHECK(run(ops, call("dup", {5})) == kEperm);
  CHECK(run(ops, call("dup2", {5})) == kAllow);
  CHECK(run(ops, call("dup2", {6})) == kEperm);
  CHECK(run(ops, call("dup3", {6})) == kAllow);
  CHECK(run(ops, call("dup3", {5})) == kEperm);
  CHECK(run(ops, call("close", {4})) == kAllow);
  CHECK(run(ops, call("close", {5})) == kEperm);
}

TEST_CASE("security: unknown syscall names and default-action rules are skipped",
          "[runtime][seccomp]") {
  const std::string base =
      compile_or_fail(compile_ok_profile({rule({"getpid"}, "SCMP_ACT_ALLOW")}));
  CHECK(compile_or_fail(compile_ok_profile(
            {rule({"getpid", "no_such_syscall"}, "SCMP_ACT_ALLOW")})) == base);
  // (read has a lower number than getpid, so the ENOSYS stub's bound stays the same.)
  CHECK(compile_or_fail(compile_ok_profile({rule({"getpid"}, "SCMP_ACT_ALLOW"),
                                            rule({"read"}, "SCMP_ACT_ERRNO")})) == base);
  // A different errno is a different action, so that rule stays.
  auto other = rule({"getuid"}, "SCMP_ACT_ERRNO");
  other.errno_ret = EACCES;
  const std::string with_other =
      compile_or_fail(compile_ok_profile({rule({"getpid"}, "SCMP_ACT_ALLOW"), other}));
  CHECK(run(with_other, call("getuid")) == (SECCOMP_RET_ERRNO | EACCES));
}

TEST_CASE("security: syscalls newer than the profile get ENOSYS, as with runc",
          "[runtime][seccomp]") {
  const std::string bpf = compile_or_fail(small_profile());
  int last = 0;
  for (const char* n : {"getpid", "gettid", "uname", "socket", "mkdirat", "ptrace", "acct",
                        "getppid", "reboot"})
    last = std::max(last, nr_of(n));
  Call newer;
  newer.nr = last + 1;
  CHECK(run(bpf, newer) == (SECCOMP_RET_ERRNO | ENOSYS));
  newer.nr = 100000;
  CHECK(run(bpf, newer) == (SECCOMP_RET_ERRNO | ENOSYS));
  Call below = call("getuid");  // known, lower than the last named syscall: the default
  REQUIRE(below.nr < last);
  CHECK(run(bpf, below) == kEperm);

  // Allow-like defaults need no stub.
  Seccomp allow = small_profile();
  allow.default_action = "SCMP_ACT_ALLOW";
  allow.syscalls.erase(allow.syscalls.begin());
  CHECK(run(compile_or_fail(allow), newer) == kAllow);
  allow.default_action = "SCMP_ACT_LOG";
  CHECK(run(compile_or_fail(allow), newer) == SECCOMP_RET_LOG);
}

TEST_CASE("security: seccomp errors name the field", "[runtime][seccomp]") {
  Seccomp s = small_profile();
  s.syscalls[3].action = "SCMP_ACT_FOO";
  CHECK(error_of(s) == "linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\"");
  s = small_profile();
  s.syscalls[1].args[0].op = "SCMP_CMP_ALMOST";
  CHECK(error_of(s) ==
        "linux.seccomp.syscalls[1].args[0].op: unknown operator \"SCMP_CMP_ALMOST\"");
  s = small_profile();
  s.syscalls[2].args[0].index = 6;
  CHECK(error_of(s) == "linux.seccomp.syscalls[2].args[0].index: 6 is out of range (a system "
                       "call has 6 arguments)");
  s = small_profile();
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
  CHECK(error_of(s) == "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"");
  s = small_profile();
  s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FAST"};
  CHECK(error_of(s) == "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_FAST\"");
  s = small_profile();
  s.default_action = "SCMP_ACT_MAYBE";
  CHECK(error_of(s) == "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_MAYBE\"");
  s = small_profile();
  s.syscalls.push_back(rule({"openat"}, "SCMP_ACT_NOTIFY"));
  CHECK(error_of(s) == "linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY");
}

TEST_CASE("security: flags and the notify listener", "[runtime][seccomp]") {
  Seccomp s = small_profile();
  s.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
             "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  auto f = compile_seccomp(s);
  REQUIRE(f.ok());
  CHECK(f->flags == (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW | (1U << 5)));
  CHECK_FALSE(f->wants_listener);

  s.listener_path = "/run/agent.sock";
  s.syscalls.push_back(rule({"openat"}, "SCMP_ACT_NOTIFY"));
  f = compile_seccomp(s);
  REQUIRE(f.ok());
  CHECK(f->wants_listener);
  CHECK(run(f->bpf, call("openat")) == SECCOMP_RET_USER_NOTIF);
}

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/stack-security-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    if (DIR* d = ::opendir(path.c_str())) {
      while (dirent* e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
          ::unlink((path + "/" + e->d_name).c_str());
      ::closedir(d);
    }
    ::rmdir((path + "/cache").c_str());
    ::rmdir(path.c_str());
  }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path.c_str())) {
      while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') out.push_back(path + "/" + e->d_name);
      ::closedir(d);
    }
    return out;
  }
};

struct stat stat_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st;
}

}  // namespace

TEST_CASE("security: load_seccomp caches by content and survives corruption",
          "[runtime][seccomp]") {
  TempDir dir;
  const Seccomp profile = small_profile();
  const std::string expected = compile_or_fail(profile);

  auto first = load_seccomp(profile, dir.path);
  REQUIRE(first.ok());
  CHECK(first->bpf == expected);
  auto files = dir.files();
  REQUIRE(files.size() == 1);
  const std::string entry = files[0];
  CHECK(entry.size() == dir.path.size() + 1 + 64 + 4);  // <sha256 hex>.bpf
  auto content = read_file(entry);
  REQUIRE(content.ok());
  CHECK(content->substr(0, 8) == "STKBPF01");
  CHECK(content->size() == 88 + expected.size());
  CHECK(content->substr(88) == expected);

  const struct stat before = stat_of(entry);
  auto second = load_seccomp(profile, dir.path);
  REQUIRE(second.ok());
  CHECK(second->bpf == expected);
  const struct stat after = stat_of(entry);
  CHECK(after.st_ino == before.st_ino);  // not rewritten: served from the file
  CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);

  // A flipped instruction byte fails the digest check: recompiled and rewritten.
  std::string corrupt = *content;
  corrupt[100] ^= 0x5a;
  REQUIRE(write_file_atomic(entry, corrupt).ok());
  auto third = load_seccomp(profile, dir.path);
  REQUIRE(third.ok());
  CHECK(third->bpf == expected);
  CHECK(*read_file(entry) == *content);

  REQUIRE(write_file_atomic(entry, content->substr(0, 50)).ok());  // truncated
  auto fourth = load_seccomp(profile, dir.path);
  REQUIRE(fourth.ok());
  CHECK(fourth->bpf == expected);

  Seccomp changed = profile;
  changed.syscalls[0].names.push_back("getuid");
  auto fifth = load_seccomp(changed, dir.path);
  REQUIRE(fifth.ok());
  CHECK(run(fifth->bpf, call("getuid")) == kAllow);
  CHECK(dir.files().size() == 2);
}

TEST_CASE("security: load_seccomp creates the cache directory", "[runtime][seccomp]") {
  TempDir dir;
  auto f = load_seccomp(small_profile(), dir.path + "/cache");
  REQUIRE(f.ok());
  struct stat st = stat_of(dir.path + "/cache");
  CHECK(S_ISDIR(st.st_mode));
  auto again = load_seccomp(small_profile(), dir.path + "/cache");
  REQUIRE(again.ok());
  CHECK(again->bpf == f->bpf);
  const std::string key_file = dir.path + "/cache/";
  if (DIR* d = ::opendir(key_file.c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ::unlink((key_file + e->d_name).c_str());
    ::closedir(d);
  }
}

TEST_CASE("security: Docker's profile compiles and gates syscalls by capability",
          "[runtime][seccomp][docker]") {
  const Seccomp plain = docker_default_seccomp(docker_default_capabilities());
  REQUIRE(!plain.syscalls.empty());
  CHECK(plain.syscalls[0].names.size() > 300);
  const std::string bpf = compile_or_fail(plain);
  CHECK(run(bpf, call("read")) == kAllow);
  CHECK(run(bpf, call("mount")) == kEperm);
  CHECK(run(bpf, call("unshare")) == kEperm);
  CHECK(run(bpf, call("reboot")) == kEperm);
  CHECK(run(bpf, call("kexec_load")) == kEperm);
  CHECK(run(bpf, call("chroot")) == kAllow);  // CAP_SYS_CHROOT is a Docker default
  CHECK(run(bpf, call("ptrace")) == kAllow);  // minKernel 4.8 rule
  CHECK(run(bpf, call("kcmp")) == kEperm);
  CHECK(run(bpf, call("clone", {0x01200011})) == kAllow);  // fork()'s flags
  CHECK(run(bpf, call("clone", {0x01200011 | 0x00020000})) == kEperm);  // | CLONE_NEWNS
  CHECK(run(bpf, call("clone", {0x10000000})) == kEperm);               // CLONE_NEWUSER
  CHECK(run(bpf, call("clone3")) == (SECCOMP_RET_ERRNO | ENOSYS));
  CHECK(run(bpf, call("personality", {0})) == kAllow);
  CHECK(run(bpf, call("personality", {0x0008})) == kAllow);
  CHECK(run(bpf, call("personality", {0xffffffff})) == kAllow);
  CHECK(run(bpf, call("personality", {0x0400000})) == kEperm);  // ADDR_NO_RANDOMIZE
  CHECK(run(bpf, call("socket", {2 /* AF_INET */})) == kAllow);
  CHECK(run(bpf, call("socket", {40 /* AF_VSOCK */})) == kEperm);
#if defined(__x86_64__)
  CHECK(plain.architectures ==
        std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"});
  CHECK(run(bpf, call("arch_prctl")) == kAllow);
  Call i386;
  i386.arch = SCMP_ARCH_X86;
  i386.nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, "getpid");
  CHECK(run(bpf, i386) == kAllow);
  i386.nr = 100000;
  CHECK(run(bpf, i386) == (SECCOMP_RET_ERRNO | ENOSYS));
  Call x32;
  x32.nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X32, "getpid");
  CHECK(x32.nr == (0x40000000 | 39));
  CHECK(run(bpf, x32) == kAllow);
  x32.nr = 0x40000000 | 100000;
  CHECK(run(bpf, x32) == (SECCOMP_RET_ERRNO | ENOSYS));
  Call newer;
  newer.nr = 100000;
  CHECK(run(bpf, newer) == (SECCOMP_RET_ERRNO | ENOSYS));
#endif

  auto admin_caps = docker_default_capabilities();
  admin_caps.push_back("CAP_SYS_ADMIN");
  admin_caps.push_back("CAP_SYS_PTRACE");
  const std::string admin = compile_or_fail(docker_default_seccomp(admin_caps));
  CHECK(run(admin, call("mount")) == kAllow);
  CHECK(run(admin, call("clone", {0x00020000})) == kAllow);
  CHECK(run(admin, call("clone3")) == kAllow);
  CHECK(run(admin, call("kcmp")) == kAllow);
  CHECK(run(admin, call("reboot")) == kEperm);
}

TEST_CASE("security: compile vs cached load of Docker's profile", "[runtime][seccomp][.bench]") {
  const Seccomp profile = docker_default_seccomp(docker_default_capabilities());
  TempDir dir;
  auto median_us = [](auto&& fn) {
    std::vector<double> us;
    for (int i = 0; i < 20; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      fn();
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                       .count());
    }
    std::sort(us.begin(), us.end());
    return (us[9] + us[10]) / 2;
  };
  const double compile = median_us([&] { REQUIRE(compile_seccomp(profile).ok()); });
  REQUIRE(load_seccomp(profile, dir.path).ok());
  const double cached = median_us([&] { REQUIRE(load_seccomp(profile, dir.path).ok()); });
  std::printf("docker profile: compile_seccomp median %.0f us, cached load_seccomp median %.0f us "
              "(%zu BPF instructions)\n",
              compile, cached, compile_seccomp(profile)->bpf.size() / 8);
}
