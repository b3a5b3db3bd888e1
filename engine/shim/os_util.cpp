// Signal and fd windows around the runtime's clones, pipes, timers (os_util.h).
#include "os_util.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace stack::engine::shim {
namespace {

std::atomic<uint64_t> g_caught{0};

extern "C" void on_signal(int sig) { g_caught.fetch_or(uint64_t{1} << sig); }

}  // namespace

sigset_t loop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT}) sigaddset(&set, sig);
  return set;
}

Status install_signal_handling() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGPIPE, SIGHUP})
    if (::sigaction(sig, &sa, nullptr) != 0) return errno_error("sigaction");
  sigset_t set = loop_signals();
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return errno_error("sigprocmask");
  return {};
}

uint64_t take_caught_signals() { return g_caught.exchange(0); }

SignalWindow::SignalWindow() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, &saved_);
}

SignalWindow::~SignalWindow() { ::sigprocmask(SIG_SETMASK, &saved_, nullptr); }

StdioWindow::StdioWindow(int in, int out, int err) {
  const int fds[3] = {in, out, err};
  for (int i = 0; i < 3; ++i) {
    saved_[i].reset(::fcntl(i, F_DUPFD_CLOEXEC, 3));
    if (fds[i] >= 0) ::dup2(fds[i], i);
  }
}

StdioWindow::~StdioWindow() {
  for (int i = 0; i < 3; ++i)
    if (saved_[i]) ::dup2(saved_[i].get(), i);
}

Result<int> run_in_child(const std::function<Result<int>()>& fn) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t child = ::fork();
  if (child < 0) return errno_error("fork");
  if (child == 0) {
    rd.reset();
    Result<int> r = fn();
    // "O<value>" or "E<code> <message>".
    std::string msg = r.ok() ? "O" + std::to_string(*r)
                             : "E" + std::to_string(r.error().code) + " " + r.error().to_string();
    (void)!::write(wr.get(), msg.data(), msg.size());
    ::_exit(0);
  }
  wr.reset();
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (reply.size() > 1 && reply[0] == 'O') return std::atoi(reply.c_str() + 1);
  if (reply.size() > 1 && reply[0] == 'E') {
    size_t space = reply.find(' ');
    int code = std::atoi(reply.c_str() + 1);
    return Error(code ? code : EIO, space == std::string::npos ? "" : reply.substr(space + 1));
  }
  return Error(EIO, "the shim's helper process died (status " + std::to_string(status) + ")");
}

int64_t oom_kills(const std::string& cgroups_path) {
  if (cgroups_path.empty()) return 0;
  const bool v2 = ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
  const std::string path = v2 ? "/sys/fs/cgroup" + cgroups_path + "/memory.events"
                              : "/sys/fs/cgroup/memory" + cgroups_path + "/memory.oom_control";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return 0;
  char buf[1024];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return 0;
  buf[n] = '\0';
  // A line "oom_kill N" in both files (v1 since Linux 4.13).
  for (const char* p = buf; (p = std::strstr(p, "oom_kill")) != nullptr; p += 8) {
    if ((p == buf || p[-1] == '\n') && p[8] == ' ') return std::atoll(p + 9);
  }
  return 0;
}

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd r(p[0]), w(p[1]);
  if (::fcntl(r.get(), F_SETFL, O_NONBLOCK) != 0) return errno_error("fcntl O_NONBLOCK");
  return std::make_pair(std::move(r), std::move(w));
}

Result<UniqueFd> make_timer() {
  UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!fd) return errno_error("timerfd_create");
  return fd;
}

void arm_timer(int fd, int64_t ms) {
  struct itimerspec its {};
  if (ms > 0) {
    its.it_value.tv_sec = ms / 1000;
    its.it_value.tv_nsec = (ms % 1000) * 1000000;
  }
  ::timerfd_settime(fd, 0, &its, nullptr);
}

int64_t monotonic_ms() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace stack::engine::shim
