// The runc-compatible lifecycle through the CLI on real containers (needs root): create, start,
// state, exec, ps, pause/resume, kill, delete, list; hooks with the state on stdin; the console
// socket handing over the pty master. Every test ends with the fixture's leak check.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <cstring>
#include <sstream>

#include "runtime/runtime_fixture.h"

using nlohmann::json;
using stack::test::read_text;
using stack::test::RuntimeFixture;

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

bool wait_status(RuntimeFixture& fx, const std::string& want, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (fx.state_status() == want) return true;
    ::usleep(50000);
  }
  return false;
}

std::vector<pid_t> ps_pids(RuntimeFixture& fx) {
  auto r = fx.run_runtime({"ps", "--format", "json", fx.id()});
  auto j = json::parse(r.out, nullptr, false);
  if (r.status != 0 || !j.is_array()) return {};
  auto pids = j.get<std::vector<pid_t>>();
  std::sort(pids.begin(), pids.end());
  return pids;
}

// A hook: a host shell script that stores the state JSON from stdin in the file named by $1.
json state_hook(const std::string& script, const std::string& out_file) {
  return {{"path", script}, {"args", {script, out_file}}};
}

}  // namespace

TEST_CASE("container lifecycle: create, start, exec, ps, pause, resume, kill, delete",
          "[runtime][container][root][lifecycle]") {
  RuntimeFixture fx;
  fx.set_args({"sleep", "300"});
  REQUIRE(fx.create().status == 0);
  CHECK(fx.state_status() == "created");
  const pid_t pid = fx.state_pid();
  REQUIRE(pid > 0);
  CHECK(trimmed(read_text(fx.dir() + "/pid")) == std::to_string(pid));
  // Still blocked before start: the user process has not been exec'd yet.
  CHECK(read_text("/proc/" + std::to_string(pid) + "/cmdline").find("sleep") == std::string::npos);

  auto listed = fx.run_runtime({"list", "--format", "json"});
  auto all = json::parse(listed.out, nullptr, false);
  REQUIRE(all.is_array());
  REQUIRE(all.size() == 1);
  CHECK(all[0]["id"] == fx.id());
  CHECK(all[0]["status"] == "created");
  CHECK(all[0]["pid"] == pid);

  REQUIRE(fx.run_runtime({"start", fx.id()}).status == 0);
  CHECK(fx.state_status() == "running");
  CHECK(fx.state_pid() == pid);

  auto e = fx.run_runtime({"exec", fx.id(), "sh", "-c", "echo $$; hostname"});
  CHECK(e.status == 0);
  std::istringstream lines(e.out);
  std::string exec_pid, exec_host;
  std::getline(lines, exec_pid);
  std::getline(lines, exec_host);
  CHECK(exec_pid != "1");
  CHECK(std::atoi(exec_pid.c_str()) > 1);
  CHECK(exec_host == "stack-test");
  CHECK(fx.run_runtime({"exec", "--user", "1000:1000", fx.id(), "probe", "ids"}).out == "uid=1000 gid=1000 groups=\n");
  CHECK(fx.run_runtime({"exec", fx.id(), "sh", "-c", "exit 3"}).status == 3);
  // exec starts from the container's process (as runc): its capabilities, not the runtime's
  // full set; --cap adds one, --env adds to the container's environment.
  CHECK(fx.run_runtime({"exec", fx.id(), "probe", "caps"}).out.find("CapEff:\t0000000020000420\n") != std::string::npos);
  CHECK(fx.run_runtime({"exec", "-c", "CAP_SYS_ADMIN", fx.id(), "probe", "caps"}).out.find("CapEff:\t0000000020200420\n") !=
        std::string::npos);
  CHECK(fx.run_runtime({"exec", "-e", "A=1", "-e", "B=2", fx.id(), "sh", "-c", "echo $A$B${PATH:+ok}"}).out == "12ok\n");

  REQUIRE(fx.run_runtime({"exec", "--detach", fx.id(), "sleep", "300"}).status == 0);
  auto pids = ps_pids(fx);
  REQUIRE(pids.size() == 2);
  CHECK(std::count(pids.begin(), pids.end(), pid) == 1);
  for (pid_t p : pids) fx.remember_pid(p);

  REQUIRE(fx.run_runtime({"pause", fx.id()}).status == 0);
  CHECK(fx.state_status() == "paused");
  CHECK(trimmed(read_text("/sys/fs/cgroup/freezer" + fx.cgroups_path() + "/freezer.state")) == "FROZEN");
  REQUIRE(fx.run_runtime({"resume", fx.id()}).status == 0);
  CHECK(fx.state_status() == "running");
  CHECK(trimmed(read_text("/sys/fs/cgroup/freezer" + fx.cgroups_path() + "/freezer.state")) == "THAWED");

  auto refused = fx.run_runtime({"delete", fx.id()});
  CHECK(refused.status != 0);
  CHECK(refused.err.find("not stopped") != std::string::npos);
  CHECK(fx.state_status() == "running");

  SECTION("kill KILL stops the init; delete removes it") {
    CHECK(fx.run_runtime({"kill", fx.id(), "KILL"}).status == 0);
    CHECK(wait_status(fx, "stopped", 5000));
    CHECK(fx.run_runtime({"delete", fx.id()}).status == 0);
  }
  SECTION("kill --all reaches every process") {
    CHECK(fx.run_runtime({"kill", "--all", fx.id(), "KILL"}).status == 0);
    CHECK(wait_status(fx, "stopped", 5000));
    for (int i = 0; i < 100 && !ps_pids(fx).empty(); ++i) ::usleep(20000);
    CHECK(ps_pids(fx).empty());
    CHECK(fx.run_runtime({"delete", fx.id()}).status == 0);
  }
  SECTION("delete --force removes a running container") {
    CHECK(fx.run_runtime({"delete", "--force", fx.id()}).status == 0);
  }
  CHECK(fx.state_status() == "");
  fx.check_no_leaks();
}

TEST_CASE("container lifecycle: unknown ids are named in the error", "[runtime][container][root][lifecycle]") {
  RuntimeFixture fx;
  for (const char* cmd : {"delete", "state", "start", "kill"}) {
    auto r = fx.run_runtime({cmd, "x"});
    CHECK(r.status != 0);
    CHECK(r.err.find("container \"x\" does not exist") != std::string::npos);
  }
  fx.check_no_leaks();
}

TEST_CASE("container lifecycle: prestart, poststart and poststop hooks get the state",
          "[runtime][container][root][hooks]") {
  RuntimeFixture fx;
  const std::string script = fx.dir() + "/hook.sh";
  stack::test::write_text(script, "#!/bin/sh\ncat > \"$1\"\n", 0755);
  auto& hooks = fx.config()["hooks"];
  hooks["prestart"] = {state_hook(script, fx.dir() + "/prestart.json")};
  hooks["poststart"] = {state_hook(script, fx.dir() + "/poststart.json")};
  hooks["poststop"] = {state_hook(script, fx.dir() + "/poststop.json")};
  fx.set_args({"sleep", "300"});
  REQUIRE(fx.create().status == 0);
  const pid_t pid = fx.state_pid();
  REQUIRE(pid > 0);
  auto prestart = json::parse(read_text(fx.dir() + "/prestart.json"), nullptr, false);
  REQUIRE(prestart.is_object());
  CHECK(prestart["id"] == fx.id());
  CHECK(prestart["pid"] == pid);
  // runc passes "creating" to prestart (and createRuntime) hooks: create has not returned yet.
  CHECK(prestart["status"] == "creating");
  CHECK(prestart["bundle"] == fx.bundle());
  CHECK_FALSE(std::filesystem::exists(fx.dir() + "/poststart.json"));

  REQUIRE(fx.run_runtime({"start", fx.id()}).status == 0);
  auto poststart = json::parse(read_text(fx.dir() + "/poststart.json"), nullptr, false);
  REQUIRE(poststart.is_object());
  CHECK(poststart["id"] == fx.id());
  CHECK(poststart["pid"] == pid);
  CHECK(poststart["status"] == "running");
  CHECK_FALSE(std::filesystem::exists(fx.dir() + "/poststop.json"));

  REQUIRE(fx.run_runtime({"delete", "--force", fx.id()}).status == 0);
  auto poststop = json::parse(read_text(fx.dir() + "/poststop.json"), nullptr, false);
  REQUIRE(poststop.is_object());
  CHECK(poststop["id"] == fx.id());
  CHECK(poststop["status"] == "stopped");
  fx.check_no_leaks();
}

TEST_CASE("container lifecycle: a hook past its timeout fails create and leaves nothing",
          "[runtime][container][root][hooks]") {
  RuntimeFixture fx;
  const std::string script = fx.dir() + "/slow-hook.sh";
  stack::test::write_text(script, "#!/bin/sh\nsleep 5\n", 0755);
  fx.config()["hooks"]["prestart"] = {{{"path", script}, {"timeout", 1}}};
  fx.set_args({"sleep", "300"});
  auto r = fx.create();
  CHECK(r.status != 0);
  CHECK(r.err.find("timed out") != std::string::npos);
  CHECK(fx.state_status() == "");
  fx.check_no_leaks();
}

TEST_CASE("container lifecycle: run proxies a terminal without a console socket", "[runtime][container][root][console]") {
  RuntimeFixture fx;
  fx.config()["process"]["terminal"] = true;
  fx.set_script("tty; echo out; exit 3");
  auto r = fx.run_container();
  CHECK(r.status == 3);
  // Written by the container to the pty (hence \r\n), copied to run's stdout.
  CHECK(r.out == "/dev/pts/0\r\nout\r\n");
  fx.check_no_leaks();
}

TEST_CASE("container lifecycle: the console socket receives the pty master", "[runtime][container][root][console]") {
  RuntimeFixture fx;
  const std::string sock_path = fx.dir() + "/console.sock";
  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 1) == 0);

  fx.config()["process"]["terminal"] = true;
  fx.set_script("echo hi; tty");
  fx.write_config();
  auto r = fx.run_runtime({"create", "--bundle", fx.bundle(), "--console-socket", sock_path, fx.id()});
  int master = -1;
  if (r.status == 0) {
    struct pollfd p {listener, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1);
    int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(conn >= 0);
    char byte[256];
    struct iovec iov {byte, sizeof byte};
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    CHECK(::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) >= 0);
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(&master, CMSG_DATA(c), sizeof(int));
    ::close(conn);
  }
  ::close(listener);
  CHECK(r.status == 0);
  REQUIRE(master >= 0);
  CHECK(fx.run_runtime({"start", fx.id()}).status == 0);
  // Read until the slave side is closed (EIO) or 5 s pass.
  std::string out;
  for (int i = 0; i < 100; ++i) {
    struct pollfd p {master, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buf[256];
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(master);
  // The pty turns "\n" into "\r\n".
  CHECK(out == "hi\r\n/dev/pts/0\r\n");
  CHECK(wait_status(fx, "stopped", 5000));
  CHECK(fx.run_runtime({"delete", fx.id()}).status == 0);
  fx.check_no_leaks();
}
