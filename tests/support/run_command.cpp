// run_program: fork/execve with three pipes and a poll loop (see run_command.h).
#include "support/run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace stack::test {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void harness_error(const std::string& what) {
  throw std::runtime_error("run_program: " + what + ": " + std::strerror(errno));
}

void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) harness_error("pipe2");
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// In the child between fork and execve: async-signal-safe calls only (the test process may
// have threads, e.g. the registry fixture's token service). Never returns.
[[noreturn]] void exec_child(const char* path, char* const argv[], char* const envp[],
                             int in_fd, int out_fd, int err_fd, int report_fd, const char* cwd,
                             pid_t parent) {
  auto die = [report_fd]() {
    int e = errno;
    (void)!::write(report_fd, &e, sizeof e);
    ::_exit(127);
  };
  // A test that crashes must not leave the command running.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die();
  if (::getppid() != parent) ::_exit(127);
  // Signals the test ignores or blocks (SIGPIPE while writing stdin) must not carry over:
  // ignored dispositions and the mask survive execve.
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) die();
  // Whatever else the test has open (registry pipes, store locks) closes on exec.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) die();
  if (cwd != nullptr && ::chdir(cwd) != 0) die();
  ::execve(path, argv, envp);
  die();
  ::_exit(127);  // not reached: die() exits, but a lambda cannot say so
}

// Appends what `fd` has to `sink`; returns false at end of file (and closes fd).
bool drain(int& fd, std::string& sink) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      sink.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      close_fd(fd);
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return true;
    close_fd(fd);  // EIO and the like: treat as the end
    return false;
  }
}

}  // namespace

std::string ProgramResult::describe() const {
  std::string s;
  if (timed_out) s += "TIMED OUT, ";
  if (term_signal != 0) {
    s += "killed by signal " + std::to_string(term_signal);
  } else {
    s += "exit " + std::to_string(exit_code);
  }
  s += " after " + std::to_string(elapsed.count()) + " ms\n--- stdout\n" + out +
       "--- stderr\n" + err;
  return s;
}

ProgramResult run_program(const std::string& binary, const std::vector<std::string>& args,
                          const ProgramOptions& options) {
  // Everything the child needs is allocated before fork.
  std::vector<std::string> argv_s;
  argv_s.push_back(binary);
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = options.env;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in[2] = {-1, -1}, out[2], err[2], report[2];
  if (options.stdin_data) {
    make_pipe(in);
  } else {
    in[0] = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in[0] < 0) harness_error("open /dev/null");
  }
  make_pipe(out);
  make_pipe(err);
  make_pipe(report);

  // A child that exits before reading all of stdin would raise SIGPIPE in this thread: block it
  // here and consume it below, rather than change the disposition for the whole test process.
  sigset_t pipe_set, old_mask;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  sigset_t pending_before;
  sigpending(&pending_before);

  auto start = Clock::now();
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) harness_error("fork");
  if (pid == 0) {
    exec_child(binary.c_str(), argv.data(), envp.data(), in[0], out[1], err[1], report[1],
               options.cwd.empty() ? nullptr : options.cwd.c_str(), parent);
  }
  close_fd(in[0]);
  close_fd(out[1]);
  close_fd(err[1]);
  close_fd(report[1]);

  // execve closed the report pipe (EOF), or the child wrote errno there.
  int exec_errno = 0;
  ssize_t got;
  do {
    got = ::read(report[0], &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  close_fd(report[0]);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    close_fd(in[1]);
    close_fd(out[0]);
    close_fd(err[0]);
    ::waitpid(pid, nullptr, 0);
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    errno = exec_errno;
    harness_error("cannot run " + binary);
  }

  for (int fd : {in[1], out[0], err[0]}) {
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  ProgramResult result;
  const std::string input = options.stdin_data.value_or("");
  size_t written = 0;
  if (in[1] >= 0 && input.empty()) close_fd(in[1]);
  auto deadline = start + options.timeout;
  bool killed = false;
  while (out[0] >= 0 || err[0] >= 0) {
    auto now = Clock::now();
    if (!killed && now >= deadline) {
      ::kill(pid, SIGKILL);
      killed = true;
      result.timed_out = true;
      // Anything that inherited the pipes keeps them open: stop reading soon after the kill.
      deadline = now + std::chrono::seconds(2);
    } else if (killed && now >= deadline) {
      break;
    }
    pollfd fds[3];
    int n = 0;
    for (int fd : {out[0], err[0]}) {
      if (fd >= 0) fds[n++] = {fd, POLLIN, 0};
    }
    if (in[1] >= 0) fds[n++] = {in[1], POLLOUT, 0};
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    int r = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::max<long long>(wait_ms, 1)));
    if (r < 0 && errno != EINTR) harness_error("poll");
    if (r <= 0) continue;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == out[0]) {
        drain(out[0], result.out);
      } else if (fds[i].fd == err[0]) {
        drain(err[0], result.err);
      } else {
        ssize_t w = ::write(in[1], input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        // EPIPE: the child does not want the rest; either way stdin is done when all is sent.
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size())
          close_fd(in[1]);
      }
    }
  }
  close_fd(in[1]);
  close_fd(out[0]);
  close_fd(err[0]);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) harness_error("waitpid");
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }

  // Consume a SIGPIPE our write raised, unless one was pending before we started.
  if (!sigismember(&pending_before, SIGPIPE)) {
    timespec zero = {0, 0};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return result;
}

}  // namespace stack::test
