// The container's terminal (runc's --console-socket protocol): the init opens a pty inside the
// container's devpts, sends the master over the AF_UNIX console socket with SCM_RIGHTS, and makes
// the slave its controlling terminal, stdio and /dev/console.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "init_internal.h"

namespace stack::runtime {

Status send_fd(int socket_fd, int fd, const std::string& name) {
  char control[CMSG_SPACE(sizeof(int))] = {};
  struct iovec iov {const_cast<char*>(name.data()), name.size()};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  if (::sendmsg(socket_fd, &msg, MSG_NOSIGNAL) < 0) return errno_error("sending the pty to the console socket");
  return {};
}

Status setup_console(int console_socket_fd, bool bind_dev_console) {
  UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return errno_error("opening /dev/ptmx");
  if (::unlockpt(master.get()) != 0) return errno_error("unlockpt");
  char name[128];
  if (::ptsname_r(master.get(), name, sizeof name) != 0) return errno_error("ptsname");
  UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return errno_error(std::string("opening ") + name);
  STACK_TRY_VOID(send_fd(console_socket_fd, master.get(), "/dev/ptmx"));
  master.reset();
  // /dev/console is the pty slave, bound over an empty file (runc: mountConsole).
  if (bind_dev_console) {
    UniqueFd console(::open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (console && ::mount(name, "/dev/console", nullptr, MS_BIND, nullptr) != 0)
      return errno_error("binding /dev/console");
  }
  if (::setsid() < 0) return errno_error("setsid");
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) return errno_error("TIOCSCTTY");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave.get(), fd) < 0) return errno_error("dup2 pty");
  return {};
}

}  // namespace stack::runtime
