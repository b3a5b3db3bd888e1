// The lifecycle operations on an existing container: start, run, state, list, kill, delete,
// pause/resume, update, ps. Each takes the container's lock before looking at its state.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "hooks.h"
#include "foreground.h"
#include "launcher_internal.h"
#include "stack/common/atomic_file.h"
#include "stack/common/log.h"
#include "state.h"

namespace stack::runtime {
namespace {

// A pidfd for the state's init, or an invalid fd if it is gone (or its pid was reused). Signals
// go through the pidfd so that a recycled pid can never be hit.
UniqueFd open_init(const StoredState& state) {
  if (state.pid <= 0) return {};
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, state.pid, 0)));
  if (!fd || !init_alive(state)) return {};
  return fd;
}

Status signal_pidfd(int pidfd, int sig, const std::string& id) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) != 0 && errno != ESRCH)
    return errno_error("signalling container \"" + id + "\"");
  return {};
}

Result<Cgroup> container_cgroup(const StoredState& state) {
  STACK_TRY(CgroupHost host, host_cgroups());
  return Cgroup::from_paths(host, "/", state.cgroup_paths, state.cgroup_created);
}

Result<Spec> stored_spec(const std::string& root, const StoredState& state) {
  STACK_TRY(std::string text, read_file(container_dir(root, state.id) + "/config.json"));
  return parse_spec(text, state.bundle);
}

std::string hook_state_json(const StoredState& state, ContainerStatus status) {
  return state_to_json(public_state(state, status));
}

// Waits until the init is gone (up to timeout_ms); it is not our child, so poll its pidfd.
bool wait_gone(int pidfd, int timeout_ms) {
  struct pollfd pfd {pidfd, POLLIN, 0};
  int rc;
  do rc = ::poll(&pfd, 1, timeout_ms);
  while (rc < 0 && errno == EINTR);
  return rc > 0;
}

// Kills every process in the cgroup and waits until it is empty (the kernel removes exiting
// tasks asynchronously; rmdir fails with EBUSY until then).
Status kill_cgroup(Cgroup& cgroup, const std::string& id) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    STACK_TRY(std::vector<pid_t> pids, cgroup.processes());
    if (pids.empty()) return {};
    for (pid_t p : pids) ::kill(p, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(attempt < 20 ? 1 : 10));
  }
  return Error(EBUSY, "container \"" + id + "\": processes survived SIGKILL");
}

}  // namespace

Runtime::Runtime(std::string root, Syscalls& sys) : root_(std::move(root)), sys_(sys) {}

Result<pid_t> Runtime::create(const CreateOptions& options) {
  STACK_TRY(Launched launched, launch_container(root_, sys_, options, false, nullptr));
  return launched.pid;
}

Status Runtime::start(const std::string& id) {
  STACK_TRY(UniqueFd lock, lock_container(root_, id));
  STACK_TRY(StoredState state, load_state(root_, id));
  ContainerStatus status = derive_status(root_, state);
  if (status != ContainerStatus::kCreated)
    return Error(EINVAL, "cannot start container \"" + id + "\": it is " + status_name(status) + ", not created");
  const std::string fifo = fifo_path(root_, id);
  UniqueFd fd(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return errno_error("cannot start container \"" + id + "\": its init is gone");
  if (::write(fd.get(), "0", 1) != 1) return errno_error("starting container \"" + id + "\"");
  ::unlink(fifo.c_str());
  if (state.keep_config) {
    STACK_TRY(Spec spec, stored_spec(root_, state));
    // poststart failures are reported but do not stop the container (runtime spec, Lifecycle).
    if (auto st = run_hooks(spec.hooks.poststart, hook_state_json(state, ContainerStatus::kRunning), "poststart");
        !st.ok())
      log::warn(st.error().to_string());
  }
  return {};
}

Result<int> Runtime::run(const CreateOptions& options, bool detach, bool keep) {
  if (detach) {
    STACK_TRY(pid_t pid, create(options));
    (void)pid;
    STACK_TRY_VOID(start(options.id));
    return 0;
  }
  // Signals for the container are taken synchronously; the init restores the original mask.
  sigset_t forward, old_mask;
  sigemptyset(&forward);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD, SIGPIPE})
    sigaddset(&forward, sig);
  ::sigprocmask(SIG_BLOCK, &forward, &old_mask);
  struct MaskGuard {
    sigset_t mask;
    ~MaskGuard() { ::sigprocmask(SIG_SETMASK, &mask, nullptr); }
  } guard{old_mask};

  // Without a console socket, a terminal is proxied here: the init sends the pty master to
  // this socketpair, and the loop below copies between it and our stdio.
  CreateOptions launch = options;
  UniqueFd console_ours, console_theirs;
  if (options.console_socket.empty() && options.console_fd < 0) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return errno_error("socketpair");
    console_ours.reset(pair[0]);
    console_theirs.reset(pair[1]);
    launch.console_fd = console_theirs.get();
  }
  STACK_TRY(Launched launched, launch_container(root_, sys_, launch, true, &old_mask));
  console_theirs.reset();
  UniqueFd master = console_ours ? receive_fd(console_ours.get()) : UniqueFd();
  if (::write(launched.start_write.get(), "0", 1) != 1) {
    (void)remove(options.id, true);
    return errno_error("starting container \"" + options.id + "\"");
  }
  launched.start_write.reset();
  if (auto state = load_state(root_, options.id); state.ok() && state->keep_config) {
    if (auto spec = stored_spec(root_, *state); spec.ok())
      if (auto st = run_hooks(spec->hooks.poststart, hook_state_json(*state, ContainerStatus::kRunning), "poststart");
          !st.ok())
        log::warn(st.error().to_string());
  }
  STACK_TRY(int status, wait_foreground(launched.pid, forward, master.get()));
  if (!keep)
    if (auto st = remove(options.id, true); !st.ok()) log::warn(st.error().to_string());
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

Result<ContainerState> Runtime::state(const std::string& id) {
  STACK_TRY(StoredState state, load_state(root_, id));
  return public_state(state, derive_status(root_, state));
}

Result<Spec> Runtime::config(const std::string& id) {
  STACK_TRY(StoredState state, load_state(root_, id));
  return stored_spec(root_, state);
}

Result<std::vector<ContainerState>> Runtime::list() {
  std::vector<ContainerState> out;
  DIR* dir = ::opendir(root_.c_str());
  if (!dir) {
    if (errno == ENOENT) return out;
    return errno_error("reading " + root_);
  }
  std::vector<std::string> ids;
  while (struct dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.' && e->d_type == DT_DIR) ids.emplace_back(e->d_name);
  ::closedir(dir);
  std::sort(ids.begin(), ids.end());
  for (const auto& id : ids) {
    auto s = state(id);
    if (s.ok()) out.push_back(std::move(*s));
  }
  return out;
}

Status Runtime::kill(const std::string& id, int sig, bool all) {
  STACK_TRY(StoredState state, load_state(root_, id));
  if (all) {
    STACK_TRY(Cgroup cgroup, container_cgroup(state));
    STACK_TRY(std::vector<pid_t> pids, cgroup.processes());
    for (pid_t p : pids) ::kill(p, sig);
    return {};
  }
  UniqueFd init = open_init(state);
  if (!init) return Error(ESRCH, "container \"" + id + "\" is not running");
  return signal_pidfd(init.get(), sig, id);
}

Status Runtime::remove(const std::string& id, bool force) {
  STACK_TRY(UniqueFd lock, lock_container(root_, id));
  auto loaded = load_state(root_, id);
  if (!loaded.ok() && loaded.error().code == ENOENT && force) {
    // A create killed before it wrote state.json (its own rollback never ran): nothing but the
    // directory is known, so that is what goes.
    std::error_code ec;
    std::filesystem::remove_all(container_dir(root_, id), ec);
    return {};
  }
  STACK_TRY(StoredState state, std::move(loaded));
  ContainerStatus status = derive_status(root_, state);
  if (!force && (status == ContainerStatus::kRunning || status == ContainerStatus::kPaused))
    return Error(EBUSY, "cannot delete container \"" + id + "\" that is not stopped: " + status_name(status));
  STACK_TRY(Cgroup cgroup, container_cgroup(state));
  if (status == ContainerStatus::kPaused) (void)cgroup.freeze(false);
  if (UniqueFd init = open_init(state)) {
    STACK_TRY_VOID(signal_pidfd(init.get(), SIGKILL, id));
    if (!wait_gone(init.get(), 10000)) return Error(EBUSY, "container \"" + id + "\": init survived SIGKILL");
  }
  STACK_TRY_VOID(kill_cgroup(cgroup, id));
  STACK_TRY_VOID(cgroup.destroy());
  if (state.keep_config) {
    auto spec = stored_spec(root_, state);
    Status hooks = spec.ok() ? run_hooks(spec->hooks.poststop, hook_state_json(state, ContainerStatus::kStopped), "poststop")
                             : Status(spec.error());
    if (!hooks.ok()) log::warn(hooks.error().to_string());
  }
  std::error_code ec;
  std::filesystem::remove_all(container_dir(root_, id), ec);
  if (ec) return Error(ec.value(), "removing state of container \"" + id + "\": " + ec.message());
  return {};
}

namespace {

// pause and resume: the container must be in `from`; its cgroup is frozen or thawed.
Status set_frozen(const std::string& root, const std::string& id, bool frozen) {
  STACK_TRY(UniqueFd lock, lock_container(root, id));
  STACK_TRY(StoredState state, load_state(root, id));
  const ContainerStatus from = frozen ? ContainerStatus::kRunning : ContainerStatus::kPaused;
  ContainerStatus status = derive_status(root, state);
  if (status != from)
    return Error(EINVAL, std::string("cannot ") + (frozen ? "pause" : "resume") + " container \"" + id +
                             "\": it is " + status_name(status));
  STACK_TRY(Cgroup cgroup, container_cgroup(state));
  return cgroup.freeze(frozen);
}

}  // namespace

Status Runtime::pause(const std::string& id) { return set_frozen(root_, id, true); }

Status Runtime::resume(const std::string& id) { return set_frozen(root_, id, false); }

Status Runtime::update(const std::string& id, const Resources& resources) {
  STACK_TRY(UniqueFd lock, lock_container(root_, id));
  STACK_TRY(StoredState state, load_state(root_, id));
  STACK_TRY(Cgroup cgroup, container_cgroup(state));
  return cgroup.apply(resources);
}

Result<std::vector<pid_t>> Runtime::processes(const std::string& id) {
  STACK_TRY(StoredState state, load_state(root_, id));
  STACK_TRY(Cgroup cgroup, container_cgroup(state));
  return cgroup.processes();
}

}  // namespace stack::runtime
