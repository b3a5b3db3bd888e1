// The control socket's address, and the engine's side of it: shim_alive, shim_request.
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "stack/engine/shim_protocol.h"
#include "unix_socket.h"

namespace stack::engine {
namespace shim_socket {
namespace {

// Fills addr with dir/shim.sock, or with a /proc/self/fd path through *dirfd when too long.
Status socket_address(const std::string& dir, sockaddr_un* addr, UniqueFd* dirfd) {
  addr->sun_family = AF_UNIX;
  std::string path = dir + "/" + kShimSocketFile;
  if (path.size() >= sizeof addr->sun_path) {
    dirfd->reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!*dirfd) return errno_error("opening " + dir);
    path = "/proc/self/fd/" + std::to_string(dirfd->get()) + "/" + kShimSocketFile;
  }
  path.copy(addr->sun_path, path.size());
  addr->sun_path[path.size()] = '\0';
  return {};
}

}  // namespace

Result<UniqueFd> listen_control(const std::string& dir) {
  const std::string where = dir + "/" + kShimSocketFile;
  sockaddr_un addr{};
  UniqueFd dirfd;
  STACK_TRY_VOID(socket_address(dir, &addr, &dirfd));
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return errno_error("socket");
  ::unlink(addr.sun_path);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return errno_error("binding " + where);
  if (::listen(fd.get(), 16) != 0) return errno_error("listening on " + where);
  return fd;
}

Result<UniqueFd> connect_control(const std::string& dir) {
  const std::string where = dir + "/" + kShimSocketFile;
  sockaddr_un addr{};
  UniqueFd dirfd;
  STACK_TRY_VOID(socket_address(dir, &addr, &dirfd));
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return errno_error("connecting to " + where);
  return fd;
}

}  // namespace shim_socket

bool shim_alive(const std::string& dir) {
  const std::string path = dir + "/" + kShimPidFile;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return false;
  return errno == EWOULDBLOCK;
}

Result<std::string> shim_request(const std::string& dir, const std::string& request,
                                 int timeout_ms) {
  const std::string where = dir + "/" + kShimSocketFile;
  STACK_TRY(UniqueFd fd, shim_socket::connect_control(dir));
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0)
    return errno_error("sending to " + where);
  struct pollfd pfd {
    fd.get(), POLLIN, 0
  };
  int rc;
  do rc = ::poll(&pfd, 1, timeout_ms);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return errno_error("waiting for " + where);
  if (rc == 0)
    return Error(ETIMEDOUT, where + ": no reply within " + std::to_string(timeout_ms) + " ms");
  // Status documents carry up to 5 health outputs of 4 KiB each, escaped.
  std::string reply(256 * 1024, '\0');
  ssize_t n = ::recv(fd.get(), reply.data(), reply.size(), 0);
  if (n < 0) return errno_error("reading from " + where);
  if (n == 0) return Error(ECONNRESET, where + ": the shim closed the connection without a reply");
  reply.resize(static_cast<size_t>(n));
  return reply;
}

}  // namespace stack::engine
