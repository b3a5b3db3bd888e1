// Docker's default seccomp profile (moby profiles/seccomp/default.json, generated from
// default_linux.go), and the filtering Docker applies to it when a container starts
// (profiles/seccomp/seccomp_linux.go setupSeccomp): keep the architectures of the native one,
// keep a rule when the container has all of its `includes` capabilities and none of its
// `excludes`, and its architecture filters match the native architecture.
#include <cerrno>
#include <string>
#include <vector>

#include "stack/runtime/defaults.h"

namespace stack::runtime {
namespace {

// CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET|CLONE_NEWCGROUP:
// without CAP_SYS_ADMIN, clone may not create namespaces.
constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;

struct ProfileRule {
  std::vector<std::string> names;
  std::string action = "SCMP_ACT_ALLOW";
  std::optional<unsigned> errno_ret;
  std::vector<SeccompArg> args;
  std::vector<std::string> include_arches, include_caps;  // Go GOARCH names, capability names
  std::vector<std::string> exclude_arches, exclude_caps;
};

// The architecture Docker's filter matches against: Go's GOARCH spelling.
#if defined(__x86_64__)
constexpr const char* kGoArch = "amd64";
#elif defined(__aarch64__)
constexpr const char* kGoArch = "arm64";
#else
constexpr const char* kGoArch = "unsupported";
#endif

std::vector<std::string> native_architectures() {
#if defined(__x86_64__)
  return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
  return {};
#endif
}

SeccompArg arg_eq(unsigned index, uint64_t value) { return {index, value, 0, "SCMP_CMP_EQ"}; }

// Syscalls every container may use. Names are facts from Docker's profile; those unknown to the
// running libseccomp are skipped at compile time, as runc does.
std::vector<std::string> allowed_names() {
  return {
      "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
      "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
      "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
      "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
      "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
      "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old",
      "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
      "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
      "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
      "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64",
      "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
      "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
      "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid",
      "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername",
      "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
      "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
      "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
      "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
      "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
      "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
      "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
      "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
      "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
      "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack",
      "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
      "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr",
      "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
      "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd",
      "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat",
      "_newselect", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal",
      "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll",
      "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
      "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
      "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
      "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
      "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
      "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
      "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
      "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
      "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
      "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
      "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
      "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
      "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
      "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
      "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
      "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr",
      "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
      "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64",
      "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs",
      "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
      "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
      "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
      "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat",
      "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid",
      "waitpid", "write", "writev",
  };
}

// The conditional part of the profile, in Docker's order.
std::vector<ProfileRule> profile_rules() {
  const std::string errno_act = "SCMP_ACT_ERRNO";
  std::vector<ProfileRule> r;
  r.push_back({allowed_names()});
  // minKernel 4.8 in Docker's profile (ptrace could bypass seccomp before); always met here.
  r.push_back({{"process_vm_readv", "process_vm_writev", "ptrace"}});
  r.push_back({{"socket"}, "SCMP_ACT_ALLOW", {}, {{0, 40 /* AF_VSOCK */, 0, "SCMP_CMP_NE"}}});
  for (uint64_t persona : {0x0ULL, 0x0008ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL})
    r.push_back({{"personality"}, "SCMP_ACT_ALLOW", {}, {arg_eq(0, persona)}});
  r.push_back({{"sync_file_range2", "swapcontext"}, "SCMP_ACT_ALLOW", {}, {}, {"ppc64le"}});
  r.push_back({{"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                "cacheflush", "set_tls"},
               "SCMP_ACT_ALLOW", {}, {}, {"arm", "arm64"}});
  r.push_back({{"arch_prctl"}, "SCMP_ACT_ALLOW", {}, {}, {"amd64", "x32"}});
  r.push_back({{"modify_ldt"}, "SCMP_ACT_ALLOW", {}, {}, {"amd64", "x32", "x86"}});
  r.push_back({{"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"},
               "SCMP_ACT_ALLOW", {}, {}, {"s390", "s390x"}});
  r.push_back({{"riscv_flush_icache"}, "SCMP_ACT_ALLOW", {}, {}, {"riscv64"}});
  r.push_back({{"open_by_handle_at"}, "SCMP_ACT_ALLOW", {}, {}, {}, {"CAP_DAC_READ_SEARCH"}});
  r.push_back({{"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
                "fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
                "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
                "setns", "syslog", "umount", "umount2", "unshare"},
               "SCMP_ACT_ALLOW", {}, {}, {}, {"CAP_SYS_ADMIN"}});
  r.push_back({{"clone"}, "SCMP_ACT_ALLOW", {},
               {{0, kCloneNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"}}, {}, {}, {"s390", "s390x"},
               {"CAP_SYS_ADMIN"}});
  // s390's clone takes the flags as its second argument.
  r.push_back({{"clone"}, "SCMP_ACT_ALLOW", {},
               {{1, kCloneNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"}}, {"s390", "s390x"}, {}, {},
               {"CAP_SYS_ADMIN"}});
  // clone3's flags live in a struct seccomp cannot read: ENOSYS makes glibc fall back to clone.
  r.push_back({{"clone3"}, errno_act, ENOSYS, {}, {}, {}, {}, {"CAP_SYS_ADMIN"}});
  r.push_back({{"reboot"}, "SCMP_ACT_ALLOW", {}, {}, {}, {"CAP_SYS_BOOT"}});
  r.push_back({{"chroot"}, "SCMP_ACT_ALLOW", {}, {}, {}, {"CAP_SYS_CHROOT"}});
  r.push_back({{"delete_module", "init_module", "finit_module"}, "SCMP_ACT_ALLOW", {}, {}, {},
               {"CAP_SYS_MODULE"}});
  r.push_back({{"acct"}, "SCMP_ACT_ALLOW", {}, {}, {}, {"CAP_SYS_PACCT"}});
  r.push_back({{"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
                "ptrace"},
               "SCMP_ACT_ALLOW", {}, {}, {}, {"CAP_SYS_PTRACE"}});
  r.push_back({{"iopl", "ioperm"}, "SCMP_ACT_ALLOW", {}, {}, {}, {"CAP_SYS_RAWIO"}});
  r.push_back({{"settimeofday", "stime", "clock_settime", "clock_settime64"}, "SCMP_ACT_ALLOW",
               {}, {}, {}, {"CAP_SYS_TIME"}});
  r.push_back({{"vhangup"}, "SCMP_ACT_ALLOW", {}, {}, {}, {"CAP_SYS_TTY_CONFIG"}});
  r.push_back({{"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"},
               "SCMP_ACT_ALLOW", {}, {}, {}, {"CAP_SYS_NICE"}});
  r.push_back({{"syslog"}, "SCMP_ACT_ALLOW", {}, {}, {}, {"CAP_SYSLOG"}});
  r.push_back({{"bpf"}, "SCMP_ACT_ALLOW", {}, {}, {}, {"CAP_BPF"}});
  r.push_back({{"perf_event_open"}, "SCMP_ACT_ALLOW", {}, {}, {}, {"CAP_PERFMON"}});
  return r;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  for (const auto& s : list)
    if (s == item) return true;
  return false;
}

// Docker's rule selection: every `includes` condition must hold, no `excludes` one may.
bool selected(const ProfileRule& rule, const std::vector<std::string>& caps) {
  if (!rule.include_arches.empty() && !contains(rule.include_arches, kGoArch)) return false;
  for (const auto& cap : rule.include_caps)
    if (!contains(caps, cap)) return false;
  if (contains(rule.exclude_arches, kGoArch)) return false;
  for (const auto& cap : rule.exclude_caps)
    if (contains(caps, cap)) return false;
  return true;
}

}  // namespace

Seccomp docker_default_seccomp(const std::vector<std::string>& caps) {
  Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.default_errno_ret = EPERM;
  s.architectures = native_architectures();
  for (auto& rule : profile_rules()) {
    if (!selected(rule, caps)) continue;
    s.syscalls.push_back(SeccompSyscall{std::move(rule.names), std::move(rule.action),
                                        rule.errno_ret, std::move(rule.args)});
  }
  return s;
}

}  // namespace stack::runtime
