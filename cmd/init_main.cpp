// stack-init: the container init for Compose's `init: true` (Docker's docker-init, tini's job).
// The engine bind-mounts it read-only at /sbin/docker-init and prepends it to the process args:
//   /sbin/docker-init -- COMMAND [ARGS…]
// As PID 1 it runs COMMAND as its child, forwards every catchable signal to it (PID 1 gets no
// default actions, so SIGTERM would otherwise be ignored by a shell), reaps every zombie that
// is re-parented to it, and exits with COMMAND's status (128 + signal when it was killed).
// Static and allocation-free after start, so it adds ~100 kB to the container.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

int usage() {
  fprintf(stderr, "usage: stack-init -- COMMAND [ARGS...]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) ++first;
  if (first >= argc) return usage();
  // Also useful outside a pid namespace: orphans of the command come to us, not to host init.
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child < 0) {
    perror("stack-init: fork");
    return 1;
  }
  if (child == 0) {
    // The command gets default dispositions and the mask we were started with, in a process
    // group of its own with the terminal (if any) in its foreground, as tini does.
    sigprocmask(SIG_SETMASK, &old, nullptr);
    setpgid(0, 0);
    if (isatty(STDIN_FILENO)) {
      signal(SIGTTOU, SIG_IGN);
      tcsetpgrp(STDIN_FILENO, getpid());
      signal(SIGTTOU, SIG_DFL);
    }
    execvp(argv[first], argv + first);
    fprintf(stderr, "stack-init: exec %s: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }

  int exit_code = 0;
  bool child_done = false;
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      perror("stack-init: sigwaitinfo");
      return 1;
    }
    if (sig != SIGCHLD) {
      // Forward; stopping signals are for the command too.
      if (!child_done) kill(child, sig);
      continue;
    }
    for (;;) {
      int status = 0;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid == child) {
        child_done = true;
        exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
    }
    if (child_done) {
      // Reap what is left without waiting for it: the container ends with its init.
      while (waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      return exit_code;
    }
  }
}
