// The container init's process steps: namespaces it joins or creates after clone, identity
// (hostname, sysctl), limits, the user switch with capabilities, and seccomp.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>

#include <algorithm>

#include "init_internal.h"

namespace stack::runtime {

Status enter_namespaces(const InitPlan& plan, Syscalls& sys) {
  for (const auto& join : plan.joins) {
    if (join.nstype == CLONE_NEWPID) continue;  // joined by the parent before clone
    STACK_TRY_VOID(with_context(sys.setns(join.fd.get(), join.nstype), "joining namespace " + join.path));
  }
  if (plan.unshare_flags)
    STACK_TRY_VOID(with_context(sys.unshare(plan.unshare_flags), "creating namespaces"));
  // The cgroup namespace is created only now, after the parent moved this process into the
  // container's cgroup, so that the namespace's root is that cgroup (runc does the same).
  if (plan.clone_flags & CLONE_NEWCGROUP)
    STACK_TRY_VOID(with_context(sys.unshare(CLONE_NEWCGROUP), "creating cgroup namespace"));
  return {};
}

// Before becoming root of a new user namespace: the setresuid there clears the dumpable flag,
// which makes /proc/self/timens_offsets unwritable to the process itself.
Status create_time_namespace(const InitPlan& plan, Syscalls& sys) {
  if (plan.clone_flags & CLONE_NEWTIME) {
    STACK_TRY_VOID(with_context(sys.unshare(CLONE_NEWTIME), "creating time namespace"));
    if (!plan.time_offsets.empty()) {
      std::string offsets;
      for (const auto& [clock, off] : plan.time_offsets)
        offsets += clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
      STACK_TRY(UniqueFd fd, with_context(sys.open("/proc/self/timens_offsets", O_WRONLY, 0), "time offsets"));
      STACK_TRY_VOID(with_context(sys.write(fd.get(), offsets), "writing time offsets"));
    }
  }
  return {};
}

Status set_identity(const InitPlan& plan, Syscalls& sys) {
  if (plan.hostname) STACK_TRY_VOID(with_context(sys.sethostname(*plan.hostname), "setting hostname"));
  if (plan.domainname) STACK_TRY_VOID(with_context(sys.setdomainname(*plan.domainname), "setting domainname"));
  if (plan.personality) STACK_TRY_VOID(with_context(sys.personality(*plan.personality), "linux.personality"));
  for (const auto& [key, value] : plan.sysctl) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    const std::string what = "setting sysctl " + key;
    STACK_TRY(UniqueFd fd, with_context(sys.open(path, O_WRONLY | O_TRUNC, 0), what));
    STACK_TRY_VOID(with_context(sys.write(fd.get(), value), what));
  }
  return {};
}

Status set_limits(const InitPlan& plan, Syscalls& sys) {
  for (const auto& r : plan.rlimits) {
    auto set = sys.setrlimit(r.resource, r.soft, r.hard);
    if (set.ok()) continue;
    std::string what = "setting " + r.type + " to " + std::to_string(r.soft) + "/" + std::to_string(r.hard);
    if (set.error().code == EPERM) what += " (raising a hard limit needs CAP_SYS_RESOURCE)";
    return std::move(set).error().wrap(what);
  }
  if (plan.oom_score_adj) {
    const std::string what = "setting oom_score_adj to " + std::to_string(*plan.oom_score_adj);
    STACK_TRY(UniqueFd fd, with_context(sys.open("/proc/self/oom_score_adj", O_WRONLY, 0), what));
    STACK_TRY_VOID(with_context(sys.write(fd.get(), std::to_string(*plan.oom_score_adj)), what));
  }
  return {};
}

// Order matters (capabilities(7)): the bounding set is dropped while still root with
// CAP_SETPCAP; PR_SET_KEEPCAPS keeps the permitted set across setresuid; capset then narrows
// permitted/effective/inheritable, and ambient capabilities are raised last because each must
// be in both permitted and inheritable.
Status switch_user(const InitPlan& plan, Syscalls& sys) {
  if (plan.caps) {
    for (int cap = 0; cap <= plan.caps->last_cap; ++cap) {
      if (plan.caps->bounding & (1ULL << cap)) continue;
      STACK_TRY_VOID(with_context(sys.prctl(PR_CAPBSET_DROP, static_cast<unsigned long>(cap), 0, 0, 0),
                                  "dropping capability " + std::to_string(cap) + " from the bounding set"));
    }
  }
  STACK_TRY_VOID(with_context(sys.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "PR_SET_KEEPCAPS"));
  if (plan.set_groups) STACK_TRY_VOID(with_context(sys.setgroups(plan.additional_gids), "setgroups"));
  STACK_TRY_VOID(with_context(sys.setresgid(plan.gid, plan.gid, plan.gid), "setting gid " + std::to_string(plan.gid)));
  STACK_TRY_VOID(with_context(sys.setresuid(plan.uid, plan.uid, plan.uid), "setting uid " + std::to_string(plan.uid)));
  STACK_TRY_VOID(with_context(sys.prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), "PR_SET_KEEPCAPS"));
  if (plan.caps) {
    const auto& c = *plan.caps;
    STACK_TRY_VOID(with_context(sys.capset(c.effective, c.permitted, c.inheritable), "capset"));
    STACK_TRY_VOID(with_context(sys.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clearing ambient capabilities"));
    // An ambient capability must also be permitted and inheritable; runc skips the others with a
    // warning instead of failing, and so do we (silently: the init cannot log).
    const uint64_t raisable = c.ambient & c.permitted & c.inheritable;
    for (int cap = 0; cap <= c.last_cap; ++cap) {
      if (!(raisable & (1ULL << cap))) continue;
      STACK_TRY_VOID(with_context(sys.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<unsigned long>(cap), 0, 0),
                                  "raising ambient capability " + std::to_string(cap)));
    }
  }
  if (plan.umask) sys.umask(*plan.umask);
  else sys.umask(022);
  return {};
}

Result<int> apply_seccomp(const InitPlan& plan, Syscalls& sys) {
  if (!plan.seccomp) return -1;
  unsigned flags = plan.seccomp->flags;
  if (plan.seccomp->wants_listener) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  auto fd = sys.seccomp_filter(plan.seccomp->bpf, flags);
  if (!fd.ok()) return std::move(fd).error().wrap("loading seccomp filter");
  return *fd;
}

}  // namespace stack::runtime
