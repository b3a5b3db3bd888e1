#include "hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "stack/common/unique_fd.h"

namespace stack::runtime {
namespace {

Status run_hook(const Hook& hook, const std::string& state_json, const char* kind) {
  const std::string what = std::string(kind) + " hook " + hook.path;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return errno_error(what);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  std::vector<char*> argv, envp;
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = hook.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return errno_error(what);
  if (pid == 0) {
    ::dup2(read_end.get(), 0);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  read_end.reset();
  // A hook that does not read its stdin must not block us: write what fits, then close.
  ::fcntl(write_end.get(), F_SETFL, O_NONBLOCK);
  (void)!::write(write_end.get(), state_json.data(), state_json.size());
  write_end.reset();

  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  UniqueFd pidfd_owner(pidfd);
  if (pidfd >= 0 && hook.timeout_s) {
    struct pollfd pfd {pidfd, POLLIN, 0};
    int rc;
    do rc = ::poll(&pfd, 1, *hook.timeout_s * 1000);
    while (rc < 0 && errno == EINTR);
    if (rc == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return Error(ETIMEDOUT, what + ": timed out after " + std::to_string(*hook.timeout_s) + "s");
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return errno_error(what);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 127) return Error(ENOEXEC, what + ": could not be executed");
    return Error(EIO, what + ": exited with status " + std::to_string(WEXITSTATUS(status)));
  }
  return Error(EIO, what + ": killed by signal " + std::to_string(WTERMSIG(status)));
}

}  // namespace

Status run_hooks(const std::vector<Hook>& hooks, const std::string& state_json, const char* kind) {
  for (const auto& hook : hooks) STACK_TRY_VOID(run_hook(hook, state_json, kind));
  return {};
}

}  // namespace stack::runtime
