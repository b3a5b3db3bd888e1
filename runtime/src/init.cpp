// The container init's step list, in the fixed order of ARCHITECTURE.md §5. Each step is small
// and goes through the Syscalls seam, so the whole sequence is checked as one transcript in the
// unit tests; the steps that need a parent (sync, start) are skipped when io has no fds.
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstring>

#include "init_internal.h"
#include "sync.h"

namespace stack::runtime {
namespace {

Status wait_for_parent(InitIo& io) {
  if (io.sync_fd < 0) return {};
  STACK_TRY(auto msg, sync_recv(io.sync_fd));
  if (msg.first != SyncMsg::kContinue) return Error(EPROTO, "unexpected message from the runtime");
  if (!msg.second.empty()) io.state_json = std::move(msg.second);
  return {};
}

Status wait_for_start(const InitIo& io) {
  if (io.start_fd < 0) return {};
  char byte = 0;
  for (;;) {
    ssize_t n = ::read(io.start_fd, &byte, 1);
    if (n == 1) return {};
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return Error(ECANCELED, "the runtime went away before start");
    return errno_error("waiting for start");
  }
}

// Becoming root of a new user namespace: after the parent wrote the maps, the process still has
// the overflow ids; setting 0 gives it the namespace's root (runc's nsexec does the same).
Status become_ns_root(const InitPlan& plan, Syscalls& sys) {
  if (!plan.needs_id_maps) return {};
  STACK_TRY_VOID(with_context(sys.setresgid(0, 0, 0), "becoming root in the user namespace"));
  return with_context(sys.setresuid(0, 0, 0), "becoming root in the user namespace");
}

// Loads the seccomp filter; a listener fd (SCMP_ACT_NOTIFY) goes to the parent, which passes it
// on to linux.seccomp.listenerPath before this process goes on.
Status load_seccomp_filter(const InitPlan& plan, Syscalls& sys, InitIo& io) {
  STACK_TRY(int listener, apply_seccomp(plan, sys));
  if (listener < 0) return {};
  UniqueFd owned(listener);
  if (io.sync_fd < 0) return {};
  STACK_TRY_VOID(send_fd(io.sync_fd, owned.get(), std::string(1, static_cast<char>(SyncMsg::kSeccompFd))));
  return wait_for_parent(io);
}

}  // namespace

Status run_init_steps(const InitPlan& plan, Syscalls& sys, InitIo& io) {
  sys.umask(0);  // device nodes and mount points get exactly the modes asked for
  STACK_TRY_VOID(wait_for_parent(io));  // id maps written
  STACK_TRY_VOID(create_time_namespace(plan, sys));
  STACK_TRY_VOID(become_ns_root(plan, sys));
  // Moving a process into a v1 cgroup can wait for an RCU grace period (milliseconds), so the
  // parent does it while the init sets up mounts; the init waits for it only where it matters:
  // before creating its cgroup namespace (whose root is the cgroup it is in), else before it
  // reports ready, so the user process always starts inside the container's limits.
  // Every later message exchange with the parent first consumes "placed", so replies cannot be
  // mistaken for it.
  bool placed = false;
  auto ensure_placed = [&]() -> Status {
    if (placed) return {};
    placed = true;
    return wait_for_parent(io);
  };
  const bool listener = plan.seccomp && plan.seccomp->wants_listener;
  if (plan.clone_flags & CLONE_NEWCGROUP) STACK_TRY_VOID(ensure_placed());
  STACK_TRY_VOID(enter_namespaces(plan, sys));
  UniqueFd root_fd;
  STACK_TRY_VOID(prepare_rootfs(plan, sys, root_fd));
  STACK_TRY_VOID(mount_all(plan, sys, root_fd.get()));
  STACK_TRY_VOID(create_devices(plan, sys, root_fd.get()));
  if (plan.hooks_sync) {
    // prestart and createRuntime hooks run in the parent now, createContainer hooks here, all
    // before pivot_root as the runtime spec orders them.
    STACK_TRY_VOID(ensure_placed());
    if (io.sync_fd >= 0) {
      STACK_TRY_VOID(sync_send(io.sync_fd, SyncMsg::kCreateHooks));
      STACK_TRY_VOID(wait_for_parent(io));
    }
    STACK_TRY_VOID(run_hooks(plan.create_container_hooks, io.state_json, "createContainer"));
  }
  STACK_TRY_VOID(enter_rootfs(plan, sys, root_fd.get()));
  root_fd.reset();
  STACK_TRY_VOID(protect_paths(plan, sys));
  STACK_TRY_VOID(set_identity(plan, sys));
  STACK_TRY_VOID(set_limits(plan, sys));
  if (io.console_fd >= 0) STACK_TRY_VOID(with_context(setup_console(io.console_fd, true), "setting up the console"));
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, so it goes before the drop
  // (seccomp(2)); with it, as late as possible so the filter need not allow our own calls.
  // A filter with a listener is loaded before "ready" whatever no_new_privileges says: after
  // start the parent that hands the listener on may be gone (create).
  if (listener) STACK_TRY_VOID(ensure_placed());
  if (!plan.no_new_privileges) STACK_TRY_VOID(load_seccomp_filter(plan, sys, io));
  STACK_TRY_VOID(switch_user(plan, sys));
  STACK_TRY_VOID(with_context(sys.chdir(plan.cwd), "process.cwd " + plan.cwd));
  if (plan.no_new_privileges)
    STACK_TRY_VOID(with_context(sys.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS"));
  STACK_TRY_VOID(with_context(sys.close_range(3 + static_cast<unsigned>(plan.preserve_fds), ~0U, CLOSE_RANGE_CLOEXEC),
                              "closing inherited fds"));
  STACK_TRY(io.exec_path, find_executable(plan, sys));
  STACK_TRY_VOID(ensure_placed());
  if (plan.no_new_privileges && listener) STACK_TRY_VOID(load_seccomp_filter(plan, sys, io));
  if (io.sync_fd >= 0) STACK_TRY_VOID(sync_send(io.sync_fd, SyncMsg::kReady));
  STACK_TRY_VOID(wait_for_start(io));
  STACK_TRY_VOID(run_hooks(plan.start_container_hooks, io.state_json, "startContainer"));
  if (plan.no_new_privileges && !listener) STACK_TRY_VOID(load_seccomp_filter(plan, sys, io));
  return {};
}

namespace {

std::string env_value(const std::vector<std::string>& env, const std::string& name) {
  for (const auto& e : env)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      return e.substr(name.size() + 1);
  return "";
}

}  // namespace

Result<std::string> find_executable(const InitPlan& plan, Syscalls& sys) {
  const std::string& file = plan.args.front();
  auto usable = [&](const std::string& candidate) -> Result<bool> {
    auto fd = sys.openat2(AT_FDCWD, candidate, O_PATH, 0, 0);
    if (fd.ok()) return true;
    if (fd.error().code == ENOENT || fd.error().code == ENOTDIR) return false;
    return std::move(fd).error().wrap("exec " + candidate);
  };
  if (file.find('/') != std::string::npos) {
    STACK_TRY(bool found, usable(file));
    if (!found) return Error(ENOENT, "exec \"" + file + "\": no such file or directory");
    return file;
  }
  std::string path = env_value(plan.env, "PATH");
  if (path.empty()) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    i = j + 1;
    std::string candidate = (dir.empty() ? "." : dir) + "/" + file;
    STACK_TRY(bool found, usable(candidate));
    if (found) return candidate;
  }
  return Error(ENOENT, "exec \"" + file + "\": executable file not found in $PATH");
}

Error exec_container_process(const InitPlan& plan, const std::string& path) {
  std::vector<char*> argv, envp;
  for (const auto& a : plan.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : plan.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(path.c_str(), argv.data(), envp.data());
  return errno_error("exec " + path);
}

}  // namespace stack::runtime
