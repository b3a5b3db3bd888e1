// stack-shim with real containers (busybox rootfs from RuntimeFixture): logs, exit status,
// restart policies, stop via shim.sock, healthchecks, detaching, and nothing left behind.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "runtime/runtime_fixture.h"
#include "stack/engine/shim_protocol.h"

using namespace stack;
using namespace stack::engine;
using stack::test::read_text;
using stack::test::RuntimeFixture;
namespace fs = std::filesystem;

namespace {

std::string shim_bin() { return STACK_SHIM_BIN; }

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Gone, or a zombie nobody reaped yet (it holds nothing).
bool process_gone(pid_t pid) {
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return stat.empty() || paren == std::string::npos || stat[paren + 2] == 'Z';
}

// One container directory D supervised by a real stack-shim.
class ShimHarness {
 public:
  ShimHarness() : dir_(fx_.dir() + "/ct") {
    fs::create_directories(dir_);
    config_ = {{"id", fx_.id()},           {"runtime_root", fx_.state_root()},
               {"bundle", fx_.bundle()},   {"restart", "no"},
               {"stop_signal", "SIGTERM"}, {"stop_grace_ms", 10000},
               {"healthcheck", nullptr}};
  }
  ~ShimHarness() {
    if (shim_alive(dir_)) {
      (void)shim_request(dir_, R"({"op":"stop","timeout_ms":0})", 10000);
      if (pid_t pid = shim_pid(); pid > 0 && shim_alive(dir_)) ::kill(pid, SIGKILL);
    }
  }

  RuntimeFixture& fx() { return fx_; }
  nlohmann::json& config() { return config_; }
  const std::string& dir() const { return dir_; }

  // Writes the bundle and shim.json, runs `stack-shim --dir D --ready-fd 3` from a child that
  // execs it, and returns what the shim reported on the ready fd.
  std::string start() {
    fx_.write_config();
    stack::test::write_text(dir_ + "/shim.json", config_.dump(2));
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      int w = ::fcntl(p[1], F_DUPFD, 10);
      ::dup2(w, 3);
      const std::string bin = shim_bin();
      ::execl(bin.c_str(), bin.c_str(), "--dir", dir_.c_str(), "--ready-fd", "3", nullptr);
      ::_exit(127);
    }
    ::close(p[1]);
    std::string ready;
    const long long deadline = now_ms() + 20000;
    for (;;) {
      struct pollfd pfd {
        p[0], POLLIN, 0
      };
      if (::poll(&pfd, 1, static_cast<int>(std::max(0LL, deadline - now_ms()))) <= 0) break;
      char buf[512];
      ssize_t n = ::read(p[0], buf, sizeof buf);
      if (n <= 0) break;
      ready.append(buf, static_cast<size_t>(n));
    }
    ::close(p[0]);
    int st = 0;
    ::waitpid(child, &st, 0);
    launcher_status_ = st;
    if (pid_t pid = shim_pid(); pid > 0) pids_.push_back(pid);
    UNSCOPED_INFO("ready: " << ready << "\nshim.log: " << read_text(dir_ + "/shim.log"));
    return ready;
  }

  int launcher_status() const { return launcher_status_; }
  pid_t shim_pid() const {
    return static_cast<pid_t>(std::atoi(read_text(dir_ + "/shim.pid").c_str()));
  }

  ShimStatus status() const {
    auto s = parse_shim_status(read_text(dir_ + "/status.json"), "status.json");
    REQUIRE(s.ok());
    return *s;
  }

  // Polls status.json until pred holds (returning that status) or timeout_ms pass.
  std::optional<ShimStatus> wait_for(const std::function<bool(const ShimStatus&)>& pred,
                                     int timeout_ms) const {
    const long long deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
      auto s = parse_shim_status(read_text(dir_ + "/status.json"), "status.json");
      if (s.ok() && pred(*s)) return *s;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

  bool wait_gone(int timeout_ms) const {
    const long long deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
      if (!shim_alive(dir_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::vector<nlohmann::json> log_lines() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(read_text(dir_ + "/log.json"));
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      REQUIRE_FALSE(j.is_discarded());
      out.push_back(j);
    }
    return out;
  }

  bool log_has(const std::string& text, const std::string& stream) const {
    for (const auto& l : log_lines())
      if (l["log"] == text && l["stream"] == stream) return true;
    return false;
  }

  bool wait_log(const std::string& text, int timeout_ms) const {
    const long long deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
      if (log_has(text, "stdout")) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // After the final stop: the shim is gone, no socket, and nothing of the container is left
  // (runtime state, cgroups, processes: RuntimeFixture::check_no_leaks).
  void check_all_gone() {
    CHECK(wait_gone(10000));
    for (pid_t pid : pids_) {
      const long long deadline = now_ms() + 5000;
      while (!process_gone(pid) && now_ms() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      CHECK(process_gone(pid));
    }
    CHECK_FALSE(fs::exists(dir_ + "/shim.sock"));
    CHECK_FALSE(fs::exists(fx_.state_root() + "/" + fx_.id()));
    fx_.check_no_leaks();
  }

 private:
  RuntimeFixture fx_;
  std::string dir_;
  nlohmann::json config_;
  std::vector<pid_t> pids_;
  int launcher_status_ = -1;
};

nlohmann::json request(const ShimHarness& h, const std::string& req, int timeout_ms = 15000) {
  auto reply = shim_request(h.dir(), req, timeout_ms);
  REQUIRE(reply.ok());
  auto j = nlohmann::json::parse(*reply, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

// Peak RSS of the shim (VmHWM), in kB.
long peak_rss_kb(pid_t pid) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

}  // namespace

TEST_CASE("shim: stdout and stderr go to log.json, exit status is recorded", "[root]") {
  ShimHarness h;
  h.fx().set_script("echo out-line; echo 'err <line>' >&2; printf no-newline");
  REQUIRE(h.start() == "0");
  CHECK(h.launcher_status() == 0);
  REQUIRE(h.wait_gone(10000));
  ShimStatus s = h.status();
  CHECK(s.state == "exited");
  CHECK(s.exit_code == 0);
  CHECK(s.pid == 0);
  CHECK(s.restart_count == 0);
  CHECK_FALSE(s.stopped_by_user);
  CHECK(s.started_at != kNeverTime);
  CHECK(s.finished_at >= s.started_at);
  CHECK(h.log_has("out-line\n", "stdout"));
  CHECK(h.log_has("err <line>\n", "stderr"));
  CHECK(h.log_has("no-newline", "stdout"));
  CHECK(read_text(h.dir() + "/log.json").find("err \\u003cline\\u003e\\n") != std::string::npos);
  for (const auto& l : h.log_lines()) CHECK(l["time"].get<std::string>().back() == 'Z');
  h.check_all_gone();
}

TEST_CASE("shim: on-failure:2 restarts twice with back-off, then stays exited", "[root]") {
  ShimHarness h;
  h.config()["restart"] = "on-failure:2";
  h.fx().set_script("echo run; exit 3");
  const long long begin = now_ms();
  REQUIRE(h.start() == "0");
  REQUIRE(h.wait_gone(20000));
  const long long elapsed = now_ms() - begin;
  ShimStatus s = h.status();
  CHECK(s.state == "exited");
  CHECK(s.exit_code == 3);
  CHECK(s.restart_count == 2);
  int runs = 0;
  for (const auto& l : h.log_lines()) runs += l["log"] == "run\n";
  CHECK(runs == 3);
  CHECK(elapsed >= 300);  // 100 ms + 200 ms of back-off
  h.check_all_gone();
}

TEST_CASE("shim: stop through shim.sock, a process that handles SIGTERM", "[root]") {
  ShimHarness h;
  h.config()["restart"] = "always";
  h.fx().set_script(
      "trap 'echo got-term; exit 7' TERM; echo ready; while true; do sleep 0.1; done");
  REQUIRE(h.start() == "0");
  REQUIRE(h.wait_log("ready\n", 10000));
  auto st = request(h, R"({"op":"status"})");
  CHECK(st["state"] == "running");
  CHECK(st["pid"].get<int>() > 0);
  CHECK(st["shim_pid"].get<int>() == h.shim_pid());
  const long long begin = now_ms();
  auto reply = request(h, R"({"op":"stop","timeout_ms":10000})");
  CHECK(now_ms() - begin < 5000);
  CHECK(reply["state"] == "exited");
  CHECK(reply["exit_code"] == 7);
  CHECK(reply["stopped_by_user"] == true);
  CHECK(h.log_has("got-term\n", "stdout"));
  h.check_all_gone();
  CHECK(h.status().restart_count == 0);  // always, but stopped by the user
}

TEST_CASE("shim: stop of a process that ignores SIGTERM kills it after the grace", "[root]") {
  ShimHarness h;
  h.config()["restart"] = "unless-stopped";
  h.fx().set_script("trap '' TERM; echo ready; while true; do sleep 0.1; done");
  REQUIRE(h.start() == "0");
  REQUIRE(h.wait_log("ready\n", 10000));
  const long long begin = now_ms();
  auto reply = request(h, R"({"op":"stop","timeout_ms":500})");
  const long long elapsed = now_ms() - begin;
  CHECK(elapsed >= 450);
  CHECK(elapsed < 5000);
  CHECK(reply["state"] == "exited");
  CHECK(reply["exit_code"] == 137);
  h.check_all_gone();
}

TEST_CASE("shim: a passing healthcheck makes the container healthy", "[root]") {
  ShimHarness h;
  h.config()["healthcheck"] = {{"test", {"CMD-SHELL", "echo probe-ok"}},
                               {"interval_ms", 200},
                               {"timeout_ms", 5000},
                               {"retries", 2}};
  h.fx().set_script("trap 'exit 0' TERM; while true; do sleep 0.1; done");
  REQUIRE(h.start() == "0");
  CHECK(h.status().health.status == "starting");
  REQUIRE(h.wait_for([](const ShimStatus& s) { return s.health.status == "healthy"; }, 15000)
              .has_value());
  // A few more probes, then the shim's peak RSS while supervising.
  REQUIRE(
      h.wait_for([](const ShimStatus& s) { return s.health.log.size() >= 3; }, 15000).has_value());
  ShimStatus s = h.status();
  CHECK(s.health.failing_streak == 0);
  CHECK(s.health.log.back().exit_code == 0);
  CHECK(s.health.log.back().output == "probe-ok\n");
  CHECK(s.health.log.back().end >= s.health.log.back().start);
  WARN("stack-shim peak RSS (VmHWM) while supervising: " << peak_rss_kb(h.shim_pid()) << " kB");
  auto reply = request(h, R"({"op":"stop"})");
  CHECK(reply["exit_code"] == 0);
  h.check_all_gone();
}

TEST_CASE("shim: a failing healthcheck makes it unhealthy after retries, timeouts fail", "[root]") {
  ShimHarness h;
  h.config()["healthcheck"] = {{"test", {"CMD-SHELL", "echo bad; exit 1"}},
                               {"interval_ms", 100},
                               {"timeout_ms", 5000},
                               {"retries", 3}};
  h.fx().set_script("trap 'exit 0' TERM; while true; do sleep 0.1; done");
  REQUIRE(h.start() == "0");
  auto seen = h.wait_for([](const ShimStatus& s) { return s.health.status != "starting"; }, 15000);
  REQUIRE(seen);
  ShimStatus s = *seen;
  CHECK(s.health.status == "unhealthy");
  CHECK(s.health.failing_streak == 3);  // unhealthy exactly when the streak reached retries
  CHECK(s.health.log.size() == 3);
  CHECK(s.health.log.back().exit_code == 1);
  CHECK(s.health.log.back().output == "bad\n");
  CHECK(s.state == "running");  // health does not stop a container
  (void)request(h, R"({"op":"stop"})");
  h.check_all_gone();

  ShimHarness t;
  t.config()["healthcheck"] = {
      {"test", {"CMD", "sleep", "5"}}, {"interval_ms", 100}, {"timeout_ms", 300}, {"retries", 1}};
  t.fx().set_script("trap 'exit 0' TERM; while true; do sleep 0.1; done");
  REQUIRE(t.start() == "0");
  auto unhealthy =
      t.wait_for([](const ShimStatus& s) { return s.health.status == "unhealthy"; }, 15000);
  REQUIRE(unhealthy);
  ShimStatus ts = *unhealthy;
  CHECK(ts.health.log.back().exit_code == -1);
  CHECK(ts.health.log.back().output == "Health check exceeded timeout (300ms)");
  (void)request(t, R"({"op":"stop"})");
  t.check_all_gone();
}

TEST_CASE("shim: it outlives the process that started it, detached", "[root]") {
  ShimHarness h;
  h.fx().set_script("trap 'exit 0' TERM; echo up; while true; do sleep 0.1; done");
  REQUIRE(h.start() == "0");  // the exec'd child has exited by now
  const pid_t shim = h.shim_pid();
  REQUIRE(shim > 0);
  CHECK_FALSE(process_gone(shim));
  // A new session (the CLI's Ctrl-C and hangup do not reach it) that it does not lead, so it can
  // never acquire a controlling terminal.
  CHECK(::getsid(shim) != ::getsid(0));
  CHECK(::getsid(shim) != shim);
  std::string stat = read_text("/proc/" + std::to_string(shim) + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string state;
  pid_t ppid = 0;
  fields >> state >> ppid;
  CHECK(ppid != ::getpid());
  CHECK(h.wait_log("up\n", 10000));
  CHECK(h.status().state == "running");
  auto reply = request(h, R"({"op":"stop"})");
  CHECK(reply["state"] == "exited");
  h.check_all_gone();
}

TEST_CASE("shim: a container that cannot start is reported on the ready fd", "[root]") {
  ShimHarness h;
  h.fx().config()["root"]["path"] = "/nonexistent-rootfs";
  const std::string ready = h.start();
  CHECK(ready != "0");
  CHECK(ready.find("root.path") != std::string::npos);
  REQUIRE(h.wait_gone(5000));
  CHECK(h.status().state == "exited");
  CHECK(h.status().error == ready);
  h.check_all_gone();
}
