#include "sync.h"

#include <sys/socket.h>

#include <cstdlib>
#include <cstring>

namespace stack::runtime {

Status sync_send(int fd, SyncMsg type, const std::string& payload) {
  std::string msg(1, static_cast<char>(type));
  msg += payload;
  for (;;) {
    ssize_t n = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
    if (n >= 0) return {};
    if (errno != EINTR) return errno_error("sync send");
  }
}

ssize_t recv_with_fd(int fd, std::string& data, UniqueFd* received, int flags) {
  char control[CMSG_SPACE(sizeof(int))] = {};
  struct iovec iov {data.data(), data.size()};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  if (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg && cmsg->cmsg_type == SCM_RIGHTS) {
    int passed;
    std::memcpy(&passed, CMSG_DATA(cmsg), sizeof passed);
    UniqueFd owned(passed);
    if (received) *received = std::move(owned);
  }
  data.resize(static_cast<size_t>(n));
  return n;
}

Result<std::pair<SyncMsg, std::string>> sync_recv(int fd, UniqueFd* received) {
  std::string buf;
  for (;;) {
    // Size the buffer to the message (MSG_PEEK|MSG_TRUNC gives a datagram's full length) rather
    // than zero-filling a large one: every page touched here is RSS of a runtime start.
    char first;
    ssize_t size = ::recv(fd, &first, 1, MSG_PEEK | MSG_TRUNC);
    if (size < 0 && errno == EINTR) continue;
    if (size < 0) return errno_error("sync receive");
    if (size == 0) return Error(EPIPE, "container init exited during setup");
    buf.assign(static_cast<size_t>(size), '\0');
    ssize_t n = recv_with_fd(fd, buf, received, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("sync receive");
    if (n == 0) return Error(EPIPE, "container init exited during setup");
    return std::make_pair(static_cast<SyncMsg>(buf[0]), buf.substr(1));
  }
}

void sync_send_error(int fd, const Error& err) {
  (void)sync_send(fd, SyncMsg::kError, std::to_string(err.code) + "\n" + err.to_string());
}

Error sync_error(const std::string& payload) {
  auto nl = payload.find('\n');
  if (nl == std::string::npos) return Error(EIO, payload);
  return Error(std::atoi(payload.substr(0, nl).c_str()), payload.substr(nl + 1));
}

}  // namespace stack::runtime
