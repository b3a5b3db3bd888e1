// fd_util.h.
#include "stack/common/fd_util.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace stack {

Result<UniqueFd> receive_fd(int socket_fd) {
  char byte;
  struct iovec iov {&byte, 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("receiving a file descriptor");
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return UniqueFd(fd);
    }
  }
  return Error(EPROTO, "a message without a file descriptor");
}

bool pump_available(int in, int out) {
  char buf[16384];
  ssize_t n = ::read(in, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  for (ssize_t done = 0; done < n;) {
    ssize_t w = ::write(out, buf + done, static_cast<size_t>(n - done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return false;
    done += w;
  }
  return true;
}

std::optional<std::string> read_file_in_root(Syscalls& sys, int root_fd, const std::string& path,
                                             size_t max_bytes) {
  auto fd = sys.openat2(root_fd, path, O_RDONLY | O_CLOEXEC, 0,
                        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (!fd.ok()) return std::nullopt;
  std::string out;
  char buf[8192];
  ssize_t n;
  while (out.size() < max_bytes && (n = ::read(fd->get(), buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  if (out.size() > max_bytes) out.resize(max_bytes);
  return out;
}

}  // namespace stack
