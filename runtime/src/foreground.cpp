#include "foreground.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "stack/common/fd_util.h"
#include "sync.h"

namespace stack::runtime {
namespace {

// Puts the caller's terminal in raw mode for the container's own line discipline, and restores
// it on the way out.
struct RawTerminal {
  bool active = false;
  struct termios saved {};
  RawTerminal() {
    if (!::isatty(0) || ::tcgetattr(0, &saved) != 0) return;
    struct termios raw = saved;
    ::cfmakeraw(&raw);
    active = ::tcsetattr(0, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active) ::tcsetattr(0, TCSANOW, &saved);
  }
};

void copy_window_size(int master) {
  struct winsize ws {};
  if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
}

}  // namespace

UniqueFd receive_fd(int socket_fd) {
  std::string data(256, '\0');
  UniqueFd fd;
  if (recv_with_fd(socket_fd, data, &fd, MSG_DONTWAIT) <= 0) return {};
  return fd;
}

Result<int> wait_foreground(pid_t pid, const sigset_t& signals, int master) {
  UniqueFd sigfd(::signalfd(-1, &signals, SFD_CLOEXEC));
  if (!sigfd) return errno_error("signalfd");
  std::optional<RawTerminal> raw;
  bool stdin_open = master >= 0, master_open = master >= 0;
  if (master >= 0) {
    raw.emplace();
    copy_window_size(master);
  }
  for (;;) {
    struct pollfd fds[3] = {{sigfd.get(), POLLIN, 0}, {master_open ? master : -1, POLLIN, 0},
                            {stdin_open ? 0 : -1, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return errno_error("poll");
    }
    if (fds[1].revents) master_open = pump_available(master, 1);
    if (fds[2].revents) stdin_open = pump_available(0, master);
    if (!(fds[0].revents & POLLIN)) continue;
    struct signalfd_siginfo info {};
    if (::read(sigfd.get(), &info, sizeof info) != sizeof info) continue;
    if (info.ssi_signo == SIGWINCH && master >= 0) copy_window_size(master);
    if (info.ssi_signo != SIGCHLD) {
      ::kill(pid, static_cast<int>(info.ssi_signo));
      continue;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) != pid) continue;
    // What the container wrote just before exiting is still in the pty.
    if (master_open) {
      ::fcntl(master, F_SETFL, O_NONBLOCK);
      while (pump_available(master, 1)) {
        struct pollfd p {master, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) break;
      }
    }
    return status;
  }
}

}  // namespace stack::runtime
