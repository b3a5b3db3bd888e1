// The supervisor's loop, signals, stop and the control socket (supervisor.h).
#include "supervisor.h"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "os_util.h"
#include "stack/common/atomic_file.h"
#include "stack/common/log.h"
#include "unix_socket.h"

namespace stack::engine::shim {
namespace {

constexpr uint64_t kStopSignals = (uint64_t{1} << SIGTERM) | (uint64_t{1} << SIGINT);

void drain_timer(int fd) {
  uint64_t expirations;
  (void)!::read(fd, &expirations, sizeof expirations);
}

std::string error_reply(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
}

}  // namespace

Supervisor::Supervisor(std::string dir, ShimConfig config, runtime::Runtime& rt)
    : dir_(std::move(dir)),
      config_(std::move(config)),
      rt_(rt),
      log_(dir_ + "/" + kShimLogFile, config_.log) {
  status_.shim_pid = static_cast<int>(::getpid());
  if (auto sig = parse_signal(config_.stop_signal); sig.ok()) stop_signal_ = *sig;
}

Status Supervisor::watch(int fd, uint64_t tag) {
  struct epoll_event ev {};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return errno_error("epoll_ctl");
  return {};
}

Status Supervisor::init() {
  STACK_TRY_VOID(install_signal_handling());
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return errno_error("epoll_create1");
  sigset_t set = loop_signals();
  signals_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signals_) return errno_error("signalfd");
  STACK_TRY_VOID(watch(signals_.get(), kSignals));
  STACK_TRY_VOID(log_.open());
  for (auto [timer, tag] : {std::pair{&restart_timer_, kRestartTimer},
                            {&grace_timer_, kGraceTimer},
                            {&health_timer_, kHealthTimer},
                            {&health_timeout_, kHealthTimeout}}) {
    STACK_TRY(*timer, make_timer());
    STACK_TRY_VOID(watch(timer->get(), tag));
  }
  STACK_TRY(listen_, shim_socket::listen_control(dir_));
  return watch(listen_.get(), kListen);
}

Status Supervisor::start_first() {
  Status st = start_container();
  if (!st.ok()) {
    status_.state = "exited";
    status_.error = st.error().to_string();
    status_.finished_at = rfc3339_nano_now();
    write_status();
    ::unlink((dir_ + "/" + kShimSocketFile).c_str());
  }
  return st;
}

int Supervisor::run() {
  struct epoll_event events[16];
  while (!done_) {
    reap();
    if (done_) break;
    int n = ::epoll_wait(epoll_.get(), events, 16, -1);
    if (n < 0 && errno != EINTR) {
      log::error(errno_error("epoll_wait").to_string());
      return 1;
    }
    for (int i = 0; i < n && !done_; ++i) handle_event(events[i].data.u64, events[i].events);
  }
  return 0;
}

void Supervisor::handle_event(uint64_t tag, uint32_t events) {
  switch (tag) {
    case kSignals: handle_signals(); return;
    case kListen: accept_clients(); return;
    case kStdout:
    case kStderr: {
      auto& s = tag == kStdout ? out_ : err_;
      if (s && !pump_stream(*s)) s.reset();
      return;
    }
    case kRestartTimer:
      drain_timer(restart_timer_.get());
      if (stopping_) return;
      status_.restart_count++;
      if (Status st = start_container(); !st.ok()) {
        log::error(st.error().to_string());
        status_.error = st.error().to_string();
        on_container_exit(W_EXITCODE(128, 0));
      }
      return;
    case kGraceTimer:
      drain_timer(grace_timer_.get());
      if (container_pid_ > 0)
        if (Status st = rt_.kill(config_.id, SIGKILL, true); !st.ok())
          log::warn(st.error().to_string());
      return;
    case kHealthTimer:
      drain_timer(health_timer_.get());
      run_probe();
      return;
    case kHealthTimeout:
      drain_timer(health_timeout_.get());
      if (probe_pid_ > 0) {
        probe_timed_out_ = true;
        ::kill(probe_pid_, SIGKILL);
      }
      return;
    case kProbeOutput: read_probe_output(false); return;
    default:
      if (tag >= kClientBase) serve_client(static_cast<int>(tag - kClientBase));
      (void)events;
  }
}

void Supervisor::handle_signals() {
  struct signalfd_siginfo si;
  uint64_t caught = take_caught_signals();
  while (::read(signals_.get(), &si, sizeof si) == sizeof si) caught |= uint64_t{1} << si.ssi_signo;
  // SIGTERM/SIGINT to the shim stop the container as `stop` does (the engine's last resort).
  if (caught & kStopSignals) begin_stop(config_.stop_grace_ms, -1);
}

// Reaps every exited child: the container's init, a health probe, or (as child subreaper) an
// orphan of a container without its own pid namespace.
void Supervisor::reap() {
  if (take_caught_signals() & kStopSignals) begin_stop(config_.stop_grace_ms, -1);
  for (;;) {
    int wstatus = 0;
    pid_t pid = ::waitpid(-1, &wstatus, WNOHANG);
    if (pid <= 0) return;
    if (pid == container_pid_)
      on_container_exit(wstatus);
    else if (pid == probe_pid_)
      on_probe_exit(wstatus);
  }
}

void Supervisor::begin_stop(int64_t grace_ms, int client_fd) {
  status_.stopped_by_user = true;
  stopping_ = true;
  if (client_fd >= 0) stop_waiters_.push_back(client_fd);
  if (container_pid_ <= 0) {
    arm_timer(restart_timer_.get(), 0);
    finish();
    return;
  }
  if (stop_signalled_) return;
  stop_signalled_ = true;
  cancel_probe();
  if (Status st = rt_.kill(config_.id, stop_signal_, false); !st.ok())
    log::warn(st.error().to_string());
  arm_timer(grace_timer_.get(), grace_ms > 0 ? grace_ms : 1);
}

// The container is gone for good: record it, answer the stop requests, leave.
void Supervisor::finish() {
  status_.state = "exited";
  status_.pid = 0;
  write_status();
  ::unlink((dir_ + "/" + kShimSocketFile).c_str());
  const std::string reply = shim_status_to_json(status_);
  for (int fd : stop_waiters_) (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
  stop_waiters_.clear();
  done_ = true;
}

void Supervisor::accept_clients() {
  for (;;) {
    int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    clients_[fd] = UniqueFd(fd);
    if (!watch(fd, kClientBase + static_cast<uint64_t>(fd)).ok()) clients_.erase(fd);
  }
}

void Supervisor::serve_client(int fd) {
  std::string buf(64 * 1024, '\0');
  ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    std::erase(stop_waiters_, fd);
    clients_.erase(fd);  // closing removes it from the epoll set
    return;
  }
  buf.resize(static_cast<size_t>(n));
  bool deferred = false;
  std::string reply = handle_request(fd, buf, &deferred);
  if (!deferred) (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
}

std::string Supervisor::handle_request(int fd, const std::string& request, bool* deferred) {
  nlohmann::json req = nlohmann::json::parse(request, nullptr, false);
  if (req.is_discarded() || !req.is_object() || !req.contains("op") || !req["op"].is_string())
    return error_reply("expected a JSON object with a string \"op\"");
  const std::string op = req["op"].get<std::string>();
  if (op == "status") return shim_status_to_json(status_);
  if (op == "stop") {
    int64_t grace = config_.stop_grace_ms;
    if (auto t = req.find("timeout_ms"); t != req.end() && t->is_number_integer())
      grace = t->get<int64_t>();
    *deferred = true;
    begin_stop(grace, fd);
    return {};
  }
  if (op == "kill") {
    std::string name = req.value("signal", std::string("SIGKILL"));
    auto sig = parse_signal(name);
    if (!sig.ok()) return error_reply(sig.error().message);
    if (container_pid_ <= 0) return error_reply("container \"" + config_.id + "\" is not running");
    // Docker's manual stop: a kill meant to stop the container disables the restart policy.
    if (*sig == SIGKILL || *sig == stop_signal_) status_.stopped_by_user = true;
    if (Status st = rt_.kill(config_.id, *sig, false); !st.ok())
      return error_reply(st.error().to_string());
    write_status();
    return R"({"ok":true})";
  }
  return error_reply("unknown op \"" + op + "\"");
}

void Supervisor::write_status() {
  const std::string path = dir_ + "/" + kShimStatusFile;
  if (Status st = write_file_atomic(path, shim_status_to_json(status_), 0644, Durability::kSync);
      !st.ok())
    log::error(st.error().to_string());
}

int64_t Supervisor::ran_ms() const { return monotonic_ms() - started_mono_ms_; }

}  // namespace stack::engine::shim
