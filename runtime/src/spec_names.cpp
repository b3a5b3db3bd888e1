// Name tables config.json is validated against. Sources: OCI runtime spec 1.2 (config.md,
// config-linux.md), getrlimit(2), libseccomp's seccomp.h and seccomp(2).
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include "spec_internal.h"

namespace stack::runtime::spec_detail {
namespace {

template <size_t N>
bool contains(const std::array<std::string_view, N>& table, const std::string& name) {
  return std::find(table.begin(), table.end(), name) != table.end();
}

constexpr std::array<std::pair<std::string_view, int>, 16> kRlimits = {{
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
}};

constexpr std::array<std::string_view, 8> kNamespaces = {"pid", "network", "mount",  "ipc",
                                                         "uts", "user",    "cgroup", "time"};

constexpr std::array<std::string_view, 9> kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};

constexpr std::array<std::string_view, 7> kSeccompOperators = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};

// The spec's list (libseccomp 2.5) plus the architectures libseccomp 2.6 added, so that a
// config written for a newer libseccomp parses; compiling the filter rejects what this host's
// libseccomp lacks.
constexpr std::array<std::string_view, 23> kSeccompArchs = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB"};

constexpr std::array<std::string_view, 4> kSeccompFlags = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

// config-linux.md names shared/slave/private/unbindable; runc and crun also take the recursive
// forms, which is what most generated configs use ("rprivate").
constexpr std::array<std::string_view, 8> kPropagations = {
    "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"};

}  // namespace

std::optional<int> rlimit_resource(const std::string& name) {
  for (const auto& [rlimit_name, resource] : kRlimits)
    if (rlimit_name == name) return resource;
  return std::nullopt;
}

bool is_namespace_type(const std::string& name) { return contains(kNamespaces, name); }
bool is_seccomp_action(const std::string& name) { return contains(kSeccompActions, name); }
bool is_seccomp_operator(const std::string& name) { return contains(kSeccompOperators, name); }
bool is_seccomp_arch(const std::string& name) { return contains(kSeccompArchs, name); }
bool is_seccomp_flag(const std::string& name) { return contains(kSeccompFlags, name); }
bool is_rootfs_propagation(const std::string& name) { return contains(kPropagations, name); }

}  // namespace stack::runtime::spec_detail
