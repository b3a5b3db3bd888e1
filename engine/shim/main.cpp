// stack-shim: arguments, detaching from the CLI, the pid lock, and the ready report (shim.h).
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "shim.h"
#include "stack/common/atomic_file.h"
#include "stack/common/syscalls.h"
#include "stack/engine/shim_protocol.h"
#include "stack/runtime/container.h"
#include "supervisor.h"

namespace stack::engine::shim {
namespace {

struct Args {
  std::string dir;
  int ready_fd = -1;
};

// Writes the outcome to the ready fd once: "0" when the container runs, else the error.
class Ready {
 public:
  explicit Ready(int fd) : fd_(fd) {}
  void report(const std::string& message) {
    if (fd_ < 0) return;
    (void)!::write(fd_, message.data(), message.size());
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

int usage(const char* message) {
  std::fprintf(stderr,
               "stack-shim: %s\nusage: stack-shim --dir <container dir> [--ready-fd <fd>]\n",
               message);
  return 2;
}

// Returns in the detached grandchild only (setsid: no controlling terminal, not in the CLI's
// process group, so the CLI's exit and Ctrl-C do not reach it). The original process exits
// with 0 once the grandchild exists; the middle one exits at once so the grandchild is
// re-parented away from the CLI.
void detach(int ready_fd) {
  pid_t child = ::fork();
  if (child < 0) {
    std::perror("stack-shim: fork");
    std::exit(1);
  }
  if (child > 0) {
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    std::exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
  }
  ::setsid();
  pid_t grandchild = ::fork();
  if (grandchild < 0) {
    Ready(ready_fd).report("stack-shim: fork: " + std::string(std::strerror(errno)));
    ::_exit(1);
  }
  if (grandchild > 0) ::_exit(0);
}

// stdin from /dev/null, stdout/stderr to D/shim.log; every other inherited fd but the ready fd
// closed, so that nothing of the caller (its pipes) is held open by a long-lived process.
void redirect_stdio(const std::string& dir, int ready_fd) {
  int in = ::open("/dev/null", O_RDONLY);
  int log = ::open((dir + "/" + kShimOwnLogFile).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  if (in >= 0) ::dup2(in, 0);
  if (log >= 0) {
    ::dup2(log, 1);
    ::dup2(log, 2);
  }
  if (ready_fd > 3) ::syscall(SYS_close_range, 3, ready_fd - 1, 0);
  ::syscall(SYS_close_range, std::max(3, ready_fd + 1), ~0U, 0);
  if (ready_fd >= 0) ::fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
  ::chdir("/");
}

// D/shim.pid, locked for the shim's lifetime (shim_alive). The fd is CLOEXEC and the lock is on
// its open file description, so containers (whose inits drop it at execve) never hold it.
Result<UniqueFd> lock_pid_file(const std::string& dir) {
  const std::string path = dir + "/" + kShimPidFile;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return errno_error("opening " + path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return Error(EBUSY, "another stack-shim already supervises " + dir);
    return errno_error("locking " + path);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0)
    return errno_error("writing " + path);
  return fd;
}

Result<Args> parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--dir" || arg == "--ready-fd") && i + 1 < argc) {
      std::string value = argv[++i];
      if (arg == "--dir") {
        a.dir = value;
      } else {
        char* end = nullptr;
        long fd = std::strtol(value.c_str(), &end, 10);
        if (*end || fd < 0 || fd > INT_MAX)
          return Error(EINVAL, "--ready-fd: not a file descriptor: " + value);
        a.ready_fd = static_cast<int>(fd);
      }
    } else {
      return Error(EINVAL, "unexpected argument \"" + arg + "\"");
    }
  }
  if (a.dir.empty()) return Error(EINVAL, "--dir is required");
  char real[PATH_MAX];
  if (!::realpath(a.dir.c_str(), real)) return errno_error("--dir " + a.dir);
  a.dir = real;
  return a;
}

// Everything after detaching; the ready fd hears exactly one outcome.
int supervise(const Args& args, Ready& ready) {
  auto lock = lock_pid_file(args.dir);
  if (!lock.ok()) {
    ready.report(lock.error().to_string());
    return 1;
  }
  const std::string config_path = args.dir + "/" + kShimConfigFile;
  auto text = read_file(config_path);
  auto config =
      text.ok() ? parse_shim_config(*text, config_path) : Result<ShimConfig>(text.error());
  if (!config.ok()) {
    ready.report(config.error().to_string());
    return 1;
  }
  // Orphans of a container without its own pid namespace are reaped here, not by host init.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  ::unsetenv("LISTEN_FDS");  // the runtime would pass our fds 3.. on as socket activation
  RealSyscalls sys;
  runtime::Runtime rt(config->runtime_root, sys);
  Supervisor supervisor(args.dir, *config, rt);
  Status st = supervisor.init();
  if (st.ok()) st = supervisor.start_first();
  if (!st.ok()) {
    std::fprintf(stderr, "stack-shim: %s\n", st.error().to_string().c_str());
    ready.report(st.error().to_string());
    return 1;
  }
  ready.report("0");
  return supervisor.run();
}

}  // namespace

int shim_main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-v") == 0)) {
    std::printf("stack-shim version %s\n", STACK_VERSION);
    return 0;
  }
  auto args = parse_args(argc, argv);
  if (!args.ok()) return usage(args.error().to_string().c_str());
  if (args->ready_fd >= 0 && ::fcntl(args->ready_fd, F_GETFD) < 0)
    return usage("--ready-fd is not open");
  // Fds 0-2 are about to become /dev/null and shim.log.
  if (args->ready_fd >= 0 && args->ready_fd < 3)
    args->ready_fd = ::fcntl(args->ready_fd, F_DUPFD, 3);
  detach(args->ready_fd);
  redirect_stdio(args->dir, args->ready_fd);
  ::umask(022);
  Ready ready(args->ready_fd);
  return supervise(*args, ready);
}

}  // namespace stack::engine::shim
