// create and run: the parent side of a container's start (ARCHITECTURE.md §5). Everything that
// can fail without touching the system (config, capabilities, seccomp, the init plan) happens
// before anything is created; what is created is undone by CreateJob if a later step fails.
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "hooks.h"
#include "init_internal.h"
#include "init_plan.h"
#include "launcher_internal.h"
#include "stack/common/atomic_file.h"
#include "stack/common/log.h"
#include "state.h"
#include "sync.h"

namespace stack::runtime {
namespace {

// Rolls back a half-done create: the init process, the cgroup, the state directory.
struct CreateJob {
  std::string dir;
  std::optional<Cgroup> cgroup;
  pid_t child = -1;
  bool committed = false;

  ~CreateJob() {
    if (committed) return;
    if (child > 0) {
      ::kill(child, SIGKILL);
      while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {}
    }
    if (cgroup) {
      if (auto st = cgroup->destroy(); !st.ok()) log::warn("cleaning up: " + st.error().to_string());
    }
    if (!dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
};

// Connects to an AF_UNIX stream socket (--console-socket, a seccomp listenerPath).
Result<int> connect_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Error(ENAMETOOLONG, path + ": path too long");
  path.copy(addr.sun_path, path.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return errno_error(path);
  return fd.release();
}

// Moves fd to the lowest number >= min_fd, so it cannot collide with preserved fds 3..3+n-1.
Result<UniqueFd> lift_fd(UniqueFd fd, int min_fd) {
  if (!fd || fd.get() >= min_fd) return fd;
  int lifted = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, min_fd);
  if (lifted < 0) return errno_error("fcntl F_DUPFD");
  return UniqueFd(lifted);
}

pid_t clone_init(int flags, int cgroup_fd) {
  struct clone_args args {};
  args.flags = static_cast<uint64_t>(flags);
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0 && errno == ENOSYS && cgroup_fd < 0)
    pid = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  return static_cast<pid_t>(pid);
}

Status write_id_map(pid_t pid, const char* file, const std::vector<IdMapping>& maps) {
  std::string text;
  for (const auto& m : maps)
    text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) + "\n";
  const std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return errno_error(std::string("linux.") + (file[0] == 'u' ? "uidMappings" : "gidMappings") + ": writing " + path);
  return {};
}

std::string hook_state(const std::string& id, const char* status, pid_t pid, const std::string& bundle,
                       const std::map<std::string, std::string>& annotations) {
  ContainerState s;
  s.id = id;
  s.status = ContainerStatus::kCreating;
  s.pid = pid;
  s.bundle = bundle;
  s.annotations = annotations;
  std::string json = state_to_json(s);
  auto pos = json.find("\"creating\"");
  if (pos != std::string::npos) json.replace(pos, 10, std::string("\"") + status + "\"");
  return json;
}

// Hands the seccomp listener to the agent at linux.seccomp.listenerPath: one message holding the
// container process state (runtime spec, config-linux.md "Container Process State") and the fd.
Status send_seccomp_listener(const Seccomp& seccomp, pid_t pid, const std::string& state_json, int listener) {
  const std::string where = "linux.seccomp.listenerPath " + seccomp.listener_path;
  STACK_TRY(int fd, connect_unix(seccomp.listener_path));
  UniqueFd sock(fd);
  nlohmann::json doc = {{"ociVersion", "1.2.0"},
                        {"fds", {"seccompFd"}},
                        {"pid", pid},
                        {"metadata", seccomp.listener_metadata},
                        {"state", nlohmann::json::parse(state_json)}};
  auto sent = send_fd(sock.get(), listener, doc.dump());
  if (!sent.ok()) return std::move(sent).error().wrap(where);
  return {};
}

[[noreturn]] void init_main(InitPlan& plan, Syscalls& sys, InitIo io, const sigset_t& mask) {
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
  Status st = run_init_steps(plan, sys, io);
  if (!st.ok()) {
    sync_send_error(io.sync_fd, st.error());
    ::_exit(1);
  }
  Error err = exec_container_process(plan, io.exec_path);
  std::string line = "stack-runtime: " + err.to_string() + "\n";
  (void)!::write(2, line.data(), line.size());
  ::_exit(127);
}

}  // namespace

Result<Launched> launch_container(const std::string& root, Syscalls& sys, const CreateOptions& o,
                                  bool foreground, const sigset_t* child_mask) {
  STACK_TRY_VOID(check_container_id(o.id));
  char bundle_buf[PATH_MAX];
  if (!::realpath(o.bundle.empty() ? "." : o.bundle.c_str(), bundle_buf))
    return errno_error("bundle " + o.bundle);
  const std::string bundle = bundle_buf;
  STACK_TRY(std::string config_text, read_file(bundle + "/config.json"));
  auto parsed = parse_spec(config_text, bundle);
  if (!parsed.ok()) return std::move(parsed).error().wrap(bundle + "/config.json");
  Spec spec = std::move(*parsed);
  if (!spec.process) return Error(EINVAL, bundle + "/config.json: process: required to create a container");
  struct stat root_st {};
  if (::stat(spec.root.path.c_str(), &root_st) != 0 || !S_ISDIR(root_st.st_mode))
    return errno_error(bundle + "/config.json: root.path: " + spec.root.path, errno ? errno : ENOTDIR);
  if (spec.process->terminal && o.console_socket.empty() && o.console_fd < 0)
    return Error(EINVAL, "process.terminal is true: --console-socket is required");

  PlanContext ctx;
  ctx.no_pivot = o.no_pivot;
  ctx.preserve_fds = o.preserve_fds;
  if (spec.process->capabilities) {
    auto masks = capability_masks(*spec.process->capabilities);
    if (!masks.ok()) return std::move(masks).error().wrap(bundle + "/config.json");
    ctx.caps = *masks;
  }
  if (spec.linux.seccomp) {
    auto filter = load_seccomp(*spec.linux.seccomp, root + "/.seccomp-cache");
    if (!filter.ok()) return std::move(filter).error().wrap(bundle + "/config.json");

    ctx.seccomp = std::move(*filter);
  }

  if (::mkdir(root.c_str(), 0711) != 0 && errno != EEXIST) return errno_error("state root " + root);
  CreateJob job;
  const std::string dir = container_dir(root, o.id);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Error(EEXIST, "container \"" + o.id + "\" already exists");
    return errno_error("creating " + dir);
  }
  job.dir = dir;
  STACK_TRY(UniqueFd lock, lock_container(root, o.id));

  STACK_TRY(CgroupHost host, host_cgroups());
  STACK_TRY(std::string self_cgroup, read_file("/proc/self/cgroup"));
  auto cgroup = Cgroup::create(host, "/", spec.linux.cgroups_path, o.id, parse_proc_cgroup(self_cgroup));
  if (!cgroup.ok()) return std::move(cgroup).error().wrap(bundle + "/config.json");
  job.cgroup = std::move(*cgroup);
  if (spec.linux.resources) {
    auto applied = job.cgroup->apply(cgroup_resources(spec));
    if (!applied.ok()) return std::move(applied).error().wrap(bundle + "/config.json");
  }
  ctx.cgroup_host = &host;
  ctx.cgroup = &*job.cgroup;
  auto plan_or = build_init_plan(spec, std::move(ctx));
  if (!plan_or.ok()) return std::move(plan_or).error().wrap(bundle + "/config.json");
  InitPlan plan = std::move(*plan_or);
  // Socket activation (sd_listen_fds(3)): fds 3.. passed to the runtime go on to the container,
  // ahead of --preserve-fds, and the process is told about them as runc does.
  if (const char* listen = std::getenv("LISTEN_FDS"); listen && std::atoi(listen) > 0) {
    plan.preserve_fds += std::atoi(listen);
    plan.env.push_back(std::string("LISTEN_FDS=") + listen);
    plan.env.push_back("LISTEN_PID=1");
  }

  const int min_fd = 3 + plan.preserve_fds;
  UniqueFd start_read, start_write;
  if (foreground) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe");
    start_read.reset(p[0]);
    start_write.reset(p[1]);
  } else {
    const std::string fifo = fifo_path(root, o.id);
    if (::mkfifo(fifo.c_str(), 0600) != 0) return errno_error("creating " + fifo);
    // O_RDWR never blocks; the init keeps this reader open and `start` writes one byte.
    start_read.reset(::open(fifo.c_str(), O_RDWR | O_CLOEXEC));
    if (!start_read) return errno_error("opening " + fifo);
  }
  STACK_TRY(start_read, lift_fd(std::move(start_read), min_fd));
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) return errno_error("socketpair");
  UniqueFd parent_sock(sp[0]);
  STACK_TRY(UniqueFd child_sock, lift_fd(UniqueFd(sp[1]), min_fd));
  UniqueFd console;
  if (plan.terminal) {
    int fd = o.console_fd >= 0 ? ::fcntl(o.console_fd, F_DUPFD_CLOEXEC, min_fd) : -1;
    if (o.console_fd < 0) {
      auto connected = connect_unix(o.console_socket);
      if (!connected.ok()) return std::move(connected).error().wrap("--console-socket");
      fd = *connected;
    } else if (fd < 0) {
      return errno_error("console socket");
    }
    STACK_TRY(console, lift_fd(UniqueFd(fd), min_fd));
  }

  // Joining a pid namespace only affects children, so the parent joins it around clone.
  UniqueFd own_pidns;
  for (const auto& j : plan.joins) {
    if (j.nstype != CLONE_NEWPID) continue;
    own_pidns.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (::setns(j.fd.get(), CLONE_NEWPID) != 0) return errno_error("joining pid namespace " + j.path);
  }
  int at_clone = plan.clone_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME);
  bool has_joins = std::any_of(plan.joins.begin(), plan.joins.end(),
                               [](const NamespaceJoin& j) { return j.nstype != CLONE_NEWPID; });
  if (has_joins) {
    // New namespaces must belong to a joined user namespace: the child creates them after setns.
    plan.unshare_flags = at_clone & ~CLONE_NEWPID;
    at_clone &= CLONE_NEWPID;
  }
  UniqueFd cgroup_fd;
  if (host.layout == CgroupLayout::kV2) {
    STACK_TRY(cgroup_fd, job.cgroup->open_unified_dir());
  }

  sigset_t old_mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &old_mask);
  InitIo io;
  io.sync_fd = child_sock.get();
  io.start_fd = start_read.get();
  io.console_fd = console ? console.get() : -1;
  pid_t pid = clone_init(at_clone, cgroup_fd ? cgroup_fd.get() : -1);
  if (pid == 0) {
    // The container's lock is an flock on an open file description the child shares: hold it
    // in the child and `start` would wait for the container to exit.
    lock.reset();
    cgroup_fd.reset();
    parent_sock.reset();
    start_write.reset();
    init_main(plan, sys, io, child_mask ? *child_mask : old_mask);
  }
  int clone_errno = errno;
  if (own_pidns) (void)::setns(own_pidns.get(), CLONE_NEWPID);
  if (pid < 0) return errno_error("clone", clone_errno);
  job.child = pid;
  child_sock.reset();
  console.reset();
  if (!foreground) start_read.reset();

  if (plan.needs_id_maps) {
    STACK_TRY_VOID(write_id_map(pid, "uid_map", spec.linux.uid_mappings));
    STACK_TRY_VOID(write_id_map(pid, "gid_map", spec.linux.gid_mappings));
  }
  STACK_TRY_VOID(sync_send(parent_sock.get(), SyncMsg::kContinue));
  // The init sets up its mounts meanwhile and waits for this second message (init.cpp).
  if (!cgroup_fd) STACK_TRY_VOID(job.cgroup->add_process(pid));
  STACK_TRY_VOID(sync_send(parent_sock.get(), SyncMsg::kContinue));
  for (;;) {
    UniqueFd passed;
    auto msg = sync_recv(parent_sock.get(), &passed);
    if (!msg.ok()) return std::move(msg).error();
    if (msg->first == SyncMsg::kReady) break;
    if (msg->first == SyncMsg::kError) return sync_error(msg->second);
    if (msg->first == SyncMsg::kSeccompFd) {
      if (!passed) return Error(EPROTO, "the container init sent no seccomp listener");
      std::string state = hook_state(o.id, "creating", pid, bundle, spec.annotations);
      STACK_TRY_VOID(send_seccomp_listener(*spec.linux.seccomp, pid, state, passed.get()));
      passed.reset();
      STACK_TRY_VOID(sync_send(parent_sock.get(), SyncMsg::kContinue));
      continue;
    }
    if (msg->first == SyncMsg::kCreateHooks) {
      std::string state = hook_state(o.id, "creating", pid, bundle, spec.annotations);
      STACK_TRY_VOID(run_hooks(spec.hooks.prestart, state, "prestart"));
      STACK_TRY_VOID(run_hooks(spec.hooks.create_runtime, state, "createRuntime"));
      STACK_TRY_VOID(sync_send(parent_sock.get(), SyncMsg::kContinue, state));
    }
  }

  StoredState stored;
  stored.id = o.id;
  stored.pid = pid;
  STACK_TRY(ProcStat pstat, read_proc_stat(pid));
  stored.pid_start_time = pstat.start_time;
  stored.bundle = bundle;
  stored.rootfs = spec.root.path;
  stored.created = now_rfc3339();
  stored.owner = "root";
  stored.annotations = spec.annotations;
  stored.cgroup_paths = job.cgroup->paths();
  stored.cgroup_created = job.cgroup->created_dirs();
  stored.keep_config = !spec.hooks.poststart.empty() || !spec.hooks.poststop.empty();
  // exec needs the container's process settings (seccomp, capabilities) later.
  STACK_TRY_VOID(write_file_atomic(dir + "/config.json", config_text, 0600, Durability::kNoSync));
  STACK_TRY_VOID(save_state(root, stored));
  if (!o.pid_file.empty()) STACK_TRY_VOID(write_file_atomic(o.pid_file, std::to_string(pid), 0644, Durability::kNoSync));
  job.committed = true;
  return Launched{pid, std::move(start_write)};
}

Result<CgroupHost> host_cgroups() {
  STACK_TRY(std::string mountinfo, read_file("/proc/self/mountinfo"));
  return detect_cgroup_host(mountinfo, "/");
}

}  // namespace stack::runtime
