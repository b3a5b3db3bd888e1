// Steps of the container init, shared between its files. All of them run in the child after
// clone(): they go through the Syscalls seam and report failures as Errors, never throw or log.
#pragma once

#include <string>

#include "hooks.h"
#include "init_plan.h"

namespace stack::runtime {

inline Status with_context(Status s, const std::string& what) {
  if (!s.ok()) return std::move(s).error().wrap(what);
  return s;
}
template <class T>
Result<T> with_context(Result<T> r, const std::string& what) {
  if (!r.ok()) return std::move(r).error().wrap(what);
  return r;
}

// Paths inside the rootfs, resolved with RESOLVE_IN_ROOT relative to root_fd.
Result<UniqueFd> open_in_root(Syscalls& sys, int root_fd, const std::string& path, int flags);
Result<UniqueFd> ensure_dir_in_root(Syscalls& sys, int root_fd, const std::string& path);
Result<UniqueFd> ensure_file_in_root(Syscalls& sys, int root_fd, const std::string& path);

// Filesystem steps (init_rootfs.cpp), in the order run_init_steps calls them.
Status prepare_rootfs(const InitPlan& plan, Syscalls& sys, UniqueFd& root_fd);
Status mount_all(const InitPlan& plan, Syscalls& sys, int root_fd);
Status create_devices(const InitPlan& plan, Syscalls& sys, int root_fd);
Status enter_rootfs(const InitPlan& plan, Syscalls& sys, int root_fd);
Status protect_paths(const InitPlan& plan, Syscalls& sys);

// Process steps (init_process.cpp).
Status create_time_namespace(const InitPlan& plan, Syscalls& sys);
Status enter_namespaces(const InitPlan& plan, Syscalls& sys);
Status set_identity(const InitPlan& plan, Syscalls& sys);  // hostname, domainname, sysctl
Status set_limits(const InitPlan& plan, Syscalls& sys);    // rlimits, oom_score_adj
Status switch_user(const InitPlan& plan, Syscalls& sys);   // groups, ids, capabilities
// Loads the filter; returns the listener fd (owned by the caller) when the profile has
// SCMP_ACT_NOTIFY rules, else -1.
Result<int> apply_seccomp(const InitPlan& plan, Syscalls& sys);

// Console (init_console.cpp): a pty whose master goes to the console socket and whose slave
// becomes stdio, the controlling terminal and /dev/console. Real system calls only.
Status setup_console(int console_socket_fd, bool bind_dev_console);


}  // namespace stack::runtime

namespace stack::runtime {
// Sends fd over an AF_UNIX socket with SCM_RIGHTS and name as the payload.
Status send_fd(int socket_fd, int fd, const std::string& name);
}  // namespace stack::runtime
