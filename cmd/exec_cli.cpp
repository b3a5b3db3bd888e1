// `stack exec` and `stack run` (exec_cli.h).
#include "exec_cli.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include "cli_session.h"
#include "stack/common/fd_util.h"
#include "stack/common/unique_fd.h"
#include "stack/engine/container_spec.h"
#include "stack/engine/logs.h"
#include "stack/engine/reconcile.h"
#include "stack/engine/runner.h"
#include "stack/runtime/container.h"
#include "stack/runtime/defaults.h"

namespace stack::cli {

namespace {

using engine::ContainerInfo;
using engine::ContainerState;

// ---- shared ----

// "-e K=V" as is; "-e K" takes K from our environment (dropped when unset), as Compose does.
std::optional<std::pair<std::string, std::optional<std::string>>> parse_env(const std::string& e) {
  auto eq = e.find('=');
  if (eq != std::string::npos) return std::make_pair(e.substr(0, eq), e.substr(eq + 1));
  if (e.empty()) return std::nullopt;
  const char* v = std::getenv(e.c_str());
  if (!v) return std::make_pair(e, std::optional<std::string>());
  return std::make_pair(e, std::optional<std::string>(v));
}

bool finished(const ContainerInfo& c) {
  return c.observed.state == ContainerState::kExited || c.observed.state == ContainerState::kDead;
}

// ---- exec: the pty ----

// Our terminal in raw mode for the container's own line discipline; restored on destruction.
struct RawTerminal {
  bool active = false;
  struct termios saved {};
  RawTerminal() {
    if (::tcgetattr(0, &saved) != 0) return;
    struct termios raw = saved;
    ::cfmakeraw(&raw);
    active = ::tcsetattr(0, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active) ::tcsetattr(0, TCSANOW, &saved);
  }
};

int g_winch_pipe = -1;  // written by the SIGWINCH handler (async-signal-safe self-pipe)
void on_winch(int) {
  int saved = errno;
  if (g_winch_pipe >= 0) (void)!::write(g_winch_pipe, "w", 1);
  errno = saved;
}

// A private directory holding the listening console socket; removed on destruction.
struct ConsoleSocket {
  std::string dir, path;
  UniqueFd fd;
  ~ConsoleSocket() {
    if (!path.empty()) ::unlink(path.c_str());
    if (!dir.empty()) ::rmdir(dir.c_str());
  }
};

Status listen_console(ConsoleSocket& cs) {
  char tmpl[] = "/tmp/stack-exec-XXXXXX";
  if (!::mkdtemp(tmpl)) return errno_error("creating the console socket directory");
  cs.dir = tmpl;
  cs.path = cs.dir + "/console.sock";
  cs.fd = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!cs.fd) return errno_error("socket");
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  cs.path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (::bind(cs.fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return errno_error("binding " + cs.path);
  if (::listen(cs.fd.get(), 1) != 0) return errno_error("listening on " + cs.path);
  return {};
}

// The pty master the runtime sent over the console socket (SCM_RIGHTS). The runtime connected
// and sent it before exec() returned, so accept and recvmsg do not wait for long.
Result<UniqueFd> receive_master(int listen_fd) {
  struct pollfd p {listen_fd, POLLIN, 0};
  if (::poll(&p, 1, 10000) <= 0) return Error(ETIMEDOUT, "no pty from the runtime");
  UniqueFd conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return errno_error("accepting the console socket");
  return receive_fd(conn.get()).wrap("receiving the pty master");
}

int wait_status_code(int status) {
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

// Proxies stdin → master → stdout until the exec'd process (our child: the runtime clones it
// with CLONE_PARENT) exits, forwarding window size changes; returns its exit code.
Result<int> proxy_pty(pid_t pid, int master) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return errno_error("pidfd_open");
  int winch[2];
  if (::pipe2(winch, O_CLOEXEC | O_NONBLOCK) != 0) return errno_error("pipe");
  UniqueFd winch_r(winch[0]), winch_w(winch[1]);
  g_winch_pipe = winch_w.get();
  struct sigaction sa {}, old_sa {};
  sa.sa_handler = on_winch;
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGWINCH, &sa, &old_sa);
  RawTerminal raw;
  auto copy_size = [&] {
    struct winsize ws {};
    if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
  };
  copy_size();
  bool stdin_open = true, master_open = true;
  int status = 0;
  for (;;) {
    struct pollfd fds[4] = {{pidfd.get(), POLLIN, 0},
                            {master_open ? master : -1, POLLIN, 0},
                            {stdin_open ? 0 : -1, POLLIN, 0},
                            {winch_r.get(), POLLIN, 0}};
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) master_open = pump_available(master, 1);
    if (fds[2].revents) stdin_open = pump_available(0, master);
    if (fds[3].revents) {
      char buf[64];
      while (::read(winch_r.get(), buf, sizeof buf) > 0) {
      }
      copy_size();
    }
    if (fds[0].revents) {
      // What the process wrote just before exiting is still in the pty.
      ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
      while (master_open && pump_available(master, 1)) {
        struct pollfd p {master, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) break;
      }
      break;
    }
  }
  g_winch_pipe = -1;
  ::sigaction(SIGWINCH, &old_sa, nullptr);
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return errno_error("waiting for the exec'd process");
  return wait_status_code(status);
}

// ---- exec ----

Result<runtime::Process> exec_process(Session& s, const std::string& container,
                                      const std::string& id, const ServiceExecOptions& o) {
  runtime::Runtime rt(s.host->runtime_root(), s.sys);
  STACK_TRY(runtime::Spec spec, rt.config(id));
  runtime::Process p = spec.process.value_or(runtime::Process{});
  p.args = o.command;
  p.terminal = false;
  p.console_size.reset();
  for (const auto& e : o.env) {
    auto kv = parse_env(e);
    if (!kv) continue;
    const std::string prefix = kv->first + "=";
    std::erase_if(p.env, [&](const std::string& x) {
      return x.rfind(prefix, 0) == 0 || x == kv->first;
    });
    if (kv->second) p.env.push_back(prefix + *kv->second);
  }
  if (!o.workdir.empty()) p.cwd = o.workdir;
  if (!o.user.empty()) {
    STACK_TRY(std::string dir, s.host->container_dir(container));
    UniqueFd root_fd(::open((dir + "/rootfs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    std::optional<std::string> passwd, group;
    if (root_fd) {
      passwd = read_file_in_root(s.sys, root_fd.get(), "/etc/passwd");
      group = read_file_in_root(s.sys, root_fd.get(), "/etc/group");
    }
    auto user = engine::resolve_user(o.user, {}, passwd, group);
    if (!user.ok()) return std::move(user).error().wrap("exec -u " + o.user);
    user->umask = p.user.umask;
    p.user = *user;
  }
  if (o.privileged) {
    runtime::ContainerDefaults d;
    d.privileged = true;
    STACK_TRY(runtime::Spec all, runtime::docker_default_spec(d));
    if (all.process && all.process->capabilities) p.capabilities = all.process->capabilities;
  }
  return p;
}

// Points fds 0-2 at /dev/null while it lives (a detached process must not hold our stdio).
struct NullStdio {
  int saved[3] = {-1, -1, -1};
  NullStdio() {
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return;
    for (int i = 0; i < 3; ++i) {
      saved[i] = ::fcntl(i, F_DUPFD_CLOEXEC, 3);
      ::dup2(null, i);
    }
    ::close(null);
  }
  ~NullStdio() {
    for (int i = 0; i < 3; ++i)
      if (saved[i] >= 0) {
        ::dup2(saved[i], i);
        ::close(saved[i]);
      }
  }
};

// ---- run ----

std::string random_hex12() {
  unsigned char bytes[6] = {};
  if (int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC); fd >= 0) {
    (void)!::read(fd, bytes, sizeof bytes);
    ::close(fd);
  }
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// A command line split as a POSIX shell would split words: blanks separate, quotes and
// backslashes quote (no expansion). Compose splits --entrypoint the same way.
Result<std::vector<std::string>> split_words(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else if (c == '\'' || c == '"') {
      size_t end = line.find(c, i + 1);
      if (end == std::string::npos) return Error(EINVAL, "invalid --entrypoint: unclosed quote");
      cur += line.substr(i + 1, end - i - 1);
      i = end;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      cur += line[++i];
      in_word = true;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

// Brings up the dependencies of `service` (not the service) as `up` would, then waits for the
// conditions the service sets on them. Returns the exit status (0 = ready).
int start_dependencies(Session& s, const engine::DesiredProject& desired,
                       const engine::DesiredService& service) {
  if (service.depends_on.empty()) return 0;
  std::vector<std::string> deps;
  for (const auto& [dep, d] : service.depends_on) deps.push_back(dep);
  auto lock = engine::lock_project(s.root, s.project_name);
  if (!lock.ok()) return report(lock.error());
  auto snap = s.host->observe(s.project_name);
  if (!snap.ok()) return report(snap.error());
  engine::ReconcileOptions ro;
  ro.services = deps;
  auto planned = engine::reconcile(desired, *snap, ro);
  if (!planned.ok()) return report(planned.error());
  engine::Plan& plan = *planned;
  // The service's own conditions on its dependencies gate the one-off, as they gate `up`.
  std::vector<int> all;
  for (const auto& n : plan.nodes()) all.push_back(n.id);
  for (const auto& [dep, d] : service.depends_on) {
    const engine::DesiredService* ds = desired.find_service(dep);
    if (!ds || ds->replicas == 0) continue;
    if (d.condition == engine::Condition::kHealthy)
      plan.add(engine::Op::kWaitHealthy, "service:" + dep, "local", "service_healthy", all);
    else if (d.condition == engine::Condition::kCompletedSuccessfully)
      plan.add(engine::Op::kWaitCompleted, "service:" + dep, "local",
               "service_completed_successfully", all);
  }
  for (const auto& w : plan.warnings()) std::fprintf(stderr, "WARN[0000] %s\n", w.c_str());
  if (plan.empty()) return 0;
  const compose::Project& p = *s.project;
  engine::HostRunner runner(*s.host, &p, &desired);
  return execute_plan(plan, runner, "Running");
}

void write_stdout(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

int run_exec(const GlobalOptions& g, const ImageGlobals& ig, const ServiceExecOptions& o) {
  if (o.command.empty()) {
    std::fprintf(stderr, "stack: exec requires at least 2 arguments (SERVICE COMMAND)\n");
    return 2;
  }
  auto s = open_session(g, ig, {o.service}, false);
  if (!s) return 1;
  if (s->project && !s->project->find_service(o.service))
    return report(Error(ENOENT, "no such service: " + o.service));
  auto all = s->host->containers(s->project_name);
  if (!all.ok()) return report(all.error());
  const ContainerInfo* target = nullptr;
  for (const auto& c : *all)
    if (!c.observed.labels.oneoff && c.observed.labels.service == o.service &&
        c.observed.labels.number == o.index && c.observed.state == ContainerState::kRunning)
      target = &c;
  if (!target) {
    if (o.index != 1) {
      for (const auto& c : *all)
        if (!c.observed.labels.oneoff && c.observed.labels.service == o.service &&
            c.observed.state == ContainerState::kRunning)
          return report(Error(ENOENT, "service \"" + o.service + "\" is not running container #" +
                                          std::to_string(o.index)));
    }
    return report(Error(EINVAL, "service \"" + o.service + "\" is not running"));
  }
  const std::string name = target->observed.name;
  auto id = s->host->runtime_id(name);
  if (!id.ok()) return report(id.error());
  auto process = exec_process(*s, name, *id, o);
  if (!process.ok()) return report(process.error());
  runtime::Runtime rt(s->host->runtime_root(), s->sys);
  runtime::ExecOptions eo;

  if (o.detach) {
    eo.detach = true;
    NullStdio null;
    auto pid = rt.exec(*id, *process, eo);
    if (!pid.ok()) return report(pid.error());
    // The process is our child (CLONE_PARENT): nobody waits for it once we exit.
    return 0;
  }
  const bool tty = !o.no_tty && ::isatty(0);
  if (!tty) {
    auto code = rt.exec(*id, *process, eo);
    if (!code.ok()) return report(code.error());
    return *code;
  }
  // A pty as `docker compose exec` allocates: the runtime opens it in the container and sends
  // us the master; we run the process detached (it is still our child) and proxy.
  ConsoleSocket cs;
  if (auto st = listen_console(cs); !st.ok()) return report(st.error());
  process->terminal = true;
  struct winsize ws {};
  if (::ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
    process->console_size = runtime::ConsoleSize{ws.ws_row, ws.ws_col};
  bool has_term = false;
  for (const auto& e : process->env) has_term = has_term || e.rfind("TERM=", 0) == 0;
  if (!has_term) process->env.push_back("TERM=xterm");
  eo.console_socket = cs.path;
  eo.detach = true;
  auto pid = rt.exec(*id, *process, eo);
  if (!pid.ok()) return report(pid.error());
  auto master = receive_master(cs.fd.get());
  if (!master.ok()) {
    ::kill(*pid, SIGKILL);
    ::waitpid(*pid, nullptr, 0);
    return report(master.error());
  }
  auto code = proxy_pty(*pid, master->get());
  if (!code.ok()) return report(code.error());
  return *code;
}

int run_run(const GlobalOptions& g, const ImageGlobals& ig, const ServiceRunOptions& o) {
  auto s = open_session(g, ig, {o.service}, true);
  if (!s) return 1;
  const compose::Project& p = *s->project;
  if (!p.find_service(o.service)) return report(Error(ENOENT, "no such service: " + o.service));
  PullOptions po;
  po.policy = o.pull;
  po.quiet = o.quiet_pull;
  auto digests = ensure_service_images(p, ImageGlobals{s->root, {}}, po);
  if (!digests.ok()) return report(digests.error());
  auto desired = engine::desired_project(p, *digests);
  if (!desired.ok()) return report(desired.error());
  const engine::DesiredService* ds = desired->find_service(o.service);
  if (!ds) return report(Error(ENOENT, "no such service: " + o.service));
  if (!o.no_deps)
    if (int rc = start_dependencies(*s, *desired, *ds); rc != 0) return rc;

  const std::string name =
      o.name.empty() ? engine::oneoff_container_name(s->project_name, o.service, random_hex12())
                     : o.name;
  engine::HostRunner runner(*s->host, &p, &*desired);
  auto req = runner.container_request(o.service, 1, name);
  if (!req.ok()) return report(req.error());
  compose::Service& svc = req->service;
  for (const auto& [k, v] : engine::container_labels(*desired, *ds, 1, true)) req->labels[k] = v;
  for (const auto& l : o.labels) {
    auto eq = l.find('=');
    req->labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  req->oneoff = true;
  svc.restart = "no";
  svc.container_name.clear();
  if (!o.service_ports) svc.ports.clear();
  if (!o.command.empty()) svc.command = o.command;
  if (o.entrypoint_set) {
    auto words = split_words(o.entrypoint);
    if (!words.ok()) return report(words.error());
    svc.entrypoint = *words;
    // A new entrypoint drops the image's CMD unless a command is given (Docker's rule).
    if (o.command.empty() && !svc.command) svc.command = std::vector<std::string>{};
  }
  for (const auto& e : o.env)
    if (auto kv = parse_env(e)) svc.environment[kv->first] = kv->second;
  if (!o.user.empty()) svc.user = o.user;
  if (!o.workdir.empty()) svc.working_dir = o.workdir;

  if (auto st = s->host->create_container(*req); !st.ok()) return report(st.error());
  if (auto st = s->host->start_container(name); !st.ok()) {
    report(st.error());
    if (o.remove) (void)s->host->remove_container(name, true);
    return 1;
  }
  if (o.detach) {
    std::printf("%s\n", name.c_str());
    return 0;
  }

  // Attached: the shim owns the container's stdio, so its output comes from log.json.
  auto dir = s->host->container_dir(name);
  if (!dir.ok()) return report(dir.error());
  engine::LogOptions lo;
  lo.follow = true;
  lo.no_prefix = true;
  engine::LogPrinter printer(lo, write_stdout);
  const std::vector<engine::LogSource> sources = {{name, *dir + "/log.json", name}};
  engine::CancelToken cancel;
  int exit_code = 1;
  bool stopping = false;
  {
    SignalWatcher signals(cancel);
    auto followed = engine::follow(
        printer, [&] { return sources; },
        [&] {
          if (cancel.cancelled() && !stopping) {
            stopping = true;  // Ctrl-C: stop the one-off as Compose does, then report its code
            (void)s->host->stop_container(name, {});
          }
          auto info = s->host->inspect(name);
          if (!info.ok()) return true;
          if (!finished(*info)) return false;
          exit_code = info->observed.exit_code;
          return true;
        },
        100);
    if (!followed.ok()) report(followed.error());
  }
  if (o.remove) {
    if (auto st = s->host->remove_container(name, true); !st.ok()) report(st.error());
  }
  return exit_code;
}

}  // namespace stack::cli
