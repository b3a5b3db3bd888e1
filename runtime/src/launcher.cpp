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

// The state hooks and the seccomp agent see while the container is being created.
std::string creating_state(const std::string& id, pid_t pid, const std::string& bundle,
                           const std::map<std::string, std::string>& annotations) {
  ContainerState s;
  s.id = id;
  s.status = ContainerStatus::kCreating;
  s.pid = pid;
  s.bundle = bundle;
  s.annotations = annotations;
  return state_to_json(s);
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

namespace {

struct Bundle {
  std::string dir;  // absolute
  std::string config_text;
  Spec spec;
  std::string where() const { return dir + "/config.json"; }
};

// Reads and checks everything about the bundle that can be checked before anything is created.
Result<Bundle> load_bundle(const CreateOptions& o) {
  STACK_TRY_VOID(check_container_id(o.id));
  char dir[PATH_MAX];
  if (!::realpath(o.bundle.empty() ? "." : o.bundle.c_str(), dir)) return errno_error("bundle " + o.bundle);
  Bundle b;
  b.dir = dir;
  STACK_TRY(b.config_text, read_file(b.where()));
  auto parsed = parse_spec(b.config_text, b.dir);
  if (!parsed.ok()) return std::move(parsed).error().wrap(b.where());
  b.spec = std::move(*parsed);
  if (!b.spec.process) return Error(EINVAL, b.where() + ": process: required to create a container");
  struct stat st {};
  if (::stat(b.spec.root.path.c_str(), &st) != 0) return errno_error(b.where() + ": root.path: " + b.spec.root.path);
  if (!S_ISDIR(st.st_mode))
    return Error(ENOTDIR, b.where() + ": root.path: " + b.spec.root.path + ": not a directory");
  if (b.spec.process->terminal && o.console_socket.empty() && o.console_fd < 0)
    return Error(EINVAL, "process.terminal is true: --console-socket is required");
  return b;
}

// Capability masks and the seccomp filter (from the cache when the profile is unchanged).
Status prepare_security(const Bundle& b, const std::string& root, PlanContext& ctx) {
  if (b.spec.process->capabilities) {
    auto masks = capability_masks(*b.spec.process->capabilities);
    if (!masks.ok()) return std::move(masks).error().wrap(b.where());
    ctx.caps = *masks;
  }
  if (b.spec.linux.seccomp) {
    auto filter = load_seccomp(*b.spec.linux.seccomp, root + "/.seccomp-cache");
    if (!filter.ok()) return std::move(filter).error().wrap(b.where());
    ctx.seccomp = std::move(*filter);
  }
  return {};
}

// The descriptors the init inherits, all above the preserved range 3..3+n-1.
struct InitFds {
  UniqueFd start_read, start_write;  // exec.fifo (create) or a pipe (run)
  UniqueFd parent_sock, child_sock;  // the sync socketpair
  UniqueFd console;                  // where the init sends the pty master
};

Result<InitFds> open_init_fds(const std::string& root, const CreateOptions& o, const InitPlan& plan, bool foreground) {
  const int min_fd = 3 + plan.preserve_fds;
  InitFds f;
  if (foreground) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe");
    f.start_read.reset(p[0]);
    f.start_write.reset(p[1]);
  } else {
    const std::string fifo = fifo_path(root, o.id);
    if (::mkfifo(fifo.c_str(), 0600) != 0) return errno_error("creating " + fifo);
    // O_RDWR never blocks; the init keeps this reader open and `start` writes one byte.
    f.start_read.reset(::open(fifo.c_str(), O_RDWR | O_CLOEXEC));
    if (!f.start_read) return errno_error("opening " + fifo);
  }
  STACK_TRY(f.start_read, lift_fd(std::move(f.start_read), min_fd));
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) return errno_error("socketpair");
  f.parent_sock.reset(sp[0]);
  STACK_TRY(f.child_sock, lift_fd(UniqueFd(sp[1]), min_fd));
  if (!plan.terminal) return f;
  if (o.console_fd >= 0) {
    f.console.reset(::fcntl(o.console_fd, F_DUPFD_CLOEXEC, min_fd));
    if (!f.console) return errno_error("console socket");
    return f;
  }
  auto connected = connect_unix(o.console_socket);
  if (!connected.ok()) return std::move(connected).error().wrap("--console-socket");
  STACK_TRY(f.console, lift_fd(UniqueFd(*connected), min_fd));
  return f;
}

// The parent's half of the setup conversation after clone (init.cpp has the other half).
// write_maps: the init has a new user namespace; placed: it was cloned into its cgroup.
Status drive_setup(const Bundle& b, const std::string& id, pid_t pid, int sock, Cgroup& cgroup, bool write_maps,
                   bool placed) {
  const Spec& spec = b.spec;
  if (write_maps) {
    STACK_TRY_VOID(write_id_map(pid, "uid_map", spec.linux.uid_mappings));
    STACK_TRY_VOID(write_id_map(pid, "gid_map", spec.linux.gid_mappings));
  }
  STACK_TRY_VOID(sync_send(sock, SyncMsg::kContinue));
  // The init sets up its mounts meanwhile and waits for this second message.
  if (!placed) STACK_TRY_VOID(cgroup.add_process(pid));
  STACK_TRY_VOID(sync_send(sock, SyncMsg::kContinue));
  for (;;) {
    UniqueFd passed;
    STACK_TRY(auto msg, sync_recv(sock, &passed));
    if (msg.first == SyncMsg::kReady) return {};
    if (msg.first == SyncMsg::kError) return sync_error(msg.second);
    const std::string state = creating_state(id, pid, b.dir, spec.annotations);
    if (msg.first == SyncMsg::kSeccompFd) {
      if (!passed) return Error(EPROTO, "the container init sent no seccomp listener");
      STACK_TRY_VOID(send_seccomp_listener(*spec.linux.seccomp, pid, state, passed.get()));
      passed.reset();
      STACK_TRY_VOID(sync_send(sock, SyncMsg::kContinue));
    } else if (msg.first == SyncMsg::kCreateHooks) {
      STACK_TRY_VOID(run_hooks(spec.hooks.prestart, state, "prestart"));
      STACK_TRY_VOID(run_hooks(spec.hooks.create_runtime, state, "createRuntime"));
      STACK_TRY_VOID(sync_send(sock, SyncMsg::kContinue, state));
    }
  }
}

Status record_state(const std::string& root, const CreateOptions& o, const Bundle& b, pid_t pid,
                    const Cgroup& cgroup) {
  StoredState stored;
  stored.id = o.id;
  stored.pid = pid;
  STACK_TRY(ProcStat pstat, read_proc_stat(pid));
  stored.pid_start_time = pstat.start_time;
  stored.bundle = b.dir;
  stored.rootfs = b.spec.root.path;
  stored.created = now_rfc3339();
  stored.owner = "root";
  stored.annotations = b.spec.annotations;
  stored.cgroup_paths = cgroup.paths();
  stored.cgroup_created = cgroup.created_dirs();
  stored.keep_config = !b.spec.hooks.poststart.empty() || !b.spec.hooks.poststop.empty();
  // exec needs the container's process settings (seccomp, capabilities) later.
  const std::string dir = container_dir(root, o.id);
  STACK_TRY_VOID(write_file_atomic(dir + "/config.json", b.config_text, 0600, Durability::kNoSync));
  STACK_TRY_VOID(save_state(root, stored));
  if (!o.pid_file.empty())
    STACK_TRY_VOID(write_file_atomic(o.pid_file, std::to_string(pid), 0644, Durability::kNoSync));
  return {};
}

// Flags for clone3, and (with joins) the namespaces the child creates itself after setns so
// that they belong to a joined user namespace.
int split_clone_flags(InitPlan& plan) {
  int at_clone = plan.clone_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME);
  bool has_joins = std::any_of(plan.joins.begin(), plan.joins.end(),
                               [](const NamespaceJoin& j) { return j.nstype != CLONE_NEWPID; });
  if (has_joins) {
    plan.unshare_flags = at_clone & ~CLONE_NEWPID;
    at_clone &= CLONE_NEWPID;
  }
  return at_clone;
}

}  // namespace

Result<Launched> launch_container(const std::string& root, Syscalls& sys, const CreateOptions& o,
                                  bool foreground, const sigset_t* child_mask) {
  STACK_TRY(Bundle b, load_bundle(o));
  PlanContext ctx;
  ctx.no_pivot = o.no_pivot;
  ctx.preserve_fds = o.preserve_fds;
  STACK_TRY_VOID(prepare_security(b, root, ctx));

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
  auto cgroup = Cgroup::create(host, "/", b.spec.linux.cgroups_path, o.id, parse_proc_cgroup(self_cgroup));
  if (!cgroup.ok()) return std::move(cgroup).error().wrap(b.where());
  job.cgroup = std::move(*cgroup);
  if (b.spec.linux.resources) {
    auto applied = job.cgroup->apply(cgroup_resources(b.spec));
    if (!applied.ok()) return std::move(applied).error().wrap(b.where());
  }
  ctx.cgroup_host = &host;
  ctx.cgroup = &*job.cgroup;
  auto plan_or = build_init_plan(b.spec, std::move(ctx));
  if (!plan_or.ok()) return std::move(plan_or).error().wrap(b.where());
  InitPlan plan = std::move(*plan_or);
  // Socket activation (sd_listen_fds(3)): fds 3.. passed to the runtime go on to the container,
  // ahead of --preserve-fds, and the process is told about them as runc does.
  if (const char* listen = std::getenv("LISTEN_FDS"); listen && std::atoi(listen) > 0) {
    plan.preserve_fds += std::atoi(listen);
    plan.env.push_back(std::string("LISTEN_FDS=") + listen);
    plan.env.push_back("LISTEN_PID=1");
  }
  STACK_TRY(InitFds fds, open_init_fds(root, o, plan, foreground));

  // Joining a pid namespace only affects children, so the parent joins it around clone.
  UniqueFd own_pidns;
  for (const auto& j : plan.joins) {
    if (j.nstype != CLONE_NEWPID) continue;
    own_pidns.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (::setns(j.fd.get(), CLONE_NEWPID) != 0) return errno_error("joining pid namespace " + j.path);
  }
  const int at_clone = split_clone_flags(plan);
  UniqueFd cgroup_fd;
  if (host.layout == CgroupLayout::kV2) {
    STACK_TRY(cgroup_fd, job.cgroup->open_unified_dir());
  }
  sigset_t old_mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &old_mask);
  InitIo io;
  io.sync_fd = fds.child_sock.get();
  io.start_fd = fds.start_read.get();
  io.console_fd = fds.console ? fds.console.get() : -1;
  pid_t pid = clone_init(at_clone, cgroup_fd ? cgroup_fd.get() : -1);
  if (pid == 0) {
    // The container's lock is an flock on an open file description the child shares: hold it
    // in the child and `start` would wait for the container to exit.
    lock.reset();
    cgroup_fd.reset();
    fds.parent_sock.reset();
    fds.start_write.reset();
    init_main(plan, sys, io, child_mask ? *child_mask : old_mask);
  }
  int clone_errno = errno;
  if (own_pidns) (void)::setns(own_pidns.get(), CLONE_NEWPID);
  if (pid < 0) return errno_error("clone", clone_errno);
  job.child = pid;
  fds.child_sock.reset();
  fds.console.reset();
  if (!foreground) fds.start_read.reset();

  STACK_TRY_VOID(drive_setup(b, o.id, pid, fds.parent_sock.get(), *job.cgroup, plan.needs_id_maps, cgroup_fd.valid()));
  STACK_TRY_VOID(record_state(root, o, b, pid, *job.cgroup));
  job.committed = true;
  return Launched{pid, std::move(fds.start_write)};
}

Result<CgroupHost> host_cgroups() {
  STACK_TRY(std::string mountinfo, read_file("/proc/self/mountinfo"));
  return detect_cgroup_host(mountinfo, "/");
}

}  // namespace stack::runtime
