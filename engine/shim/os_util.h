// Process plumbing for the shim's calls into the runtime library, which clones the container's
// init and exec'd processes from this process: they inherit its fds 0-2 and its signal mask.
#pragma once

#include <signal.h>

#include <cstdint>
#include <functional>

#include "stack/common/fd_util.h"
#include "stack/common/result.h"
#include "stack/common/unique_fd.h"

namespace stack::engine::shim {

// The signals the loop takes through its signalfd.
sigset_t loop_signals();

// Installs flag-setting handlers for the loop's signals (and a no-op one for SIGPIPE, so that
// writes to a gone reader fail with EPIPE; a handler, unlike SIG_IGN, is reset by execve) and
// blocks the loop's signals.
Status install_signal_handling();

// Signals caught by the handlers while a window was open (a bit per signal number); cleared.
uint64_t take_caught_signals();

// Unblocks every signal for its lifetime: the runtime's children start with the caller's mask,
// and a container must not start with SIGTERM blocked. Signals arriving meanwhile go to the
// handlers and are picked up with take_caught_signals().
class SignalWindow {
 public:
  SignalWindow();
  ~SignalWindow();
  SignalWindow(const SignalWindow&) = delete;
  SignalWindow& operator=(const SignalWindow&) = delete;

 private:
  sigset_t saved_;
};

// Puts in/out/err on fds 0/1/2 for its lifetime (the runtime's children inherit them), then
// restores the shim's own.
class StdioWindow {
 public:
  StdioWindow(int in, int out, int err);
  ~StdioWindow();
  StdioWindow(const StdioWindow&) = delete;
  StdioWindow& operator=(const StdioWindow&) = delete;

 private:
  UniqueFd saved_[3];
};

// Runs fn in a forked child and returns its result. The runtime's create, exec and delete
// paths (the spec parser, libseccomp, cgroup code) fault in most of the static binary; done in
// a short-lived child those pages never count toward the shim's own resident set, which is what
// scales with one shim per container. A process the child creates (the container's init, a
// probe) is re-parented to the shim, a child subreaper, when the child exits. The shim is
// single-threaded, so fork is safe; fn must not touch the shim's epoll or sockets.
Result<int> run_in_child(const std::function<Result<int>()>& fn);

// How many times the OOM killer killed a process in the cgroup at cgroups_path (relative to
// the hierarchy's root: memory.events of cgroup v2, memory.oom_control of v1); 0 when unknown.
int64_t oom_kills(const std::string& cgroups_path);

// A pipe: [0] read end (non-blocking), [1] write end; both CLOEXEC.
Result<std::pair<UniqueFd, UniqueFd>> make_pipe();

// A timerfd on CLOCK_MONOTONIC (non-blocking); arm with ms <= 0 disarms.
Result<UniqueFd> make_timer();
void arm_timer(int fd, int64_t ms);

int64_t monotonic_ms();

}  // namespace stack::engine::shim
