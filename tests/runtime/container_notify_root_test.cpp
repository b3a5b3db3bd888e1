// Seccomp user notification (SCMP_ACT_NOTIFY): the runtime hands the listener fd, with the
// container process state, to the agent at linux.seccomp.listenerPath; the agent then decides
// the outcome of the container's notified syscalls.
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/runtime_fixture.h"

using stack::test::RuntimeFixture;

namespace {

struct AgentResult {
  std::string state;  // the JSON sent with the fd
  bool got_fd = false;
  int notifications = 0;
};

// Accepts one connection, takes the listener, and answers every notification with EXDEV until
// the listener reports that the filter's last user is gone.
void run_agent(int listen_fd, AgentResult& out) {
  int conn = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) return;
  char data[8192] = {};
  char control[CMSG_SPACE(sizeof(int))] = {};
  struct iovec iov {data, sizeof data - 1};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  ::close(conn);
  if (n <= 0) return;
  out.state.assign(data, static_cast<size_t>(n));
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) return;
  int listener;
  std::memcpy(&listener, CMSG_DATA(cmsg), sizeof listener);
  out.got_fd = true;
  for (;;) {
    struct seccomp_notif req {};
    if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) break;  // ENOENT/EBADF: done
    struct seccomp_notif_resp resp {};
    resp.id = req.id;
    resp.error = -EXDEV;
    ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    ++out.notifications;
  }
  ::close(listener);
}

}  // namespace

TEST_CASE("container: seccomp notify hands the listener to the agent, which answers the syscalls",
          "[runtime][container][root][seccomp]") {
  RuntimeFixture fx;
  const std::string sock_path = fx.dir() + "/agent.sock";
  int listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listen_fd >= 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  sock_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  REQUIRE(::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listen_fd, 1) == 0);

  fx.config()["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"listenerPath", sock_path},
      {"listenerMetadata", "agent-metadata"},
      {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}}}}};
  fx.set_script("mkdir /tmp/x 2>&1; echo rc=$?; test -d /tmp/x && echo made || echo absent");
  AgentResult agent;
  std::thread agent_thread(run_agent, listen_fd, std::ref(agent));
  auto r = fx.run_container();
  ::shutdown(listen_fd, SHUT_RDWR);
  agent_thread.join();
  ::close(listen_fd);

  CHECK(r.status == 0);
  CHECK(r.out == "mkdir: can't create directory '/tmp/x': Invalid cross-device link\nrc=1\nabsent\n");
  REQUIRE(agent.got_fd);
  CHECK(agent.notifications >= 1);
  auto state = nlohmann::json::parse(agent.state);
  CHECK(state["fds"] == nlohmann::json::array({"seccompFd"}));
  CHECK(state["metadata"] == "agent-metadata");
  CHECK(state["pid"].get<int>() > 0);
  CHECK(state["state"]["id"] == fx.id());
  CHECK(state["state"]["pid"] == state["pid"]);
  fx.check_no_leaks();
}
