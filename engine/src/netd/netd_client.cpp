// netd_sync: the engine's side of stack-netd (netd.h): connect, or start the helper and connect.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "host/spawn_ready.h"
#include "stack/common/unique_fd.h"
#include "stack/engine/netd.h"

namespace stack::engine {

namespace {

constexpr int kReadyTimeoutMs = 10000;

// Starts stack-netd for the root. It forks into the background itself (so that it is nobody's
// child) and reports on fd 3 once it serves, or why it cannot.
Status spawn_netd(const LocalHostOptions& options, const std::string& binary) {
  return spawn_and_await_ready({binary, "--root", options.root, "--netns-dir", options.netns_dir,
                                "--runtime-root", options.runtime_root, "--ready-fd", "3"},
                               options.root + "/" + kNetdLog, true, kReadyTimeoutMs);
}

Result<UniqueFd> connect_netd(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return Error(ENAMETOOLONG, "path too long: " + path);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return errno_error("connecting to " + path);
  return fd;
}

}  // namespace

Status netd_sync(const LocalHostOptions& options, const std::string& binary, bool wait,
                 const std::string& container_id) {
  const std::string path = options.root + "/" + kNetdSocket;
  Error last(EIO, "stack-netd did not answer");
  // A helper may be exiting just as we connect (its last container went away): then a new one
  // is started. A few rounds cover that race.
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto fd = connect_netd(path);
    if (!fd.ok()) {
      last = fd.error();
      if (Status st = spawn_netd(options, binary); !st.ok()) last = st.error();
      fd = connect_netd(path);
      if (!fd.ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
    }
    const std::string request = wait ? "sync " + container_id : "kick";
    if (::send(fd->get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      last = errno_error("writing to " + path);
      continue;
    }
    if (!wait) return {};
    timeval tv{10, 0};
    ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char reply[1024];
    ssize_t n = ::recv(fd->get(), reply, sizeof reply, 0);
    if (n == 2 && std::memcmp(reply, "ok", 2) == 0) return {};
    if (n > 0) return Error(EIO, std::string(reply, static_cast<size_t>(n)))
                   .wrap("embedded DNS (stack-netd)");
    last = n < 0 ? errno_error("reading from " + path) : Error(EIO, "stack-netd went away");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::move(last).wrap("embedded DNS (stack-netd)");
}

}  // namespace stack::engine
