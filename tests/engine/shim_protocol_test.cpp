// The engine ↔ stack-shim contract: shim.json, status.json, json-file log lines and rotation,
// restart decisions and back-off (stack/engine/shim_protocol.h).
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "stack/engine/shim_protocol.h"

using namespace stack::engine;
namespace fs = std::filesystem;

namespace {

std::string error_of(const std::string& text) {
  auto r = parse_shim_config(text, "/s/shim.json");
  REQUIRE_FALSE(r.ok());
  return r.error().to_string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("shim.json: a full document parses") {
  auto c = parse_shim_config(R"({"id": "app-web-1", "runtime_root": "/run/x", "bundle": "/d/bundle",
    "restart": "on-failure:3", "stop_signal": "SIGQUIT", "stop_grace_ms": 2500, "tty": true,
    "stdin_open": true, "log": {"max_size": 1048576, "max_file": 3},
    "healthcheck": {"test": ["CMD-SHELL", "wget -q localhost"], "interval_ms": 1000, "timeout_ms": 500,
                    "retries": 2, "start_period_ms": 3000, "start_interval_ms": 100}})",
                             "shim.json");
  REQUIRE(c.ok());
  CHECK(c->id == "app-web-1");
  CHECK(c->runtime_root == "/run/x");
  CHECK(c->restart.kind == RestartPolicy::Kind::kOnFailure);
  CHECK(c->restart.max_retries == 3);
  CHECK(c->stop_signal == "SIGQUIT");
  CHECK(c->stop_grace_ms == 2500);
  CHECK(c->tty);
  CHECK(c->stdin_open);
  CHECK(c->log.max_size == 1048576);
  CHECK(c->log.max_file == 3);
  REQUIRE(c->healthcheck);
  CHECK(c->healthcheck->retries == 2);
  CHECK(c->healthcheck->start_interval_ms == 100);
  CHECK(healthcheck_argv(*c->healthcheck) ==
        std::vector<std::string>{"sh", "-c", "wget -q localhost"});

  // What the engine writes is what the shim reads.
  auto again = parse_shim_config(shim_config_to_json(*c), "shim.json");
  REQUIRE(again.ok());
  CHECK(shim_config_to_json(*again) == shim_config_to_json(*c));
}

TEST_CASE("shim.json: defaults as Docker's") {
  auto c = parse_shim_config(R"({"id": "x", "bundle": "/b", "healthcheck": null})", "shim.json");
  REQUIRE(c.ok());
  CHECK(c->runtime_root == "/run/stack/runtime");
  CHECK(c->restart.kind == RestartPolicy::Kind::kNo);
  CHECK(c->stop_signal == "SIGTERM");
  CHECK(c->stop_grace_ms == 10000);
  CHECK(c->log.max_size == 0);
  CHECK(c->log.max_file == 1);
  CHECK_FALSE(c->healthcheck);
  auto h = parse_shim_config(
      R"({"id": "x", "bundle": "/b", "healthcheck": {"test": ["CMD", "true", "a b"]}})",
      "shim.json");
  REQUIRE(h.ok());
  CHECK(h->healthcheck->interval_ms == 30000);
  CHECK(h->healthcheck->timeout_ms == 30000);
  CHECK(h->healthcheck->retries == 3);
  CHECK(healthcheck_argv(*h->healthcheck) == std::vector<std::string>{"true", "a b"});
}

TEST_CASE("shim.json: errors name the file and the field") {
  CHECK(error_of("{") == "/s/shim.json: not valid JSON");
  CHECK(error_of("[]") == "/s/shim.json: expected a JSON object");
  CHECK(error_of(R"({"bundle": "/b"})") == "/s/shim.json: id: required");
  CHECK(error_of(R"({"id": "x", "bundle": "rel"})") ==
        "/s/shim.json: bundle: an absolute path is required");
  CHECK(error_of(R"({"id": 7, "bundle": "/b"})") == "/s/shim.json: id: expected a string, got 7");
  CHECK(error_of(R"({"id": "x", "bundle": "/b", "restart": "sometimes"})") ==
        "/s/shim.json: restart: invalid restart policy \"sometimes\": expected no, always, "
        "on-failure[:N] or "
        "unless-stopped");
  CHECK(error_of(R"({"id": "x", "bundle": "/b", "restart": "on-failure:x"})") ==
        "/s/shim.json: restart: invalid restart policy \"on-failure:x\": expected on-failure[:N]");
  CHECK(error_of(R"({"id": "x", "bundle": "/b", "stop_signal": "SIGNOPE"})") ==
        "/s/shim.json: stop_signal: unknown signal \"SIGNOPE\"");
  CHECK(error_of(R"({"id": "x", "bundle": "/b", "stop_grace_ms": -1})") ==
        "/s/shim.json: stop_grace_ms: must be at least 0");
  CHECK(error_of(R"({"id": "x", "bundle": "/b", "tty": "yes"})") ==
        "/s/shim.json: tty: expected true or false, got \"yes\"");
  CHECK(error_of(R"({"id": "x", "bundle": "/b", "log": {"max_file": 0}})") ==
        "/s/shim.json: log.max_file: must be at least 1");
  CHECK(error_of(R"({"id": "x", "bundle": "/b", "log": {"max_size": 1.5}})") ==
        "/s/shim.json: log.max_size: expected an integer, got 1.5");
  CHECK(error_of(R"({"id": "x", "bundle": "/b", "healthcheck": {"test": []}})") ==
        "/s/shim.json: healthcheck.test: expected a non-empty array of strings");
  CHECK(error_of(R"({"id": "x", "bundle": "/b", "healthcheck": {"test": ["RUN", "x"]}})") ==
        "/s/shim.json: healthcheck.test: must start with \"CMD\" or \"CMD-SHELL\", got \"RUN\"");
  CHECK(error_of(
            R"({"id": "x", "bundle": "/b", "healthcheck": {"test": ["CMD-SHELL", "a", "b"]}})") ==
        "/s/shim.json: healthcheck.test: CMD-SHELL takes exactly one command string");
  CHECK(
      error_of(
          R"({"id": "x", "bundle": "/b", "healthcheck": {"test": ["CMD", "true"], "retries": 0}})") ==
      "/s/shim.json: healthcheck.retries: must be at least 1");
  CHECK(
      error_of(
          R"({"id": "x", "bundle": "/b", "healthcheck": {"test": ["CMD", "t"], "interval_ms": "1s"}})") ==
      "/s/shim.json: healthcheck.interval_ms: expected an integer, got \"1s\"");
}

TEST_CASE("status.json: round trip and golden document") {
  ShimStatus s;
  s.state = "running";
  s.pid = 4242;
  s.exit_code = 3;
  s.oom_killed = true;
  s.started_at = "2024-05-06T07:08:09.5Z";
  s.restart_count = 2;
  s.stopped_by_user = true;
  s.shim_pid = 99;
  s.health.status = "unhealthy";
  s.health.failing_streak = 4;
  s.health.log.push_back({"2024-05-06T07:08:10Z", "2024-05-06T07:08:11.25Z", 1, "bad \"x\"\n"});
  const std::string json = shim_status_to_json(s);
  CHECK(
      json ==
      R"({"state":"running","pid":4242,"exit_code":3,"oom_killed":true,)"
      R"("started_at":"2024-05-06T07:08:09.5Z","finished_at":"0001-01-01T00:00:00Z","restart_count":2,)"
      R"("stopped_by_user":true,"health":{"status":"unhealthy","failing_streak":4,"log":[{"start":)"
      R"("2024-05-06T07:08:10Z","end":"2024-05-06T07:08:11.25Z","exit_code":1,"output":"bad \"x\"\n"}]},)"
      R"("shim_pid":99,"error":""})"
      "\n");
  auto back = parse_shim_status(json, "status.json");
  REQUIRE(back.ok());
  CHECK(shim_status_to_json(*back) == json);
  CHECK(back->health.log.at(0).output == "bad \"x\"\n");

  auto bad = parse_shim_status(R"({"state": "zombie"})", "D/status.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().to_string() == "D/status.json: state: unknown state \"zombie\"");
  auto bad_log =
      parse_shim_status(R"({"state": "exited", "health": {"log": [{"exit_code": "x"}]}})", "st");
  REQUIRE_FALSE(bad_log.ok());
  CHECK(bad_log.error().to_string() ==
        "st: health.log[0].exit_code: expected an integer, got \"x\"");
}

TEST_CASE("times are Go's RFC3339Nano in UTC") {
  CHECK(rfc3339_nano(0, 0) == "1970-01-01T00:00:00Z");
  CHECK(rfc3339_nano(1700000000, 123456789) == "2023-11-14T22:13:20.123456789Z");
  CHECK(rfc3339_nano(1700000000, 120000000) == "2023-11-14T22:13:20.12Z");
  CHECK(rfc3339_nano(1700000000, 1) == "2023-11-14T22:13:20.000000001Z");
  const std::string now = rfc3339_nano_now();
  CHECK(now.size() >= 20);
  CHECK(now.back() == 'Z');
}

TEST_CASE("log lines are escaped as Docker's json-file") {
  CHECK(log_line_json("hello\n", "stdout", "T") ==
        "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n");
  CHECK(log_line_json("a\"b\\c\td\r", "stderr", "T") ==
        R"({"log":"a\"b\\c\td\r","stream":"stderr","time":"T"})"
        "\n");
  CHECK(log_line_json(std::string("<a&b>\x01\x1b", 7), "stdout", "T") ==
        R"({"log":"\u003ca\u0026b\u003e\u0001\u001b","stream":"stdout","time":"T"})"
        "\n");
  // Valid UTF-8 passes through; invalid bytes become U+FFFD; line separators are escaped.
  CHECK(log_line_json("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "stdout", "T") ==
        "{\"log\":\"h\xc3\xa9 \xe2\x82\xac "
        "\xf0\x9f\x98\x80\",\"stream\":\"stdout\",\"time\":\"T\"}\n");
  CHECK(log_line_json("a\xff"
                      "b\xc3",
                      "stdout", "T") == R"({"log":"a\ufffdb\ufffd","stream":"stdout","time":"T"})"
                                        "\n");
  CHECK(log_line_json("\xed\xa0\x80", "stdout", "T") ==  // a UTF-16 surrogate is not UTF-8
        R"({"log":"\ufffd\ufffd\ufffd","stream":"stdout","time":"T"})"
        "\n");
  CHECK(log_line_json("x\xe2\x80\xa8y", "stdout", "T") ==
        R"({"log":"x\u2028y","stream":"stdout","time":"T"})"
        "\n");
}

TEST_CASE("log rotation keeps max_file files, newest rotated as .1") {
  CHECK(rotated_log_name("/d/log.json", 0) == "/d/log.json");
  CHECK(rotated_log_name("/d/log.json", 2) == "/d/log.json.2");

  char tmpl[] = "/tmp/shim-log-XXXXXX";
  REQUIRE(::mkdtemp(tmpl));
  const std::string dir = tmpl;
  const std::string path = dir + "/log.json";
  JsonLogWriter w(path, ShimLogConfig{20, 3});
  REQUIRE(w.open().ok());
  // Each line is 12 bytes: a file reaches max_size (20) after two lines and rotates before the
  // third write.
  for (int i = 0; i < 7; ++i) REQUIRE(w.write_line("line-" + std::to_string(i) + "-----\n").ok());
  CHECK(slurp(path) == "line-6-----\n");
  CHECK(slurp(path + ".1") == "line-4-----\nline-5-----\n");
  CHECK(slurp(path + ".2") == "line-2-----\nline-3-----\n");
  CHECK_FALSE(fs::exists(path + ".3"));

  // max_file 1 truncates in place; a reopened writer continues from the file's size.
  const std::string single = dir + "/one.json";
  {
    JsonLogWriter one(single, ShimLogConfig{10, 1});
    REQUIRE(one.write_line("aaaaaaaaaaaa\n").ok());
  }
  JsonLogWriter one(single, ShimLogConfig{10, 1});
  REQUIRE(one.open().ok());
  REQUIRE(one.write_line("bb\n").ok());
  CHECK(slurp(single) == "bb\n");
  CHECK_FALSE(fs::exists(single + ".1"));

  // Unlimited size never rotates.
  const std::string unlimited = dir + "/u.json";
  JsonLogWriter u(unlimited, ShimLogConfig{0, 2});
  for (int i = 0; i < 50; ++i) REQUIRE(u.write_line("0123456789\n").ok());
  CHECK(fs::file_size(unlimited) == 550);
  CHECK_FALSE(fs::exists(unlimited + ".1"));
  fs::remove_all(dir);
}

TEST_CASE("restart policy decision table") {
  auto policy = [](const char* text) {
    auto p = parse_restart_policy(text);
    REQUIRE(p.ok());
    return *p;
  };
  struct Row {
    const char* policy;
    int exit_code;
    bool stopped_by_user;
    int restart_count;
    bool restart;
  };
  const Row rows[] = {
      {"no", 1, false, 0, false},
      {"no", 0, false, 0, false},
      {"always", 0, false, 0, true},
      {"always", 137, false, 100, true},
      {"always", 1, true, 0, false},
      {"unless-stopped", 0, false, 5, true},
      {"unless-stopped", 0, true, 0, false},
      {"on-failure", 0, false, 0, false},
      {"on-failure", 1, false, 1000, true},
      {"on-failure:2", 3, false, 0, true},
      {"on-failure:2", 3, false, 1, true},
      {"on-failure:2", 3, false, 2, false},
      {"on-failure:2", 0, false, 0, false},
      {"on-failure:2", 3, true, 0, false},
  };
  for (const auto& r : rows) {
    INFO(r.policy << " exit " << r.exit_code << " by_user " << r.stopped_by_user << " count "
                  << r.restart_count);
    CHECK(should_restart(policy(r.policy), r.exit_code, r.stopped_by_user, r.restart_count) ==
          r.restart);
  }
  CHECK(restart_policy_name(policy("on-failure:5")) == "on-failure:5");
  CHECK(restart_policy_name(policy("on-failure")) == "on-failure");
  CHECK(restart_policy_name(policy("unless-stopped")) == "unless-stopped");
  CHECK(restart_policy_name(policy("")) == "no");
  CHECK_FALSE(parse_restart_policy("on-failure:").ok());
  CHECK_FALSE(parse_restart_policy("on-failure:-1").ok());
  CHECK_FALSE(parse_restart_policy("On-Failure").ok());
}

TEST_CASE("restart back-off: 100 ms doubling to 1 min, reset after 10 s of running") {
  std::vector<int64_t> seq;
  int64_t delay = 0;
  for (int i = 0; i < 12; ++i) seq.push_back(delay = next_restart_delay_ms(delay, 50));
  CHECK(seq == std::vector<int64_t>{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200,
                                    60000, 60000});
  CHECK(next_restart_delay_ms(60000, 10000) == 100);
  CHECK(next_restart_delay_ms(800, 9999) == 1600);
}

TEST_CASE("signal names") {
  CHECK(*parse_signal("SIGTERM") == SIGTERM);
  CHECK(*parse_signal("TERM") == SIGTERM);
  CHECK(*parse_signal("9") == SIGKILL);
  CHECK(*parse_signal("SIGUSR1") == SIGUSR1);
  CHECK(*parse_signal("SIGWINCH") == SIGWINCH);
  CHECK_FALSE(parse_signal("0").ok());
  CHECK_FALSE(parse_signal("sigterm").ok());
  CHECK_FALSE(parse_signal("").ok());
}

TEST_CASE("client: no shim means not alive and a named connection error") {
  char tmpl[] = "/tmp/shim-client-XXXXXX";
  REQUIRE(::mkdtemp(tmpl));
  const std::string dir = tmpl;
  CHECK_FALSE(shim_alive(dir));
  std::ofstream(dir + "/shim.pid") << "1\n";
  CHECK_FALSE(shim_alive(dir));  // a pid file nobody locks is a dead shim's
  auto r = shim_request(dir, R"({"op":"status"})", 100);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ENOENT);
  CHECK(r.error().to_string().find(dir + "/shim.sock") != std::string::npos);
  fs::remove_all(dir);
}
