// Starting the container with its stdio on pipes (or a pty) the shim owns, its exit, restarts,
// and its output as json-file lines (supervisor.h).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os_util.h"
#include "stack/common/log.h"
#include "supervisor.h"

namespace stack::engine::shim {
namespace {

// Docker's json-file splits lines longer than this into partial entries.
constexpr size_t kMaxLine = 16 * 1024;

}  // namespace

// The runtime clones the init from this process; for the duration of create the init's fds 0-2
// are put on 0-2 and every signal is unblocked (see os_util.h), so the container starts with our
// pipes and a clean mask.
Status Supervisor::start_container() {
  STACK_TRY(auto out, make_pipe());
  STACK_TRY(auto err, make_pipe());
  UniqueFd stdin_read;
  if (config_.stdin_open && !config_.tty) {
    STACK_TRY(auto in, make_pipe());
    stdin_read = std::move(in.first);
    stdin_keep_ = std::move(in.second);
    ::fcntl(stdin_read.get(), F_SETFL, 0);
  } else {
    stdin_read.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  }
  UniqueFd console_ours, console_theirs;
  runtime::CreateOptions options;
  options.id = config_.id;
  options.bundle = config_.bundle;
  if (config_.tty) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
      return errno_error("socketpair");
    console_ours.reset(pair[0]);
    console_theirs.reset(pair[1]);
    options.console_fd = console_theirs.get();
  }
  auto created = run_in_child([&]() -> Result<int> {
    if (rt_.state(config_.id).ok()) {
      // Left by a shim that died: this shim holds shim.pid's lock, so the container is ours.
      if (Status st = rt_.remove(config_.id, true); !st.ok())
        return std::move(st).error().wrap("removing stale container");
    }
    StdioWindow stdio(stdin_read.get(), out.second.get(), err.second.get());
    SignalWindow signals;
    auto pid = rt_.create(options);
    if (!pid.ok()) return std::move(pid).error().wrap("creating container \"" + config_.id + "\"");
    if (Status st = rt_.start(config_.id); !st.ok()) {
      (void)rt_.remove(config_.id, true);
      return std::move(st).error().wrap("starting container \"" + config_.id + "\"");
    }
    return *pid;
  });
  if (!created.ok()) return std::move(created).error();
  container_pid_ = *created;
  started_mono_ms_ = monotonic_ms();
  if (config_.tty) {
    console_theirs.reset();
    auto received = receive_fd(console_ours.get());
    if (!received.ok()) return std::move(received).error().wrap("receiving the console");
    UniqueFd master = std::move(*received);
    ::fcntl(master.get(), F_SETFL, O_NONBLOCK);
    stdin_keep_.reset(::fcntl(master.get(), F_DUPFD_CLOEXEC, 3));
    add_stream(std::move(master), "stdout", kStdout);
  } else {
    add_stream(std::move(out.first), "stdout", kStdout);
    add_stream(std::move(err.first), "stderr", kStderr);
  }
  status_.state = "running";
  status_.pid = container_pid_;
  status_.exit_code = 0;
  status_.error.clear();
  status_.started_at = rfc3339_nano_now();
  if (config_.healthcheck) {
    status_.health.status = "starting";
    status_.health.failing_streak = 0;
  }
  stop_signalled_ = false;
  write_status();
  schedule_health();
  return {};
}

void Supervisor::on_container_exit(int wait_status) {
  const int exit_code =
      WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
  container_pid_ = -1;
  // Read before the cgroup is deleted below.
  status_.oom_killed = WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL &&
                       oom_kills(config_.cgroups_path) > 0;
  cancel_probe();
  arm_timer(grace_timer_.get(), 0);
  drain_streams(false);
  // Removes what is left in the cgroup (whose processes may still hold the pipes), the cgroup
  // and the runtime's state; a restart creates a new container from the same bundle.
  auto removed = run_in_child([&]() -> Result<int> {
    if (rt_.state(config_.id).ok()) STACK_TRY_VOID(rt_.remove(config_.id, true));
    return 0;
  });
  if (!removed.ok()) log::error(removed.error().to_string());
  drain_streams(true);
  stdin_keep_.reset();
  status_.pid = 0;
  status_.exit_code = exit_code;
  status_.finished_at = rfc3339_nano_now();
  if (!stopping_ &&
      should_restart(config_.restart, exit_code, status_.stopped_by_user, status_.restart_count)) {
    restart_delay_ms_ = next_restart_delay_ms(restart_delay_ms_, ran_ms());
    status_.state = "restarting";
    write_status();
    arm_timer(restart_timer_.get(), restart_delay_ms_);
    return;
  }
  finish();
}

void Supervisor::add_stream(UniqueFd fd, const char* name, uint64_t tag) {
  auto& slot = tag == kStdout ? out_ : err_;
  slot.emplace();
  slot->fd = std::move(fd);
  slot->name = name;
  if (Status st = watch(slot->fd.get(), tag); !st.ok()) log::error(st.error().to_string());
}

void Supervisor::write_log(const OutputStream& s, std::string_view text, const std::string& time) {
  if (Status st = log_.write_line(log_line_json(text, s.name, time)); !st.ok())
    log::error(st.error().to_string());
}

// Reads what is there; complete lines (and over-long partial ones) go to log.json. Returns false
// at EOF (a pty master reports EIO once every slave fd is closed), after flushing the rest.
bool Supervisor::pump_stream(OutputStream& s) {
  char buf[16 * 1024];
  for (;;) {
    ssize_t n = ::read(s.fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    const std::string time = rfc3339_nano_now();
    if (n <= 0) {
      if (!s.partial.empty()) write_log(s, s.partial, time);
      s.partial.clear();
      return false;
    }
    s.partial.append(buf, static_cast<size_t>(n));
    size_t begin = 0;
    for (size_t nl; (nl = s.partial.find('\n', begin)) != std::string::npos; begin = nl + 1)
      write_log(s, std::string_view(s.partial).substr(begin, nl + 1 - begin), time);
    while (s.partial.size() - begin >= kMaxLine) {
      write_log(s, std::string_view(s.partial).substr(begin, kMaxLine), time);
      begin += kMaxLine;
    }
    s.partial.erase(0, begin);
  }
}

// to_eof: the container is gone, so every writer should be too: read to the end and close,
// waiting at most a second for a writer that escaped the cgroup.
void Supervisor::drain_streams(bool to_eof) {
  for (auto* s : {&out_, &err_}) {
    if (!*s) continue;
    bool open = pump_stream(**s);
    while (open && to_eof) {
      struct pollfd pfd {
        (*s)->fd.get(), POLLIN, 0
      };
      if (::poll(&pfd, 1, 1000) <= 0) break;
      open = pump_stream(**s);
    }
    if (!open || to_eof) s->reset();
  }
}

}  // namespace stack::engine::shim
