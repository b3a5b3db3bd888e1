// netd_sync: the engine's side of stack-netd (netd.h): connect, or start the helper and connect.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "stack/common/unique_fd.h"
#include "stack/engine/netd.h"

extern char** environ;

namespace stack::engine {

namespace {

constexpr int kReadyTimeoutMs = 10000;

// Starts stack-netd for the root. It forks into the background itself (so that it is nobody's
// child) and reports on fd 3 once it serves, or why it cannot.
Status spawn_netd(const LocalHostOptions& options, const std::string& binary) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd rd(fds[0]), wr(fds[1]);
  posix_spawn_file_actions_t fa;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawn_file_actions_adddup2(&fa, wr.get(), 3);
  ::posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  const std::string log = options.root + "/" + kNetdLog;
  ::posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  ::posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETSID);
  const char* argv[] = {binary.c_str(),
                        "--root", options.root.c_str(),
                        "--netns-dir", options.netns_dir.c_str(),
                        "--runtime-root", options.runtime_root.c_str(),
                        "--ready-fd", "3",
                        nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, binary.c_str(), &fa, &attr, const_cast<char**>(argv), environ);
  ::posix_spawn_file_actions_destroy(&fa);
  ::posix_spawnattr_destroy(&attr);
  wr.reset();
  if (rc != 0) return errno_error("starting " + binary, rc);
  std::string report;
  char buf[1024];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReadyTimeoutMs);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p = {rd.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n == 0) {
      report = "stack-netd did not report within " + std::to_string(kReadyTimeoutMs / 1000) + " s";
      break;
    }
    if (n < 0 && errno == EINTR) continue;
    ssize_t got = ::read(rd.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    report.append(buf, static_cast<size_t>(got));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (report == "0") return {};
  if (report.empty()) report = "stack-netd exited without reporting (see " + log + ")";
  return Error(EIO, report);
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
