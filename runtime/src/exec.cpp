// exec: a new process in a running container. The runtime forks a helper, moves it into the
// container's cgroup, and the helper joins all of the init's namespaces at once with
// setns(pidfd) (Linux 5.8). Joining a pid namespace only affects children, so the helper then
// clones the real process with CLONE_PARENT: it becomes the runtime's child, inside the
// container's pid namespace, and the helper exits.
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init_internal.h"
#include "launcher_internal.h"
#include "stack/common/atomic_file.h"
#include "state.h"
#include "sync.h"

namespace stack::runtime {
namespace {

constexpr int kAllNamespaces = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC |
                               CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWCGROUP | CLONE_NEWTIME;

// The namespaces of the init that differ from ours. Only those are joined: setns(2) refuses to
// "join" the user namespace the caller is already in (EINVAL), and joining the others again
// would be a no-op at best.
int namespaces_to_join(pid_t pid) {
  static const std::pair<const char*, int> kFiles[] = {
      {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},     {"net", CLONE_NEWNET},
      {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},    {"pid", CLONE_NEWPID},
      {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
  };
  int flags = 0;
  for (const auto& [name, flag] : kFiles) {
    struct stat mine {}, theirs {};
    std::string self = std::string("/proc/self/ns/") + name;
    std::string other = "/proc/" + std::to_string(pid) + "/ns/" + name;
    if (::stat(self.c_str(), &mine) != 0 || ::stat(other.c_str(), &theirs) != 0) continue;
    if (mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev) flags |= flag;
  }
  return flags & kAllNamespaces;
}

[[noreturn]] void exec_process(InitPlan& plan, Syscalls& sys, int sync_fd, int console_fd, const sigset_t& mask) {
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
  auto fail = [&](const Error& e) {
    sync_send_error(sync_fd, e);
    ::_exit(1);
  };
  if (console_fd >= 0)
    if (auto st = setup_console(console_fd, false); !st.ok()) fail(st.error());
  if (auto st = set_limits(plan, sys); !st.ok()) fail(st.error());
  // exec'd processes get the container's filter; its listener (if any) is not handed out again:
  // the agent already watches the container through the init's.
  if (!plan.no_new_privileges) {
    auto fd = apply_seccomp(plan, sys);
    if (!fd.ok()) fail(fd.error());
    if (*fd >= 0) ::close(*fd);
  }
  if (auto st = switch_user(plan, sys); !st.ok()) fail(st.error());
  if (auto st = sys.chdir(plan.cwd); !st.ok()) fail(std::move(st).error().wrap("process.cwd " + plan.cwd));
  if (plan.no_new_privileges) {
    if (auto st = sys.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); !st.ok()) fail(st.error());
  }
  auto path = find_executable(plan, sys);
  if (!path.ok()) fail(path.error());
  ::syscall(SYS_close_range, 3 + plan.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
  if (plan.no_new_privileges)
    if (auto fd = apply_seccomp(plan, sys); !fd.ok()) fail(fd.error());
  fail(exec_container_process(plan, *path));
  ::_exit(1);
}

// The helper: joins the namespaces, then clones the process as a sibling.
[[noreturn]] void exec_helper(InitPlan& plan, Syscalls& sys, int pidfd, int ns_flags, int sync_fd,
                              int console_fd, const sigset_t& mask) {
  if (auto msg = sync_recv(sync_fd); !msg.ok()) ::_exit(1);  // moved into the cgroup
  if (::setns(pidfd, ns_flags) != 0) {
    sync_send_error(sync_fd, errno_error("joining the container's namespaces"));
    ::_exit(1);
  }
  struct clone_args args {};
  args.flags = CLONE_PARENT;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) exec_process(plan, sys, sync_fd, console_fd, mask);
  if (pid < 0) {
    sync_send_error(sync_fd, errno_error("clone"));
    ::_exit(1);
  }
  (void)sync_send(sync_fd, SyncMsg::kReady, std::to_string(pid));
  ::_exit(0);
}

Result<InitPlan> exec_plan(const Spec& spec, const Process& process, const std::string& root, int preserve_fds) {
  InitPlan plan;
  plan_process(process, plan);
  plan.preserve_fds = preserve_fds;
  if (process.capabilities) {
    STACK_TRY(plan.caps, capability_masks(*process.capabilities));
  }
  if (spec.linux.seccomp) {
    STACK_TRY(plan.seccomp, load_seccomp(*spec.linux.seccomp, root + "/.seccomp-cache"));
  }
  return plan;
}

}  // namespace

Result<int> Runtime::exec(const std::string& id, const Process& process, const ExecOptions& options) {
  if (process.args.empty()) return Error(EINVAL, "exec: no command given");
  STACK_TRY(StoredState state, load_state(root_, id));
  if (derive_status(root_, state) != ContainerStatus::kRunning)
    return Error(EINVAL, "cannot exec in container \"" + id + "\": it is not running");
  STACK_TRY(std::string config, read_file(container_dir(root_, id) + "/config.json"));
  STACK_TRY(Spec spec, parse_spec(config, state.bundle));
  STACK_TRY(InitPlan plan, exec_plan(spec, process, root_, options.preserve_fds));
  if (plan.terminal && options.console_socket.empty())
    return Error(EINVAL, "process.terminal is true: --console-socket is required");

  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, state.pid, 0)));
  if (!pidfd || !init_alive(state)) return Error(ESRCH, "container \"" + id + "\" is not running");
  const int ns_flags = namespaces_to_join(state.pid);
  STACK_TRY(CgroupHost host, host_cgroups());
  Cgroup cgroup = Cgroup::from_paths(host, "/", state.cgroup_paths);

  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) return errno_error("socketpair");
  UniqueFd parent_sock(sp[0]), child_sock(sp[1]);
  UniqueFd console;
  if (plan.terminal) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    options.console_socket.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      return errno_error("--console-socket " + options.console_socket);
    console = std::move(fd);
  }
  sigset_t mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &mask);
  pid_t helper = ::fork();
  if (helper < 0) return errno_error("fork");
  if (helper == 0) {
    parent_sock.reset();
    exec_helper(plan, sys_, pidfd.get(), ns_flags, child_sock.get(), console ? console.get() : -1, mask);
  }
  child_sock.reset();
  console.reset();
  Status placed = cgroup.add_process(helper);
  if (!placed.ok()) {
    ::kill(helper, SIGKILL);
    ::waitpid(helper, nullptr, 0);
    return std::move(placed).error().wrap("exec in container \"" + id + "\"");
  }
  STACK_TRY_VOID(sync_send(parent_sock.get(), SyncMsg::kContinue));
  pid_t pid = -1;
  Error failure(EIO, "");
  for (;;) {
    auto msg = sync_recv(parent_sock.get());
    if (!msg.ok()) break;  // EOF: the process exec'd (or died without a word)
    if (msg->first == SyncMsg::kReady) pid = static_cast<pid_t>(std::stol(msg->second));
    if (msg->first == SyncMsg::kError) failure = sync_error(msg->second);
  }
  ::waitpid(helper, nullptr, 0);
  if (!failure.message.empty()) {
    if (pid > 0) ::waitpid(pid, nullptr, 0);
    return failure.wrap("exec in container \"" + id + "\"");
  }
  if (pid <= 0) return Error(EIO, "exec in container \"" + id + "\": the process was not started");
  if (!options.pid_file.empty())
    STACK_TRY_VOID(write_file_atomic(options.pid_file, std::to_string(pid), 0644, Durability::kNoSync));
  if (options.detach) return pid;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return errno_error("waiting for the exec'd process");
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace stack::runtime
