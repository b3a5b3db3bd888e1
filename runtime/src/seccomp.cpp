// linux.seccomp → classic BPF through libseccomp, following runc's translation
// (libcontainer/seccomp/seccomp_linux.go): native architecture kept, unknown syscall names
// skipped, rules equal to the default action skipped, repeated argument indexes split into one
// rule per condition. The filter is exported, not loaded, so that the container's init installs
// it with one seccomp(2) call.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "stack/common/unique_fd.h"
#include "stack/runtime/security.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

namespace stack::runtime {
namespace {

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

template <class V>
struct Named {
  std::string_view name;
  V value;
};

// Every architecture name libseccomp 2.5 knows (seccomp_arch_resolve_name would want the
// lower-case libseccomp spelling; the OCI spec uses these).
constexpr std::array<Named<uint32_t>, 19> kArches{{
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
}};

constexpr std::array<Named<scmp_compare>, 7> kOps{{
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
}};

// TSYNC is accepted and ignored: the init is single-threaded when it installs the filter, and
// TSYNC cannot be combined with NEW_LISTENER without TSYNC_ESRCH (seccomp(2)).
constexpr std::array<Named<unsigned>, 4> kFlags{{
    {"SECCOMP_FILTER_FLAG_TSYNC", 0},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
}};

template <class V, size_t N>
const V* lookup(const std::array<Named<V>, N>& table, std::string_view name) {
  for (const auto& e : table)
    if (e.name == name) return &e.value;
  return nullptr;
}

// SCMP_ACT_ERRNO and SCMP_ACT_TRACE default to EPERM, as runc does.
Result<uint32_t> action_value(const std::string& action, const std::optional<unsigned>& errno_ret,
                              const std::string& path) {
  const uint32_t ret = errno_ret.value_or(EPERM);
  if (action == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret);
  if (action == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret);
  if (action == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (action == "SCMP_ACT_KILL" || action == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (action == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (action == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (action == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (action == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  return Error(EINVAL, path + ": unknown action \"" + action + "\"");
}

Result<std::vector<scmp_arg_cmp>> conditions(const SeccompSyscall& rule, const std::string& path) {
  std::vector<scmp_arg_cmp> out;
  for (size_t i = 0; i < rule.args.size(); ++i) {
    const auto& arg = rule.args[i];
    const std::string at = path + ".args[" + std::to_string(i) + "]";
    if (arg.index > 5) {
      return Error(EINVAL, at + ".index: " + std::to_string(arg.index) +
                               " is out of range (a system call has 6 arguments)");
    }
    const scmp_compare* op = lookup(kOps, arg.op);
    if (op == nullptr) return Error(EINVAL, at + ".op: unknown operator \"" + arg.op + "\"");
    // For SCMP_CMP_MASKED_EQ, value is the mask and valueTwo the datum (runtime-spec
    // config-linux.md; libseccomp takes them in the same order).
    out.push_back(scmp_arg_cmp{arg.index, *op, arg.value, arg.value_two});
  }
  return out;
}

// runc: when two conditions test the same argument, libseccomp would AND them, which is
// rarely what the profile means; runc adds each condition as its own rule (OR) instead.
bool repeats_an_index(const std::vector<scmp_arg_cmp>& conds) {
  unsigned seen = 0;
  for (const auto& c : conds) {
    if (seen & (1U << c.arg)) return true;
    seen |= 1U << c.arg;
  }
  return false;
}

Status add_rule(void* ctx, const SeccompSyscall& rule, size_t index, uint32_t default_action,
                bool* notify) {
  const std::string path = "linux.seccomp.syscalls[" + std::to_string(index) + "]";
  STACK_TRY(uint32_t action, action_value(rule.action, rule.errno_ret, path + ".action"));
  STACK_TRY(auto conds, conditions(rule, path));
  // libseccomp rejects rules whose action equals the default; runc skips them.
  if (action == default_action) return {};
  if (action == SCMP_ACT_NOTIFY) *notify = true;
  for (size_t n = 0; n < rule.names.size(); ++n) {
    int nr = seccomp_syscall_resolve_name(rule.names[n].c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp/arch: skipped as runc does
    int rc = 0;
    if (repeats_an_index(conds)) {
      for (const auto& c : conds) {
        rc = seccomp_rule_add_array(ctx, action, nr, 1, &c);
        if (rc != 0) break;
      }
    } else {
      rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conds.size()),
                                  conds.empty() ? nullptr : conds.data());
    }
    if (rc != 0) {
      return Error(-rc, path + ".names[" + std::to_string(n) + "]: adding a rule for \"" +
                            rule.names[n] + "\": " + std::strerror(-rc));
    }
  }
  return {};
}

Status add_arches(void* ctx, const Seccomp& seccomp) {
  for (size_t i = 0; i < seccomp.architectures.size(); ++i) {
    const auto& name = seccomp.architectures[i];
    const std::string path = "linux.seccomp.architectures[" + std::to_string(i) + "]";
    const uint32_t* arch = lookup(kArches, name);
    if (arch == nullptr) return Error(EINVAL, path + ": unknown architecture \"" + name + "\"");
    // The native architecture is already in the context (-EEXIST); runc keeps it too.
    int rc = seccomp_arch_add(ctx, *arch);
    if (rc != 0 && rc != -EEXIST) {
      return Error(-rc, path + ": adding architecture \"" + name + "\": " + std::strerror(-rc));
    }
  }
  return {};
}

Result<unsigned> filter_flags(const Seccomp& seccomp) {
  unsigned flags = 0;
  for (size_t i = 0; i < seccomp.flags.size(); ++i) {
    const unsigned* flag = lookup(kFlags, seccomp.flags[i]);
    if (flag == nullptr) {
      return Error(EINVAL, "linux.seccomp.flags[" + std::to_string(i) + "]: unknown flag \"" +
                               seccomp.flags[i] + "\"");
    }
    flags |= *flag;
  }
  return flags;
}

Result<std::string> export_bpf(void* ctx) {
  UniqueFd fd(static_cast<int>(::syscall(SYS_memfd_create, "stack-seccomp", MFD_CLOEXEC)));
  if (!fd) return errno_error("linux.seccomp: memfd_create");
  int rc = seccomp_export_bpf(ctx, fd.get());
  if (rc != 0)
    return Error(-rc, std::string("linux.seccomp: exporting BPF: ") + std::strerror(-rc));
  std::string out;
  char buf[16384];
  for (off_t off = 0;;) {
    ssize_t n = ::pread(fd.get(), buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("linux.seccomp: reading exported BPF");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  if (out.empty() || out.size() % sizeof(sock_filter) != 0 ||
      out.size() / sizeof(sock_filter) > BPF_MAXINSNS) {
    return Error(EINVAL, "linux.seccomp: libseccomp produced a filter of " +
                             std::to_string(out.size()) + " bytes");
  }
  return out;
}

// The highest syscall number any rule names for one architecture (0 if none resolves).
uint32_t last_syscall(const Seccomp& seccomp, uint32_t arch) {
  int last = 0;
  for (const auto& rule : seccomp.syscalls)
    for (const auto& name : rule.names)
      last = std::max(last, seccomp_syscall_resolve_name_arch(arch, name.c_str()));
  return static_cast<uint32_t>(last);
}

// One kernel architecture (AUDIT_ARCH_*) in the filter with the last syscall of its main ABI
// and, for x86_64, of x32 (whose numbers carry bit 30 and share AUDIT_ARCH_X86_64).
struct ArchBound {
  uint32_t audit_arch, last = 0, last_x32 = 0;
};

std::vector<ArchBound> arch_bounds(const Seccomp& seccomp) {
  std::vector<ArchBound> bounds;
  std::vector<uint32_t> tokens = {seccomp_arch_native()};
  for (const auto& name : seccomp.architectures)
    if (const uint32_t* t = lookup(kArches, name)) tokens.push_back(*t);
  for (uint32_t token : tokens) {
    const bool x32 = token == SCMP_ARCH_X32;
    const uint32_t audit = x32 ? SCMP_ARCH_X86_64 : token;
    auto it = std::find_if(bounds.begin(), bounds.end(),
                           [&](const ArchBound& b) { return b.audit_arch == audit; });
    if (it == bounds.end()) it = bounds.insert(bounds.end(), ArchBound{audit});
    (x32 ? it->last_x32 : it->last) = last_syscall(seccomp, token);
  }
  return bounds;
}

// runc's -ENOSYS stub (libcontainer/seccomp/patchbpf/enosys_linux.go): a syscall numbered
// above every syscall the profile names is newer than the profile, so it answers ENOSYS rather
// than the default errno. Programs then take their fallback path (glibc retries clone3 as
// clone, fchmodat2 as fchmodat) instead of failing with EPERM. Allow-like default actions need
// no stub. The stub sits in front of libseccomp's program and falls through into it.
std::string enosys_stub(const Seccomp& seccomp, uint32_t default_action) {
  const uint32_t kind = default_action & SECCOMP_RET_ACTION_FULL;
  if (kind == SCMP_ACT_ALLOW || kind == SCMP_ACT_LOG || kind == SECCOMP_RET_TRACE) return {};
  const sock_filter enosys = BPF_STMT(BPF_RET | BPF_K, SCMP_ACT_ERRNO(ENOSYS));
  std::vector<sock_filter> prog;
  for (const auto& g : arch_bounds(seccomp)) {
    std::vector<sock_filter> s = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)};  // nr
    // A check is "jgt last" falling into "ret ENOSYS", else skipping it. An ABI the profile
    // does not list is left to libseccomp's bad-architecture action.
    auto check = [&](uint32_t last) {
      s.push_back(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, last, 0, 1));
      s.push_back(enosys);
    };
    if (g.audit_arch == SCMP_ARCH_X86_64) {
      const uint8_t main_len = g.last ? 3 : 1;  // check + ja, or ja alone
      s.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000, main_len, 0));
      if (g.last) check(g.last);
      s.push_back(BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0));
      if (g.last_x32) check(g.last_x32);
    } else if (g.last) {
      check(g.last);
    } else {
      continue;
    }
    s.push_back(BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0));
    prog.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4));  // arch
    prog.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, g.audit_arch, 0,
                            static_cast<uint8_t>(s.size())));
    prog.insert(prog.end(), s.begin(), s.end());
  }
  // Every `ja` lands on the first instruction after the stub: libseccomp's program.
  for (size_t pc = 0; pc < prog.size(); ++pc)
    if (prog[pc].code == (BPF_JMP | BPF_JA))
      prog[pc].k = static_cast<uint32_t>(prog.size() - pc - 1);
  return std::string(reinterpret_cast<const char*>(prog.data()), prog.size() * sizeof(sock_filter));
}

}  // namespace

Result<SeccompFilter> compile_seccomp(const Seccomp& seccomp) {
  SeccompFilter filter;
  STACK_TRY(filter.flags, filter_flags(seccomp));
  STACK_TRY(uint32_t default_action,
            action_value(seccomp.default_action, seccomp.default_errno_ret,
                         "linux.seccomp.defaultAction"));
  if (default_action == SCMP_ACT_NOTIFY) {
    return Error(EINVAL, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default");
  }
  Ctx ctx(seccomp_init(default_action));
  if (!ctx) return Error(EINVAL, "linux.seccomp: libseccomp refused the default action");
  // The runtime sets no_new_privs itself, only when process.noNewPrivileges asks for it.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc != 0) {
    return Error(-rc, std::string("linux.seccomp: ") + std::strerror(-rc));
  }
  STACK_TRY_VOID(add_arches(ctx.get(), seccomp));
  for (size_t i = 0; i < seccomp.syscalls.size(); ++i)
    STACK_TRY_VOID(add_rule(ctx.get(), seccomp.syscalls[i], i, default_action,
                            &filter.wants_listener));
  if (filter.wants_listener && seccomp.listener_path.empty()) {
    return Error(EINVAL, "linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY");
  }
  STACK_TRY(std::string program, export_bpf(ctx.get()));
  filter.bpf = enosys_stub(seccomp, default_action) + program;
  if (filter.bpf.size() / sizeof(sock_filter) > BPF_MAXINSNS) {
    return Error(E2BIG, "linux.seccomp: the filter has " +
                            std::to_string(filter.bpf.size() / sizeof(sock_filter)) +
                            " instructions; the kernel accepts " + std::to_string(BPF_MAXINSNS));
  }
  return filter;
}

int install_seccomp(const SeccompFilter& filter, int* listener_fd) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(filter.bpf.size() / sizeof(sock_filter));
  prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(filter.bpf.data()));
  unsigned long flags = filter.flags;
  if (filter.wants_listener) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0) return errno;
  if (filter.wants_listener && listener_fd != nullptr) *listener_fd = static_cast<int>(rc);
  return 0;
}

}  // namespace stack::runtime
