// shim.json, restart policies and signal names (shim_protocol.h).
#include <signal.h>

#include <algorithm>
#include <charconv>
#include <climits>

#include "json_fields.h"
#include "stack/engine/shim_protocol.h"

namespace stack::engine {
namespace {

using shim_json::field_error;
using shim_json::read_bool;
using shim_json::read_int;
using shim_json::read_string;

constexpr int64_t kMaxDurationMs = INT64_C(1) << 50;

// Standard signals by name (signal(7)); real-time ones are accepted by number.
constexpr std::pair<const char*, int> kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

bool parse_uint(std::string_view text, int* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && *out >= 0;
}

Result<HealthcheckConfig> parse_healthcheck(const nlohmann::json& obj, const std::string& where) {
  HealthcheckConfig hc;
  auto test = obj.find("test");
  if (test == obj.end() || !test->is_array() || test->empty())
    return field_error(where, "healthcheck.test", "expected a non-empty array of strings");
  for (const auto& arg : *test) {
    if (!arg.is_string())
      return field_error(where, "healthcheck.test", "expected strings, got " + arg.dump());
    hc.test.push_back(arg.get<std::string>());
  }
  if (hc.test[0] == "CMD-SHELL") {
    if (hc.test.size() != 2)
      return field_error(where, "healthcheck.test", "CMD-SHELL takes exactly one command string");
  } else if (hc.test[0] == "CMD") {
    if (hc.test.size() < 2) return field_error(where, "healthcheck.test", "CMD needs a command");
  } else {
    return field_error(where, "healthcheck.test",
                       "must start with \"CMD\" or \"CMD-SHELL\", got \"" + hc.test[0] + "\"");
  }
  int64_t retries = hc.retries;
  STACK_TRY_VOID(read_int(obj, "interval_ms", where, "healthcheck.interval_ms", 1, kMaxDurationMs,
                          &hc.interval_ms));
  STACK_TRY_VOID(read_int(obj, "timeout_ms", where, "healthcheck.timeout_ms", 1, kMaxDurationMs,
                          &hc.timeout_ms));
  STACK_TRY_VOID(read_int(obj, "retries", where, "healthcheck.retries", 1, INT_MAX, &retries));
  STACK_TRY_VOID(read_int(obj, "start_period_ms", where, "healthcheck.start_period_ms", 0,
                          kMaxDurationMs, &hc.start_period_ms));
  STACK_TRY_VOID(read_int(obj, "start_interval_ms", where, "healthcheck.start_interval_ms", 1,
                          kMaxDurationMs, &hc.start_interval_ms));
  hc.retries = static_cast<int>(retries);
  return hc;
}

}  // namespace

Result<RestartPolicy> parse_restart_policy(std::string_view text) {
  RestartPolicy p;
  if (text.empty() || text == "no") return p;
  if (text == "always") {
    p.kind = RestartPolicy::Kind::kAlways;
  } else if (text == "unless-stopped") {
    p.kind = RestartPolicy::Kind::kUnlessStopped;
  } else if (text.substr(0, 10) == "on-failure") {
    p.kind = RestartPolicy::Kind::kOnFailure;
    std::string_view rest = text.substr(10);
    if (!rest.empty() && (rest[0] != ':' || !parse_uint(rest.substr(1), &p.max_retries)))
      return Error(EINVAL,
                   "invalid restart policy \"" + std::string(text) + "\": expected on-failure[:N]");
  } else {
    return Error(EINVAL, "invalid restart policy \"" + std::string(text) +
                             "\": expected no, always, on-failure[:N] or unless-stopped");
  }
  return p;
}

std::string restart_policy_name(const RestartPolicy& p) {
  switch (p.kind) {
    case RestartPolicy::Kind::kNo: return "no";
    case RestartPolicy::Kind::kAlways: return "always";
    case RestartPolicy::Kind::kUnlessStopped: return "unless-stopped";
    case RestartPolicy::Kind::kOnFailure:
      return p.max_retries > 0 ? "on-failure:" + std::to_string(p.max_retries) : "on-failure";
  }
  return "no";
}

bool should_restart(const RestartPolicy& p, int exit_code, bool stopped_by_user,
                    int restart_count) {
  if (stopped_by_user) return false;
  switch (p.kind) {
    case RestartPolicy::Kind::kNo: return false;
    case RestartPolicy::Kind::kAlways:
    case RestartPolicy::Kind::kUnlessStopped: return true;
    case RestartPolicy::Kind::kOnFailure:
      return exit_code != 0 && (p.max_retries == 0 || restart_count < p.max_retries);
  }
  return false;
}

int64_t next_restart_delay_ms(int64_t previous_delay_ms, int64_t ran_ms) {
  constexpr int64_t kFirst = 100, kMax = 60000, kResetAfter = 10000;
  if (previous_delay_ms <= 0 || ran_ms >= kResetAfter) return kFirst;
  return std::min(previous_delay_ms * 2, kMax);
}

Result<int> parse_signal(std::string_view name) {
  int number = 0;
  if (parse_uint(name, &number)) {
    if (number < 1 || number > SIGRTMAX)
      return Error(EINVAL, "invalid signal number " + std::string(name));
    return number;
  }
  std::string_view bare = name.substr(0, 3) == "SIG" ? name.substr(3) : name;
  for (const auto& [n, sig] : kSignals)
    if (bare == n) return sig;
  return Error(EINVAL, "unknown signal \"" + std::string(name) + "\"");
}

std::vector<std::string> healthcheck_argv(const HealthcheckConfig& check) {
  if (check.test.empty()) return {};
  if (check.test[0] == "CMD-SHELL") return {"sh", "-c", check.test.size() > 1 ? check.test[1] : ""};
  return {check.test.begin() + 1, check.test.end()};
}

Result<ShimConfig> parse_shim_config(std::string_view text, const std::string& where) {
  STACK_TRY(nlohmann::json doc, shim_json::parse_object(text, where));
  ShimConfig c;
  STACK_TRY_VOID(read_string(doc, "id", where, "id", &c.id));
  if (c.id.empty()) return field_error(where, "id", "required");
  STACK_TRY_VOID(read_string(doc, "runtime_root", where, "runtime_root", &c.runtime_root));
  STACK_TRY_VOID(read_string(doc, "bundle", where, "bundle", &c.bundle));
  if (c.bundle.empty() || c.bundle[0] != '/')
    return field_error(where, "bundle", "an absolute path is required");
  std::string restart = "no";
  STACK_TRY_VOID(read_string(doc, "restart", where, "restart", &restart));
  auto policy = parse_restart_policy(restart);
  if (!policy.ok()) return field_error(where, "restart", policy.error().message);
  c.restart = *policy;
  STACK_TRY_VOID(read_string(doc, "stop_signal", where, "stop_signal", &c.stop_signal));
  if (auto sig = parse_signal(c.stop_signal); !sig.ok())
    return field_error(where, "stop_signal", sig.error().message);
  STACK_TRY_VOID(
      read_int(doc, "stop_grace_ms", where, "stop_grace_ms", 0, kMaxDurationMs, &c.stop_grace_ms));
  STACK_TRY_VOID(read_bool(doc, "tty", where, "tty", &c.tty));
  STACK_TRY_VOID(read_bool(doc, "stdin_open", where, "stdin_open", &c.stdin_open));
  STACK_TRY_VOID(read_string(doc, "cgroups_path", where, "cgroups_path", &c.cgroups_path));
  if (auto log = doc.find("log"); log != doc.end() && !log->is_null()) {
    if (!log->is_object()) return field_error(where, "log", "expected an object");
    int64_t max_file = c.log.max_file;
    STACK_TRY_VOID(
        read_int(*log, "max_size", where, "log.max_size", 0, INT64_MAX, &c.log.max_size));
    STACK_TRY_VOID(read_int(*log, "max_file", where, "log.max_file", 1, 1000, &max_file));
    c.log.max_file = static_cast<int>(max_file);
  }
  if (auto hc = doc.find("healthcheck"); hc != doc.end() && !hc->is_null()) {
    if (!hc->is_object()) return field_error(where, "healthcheck", "expected an object or null");
    STACK_TRY(HealthcheckConfig parsed, parse_healthcheck(*hc, where));
    c.healthcheck = std::move(parsed);
  }
  return c;
}

std::string shim_config_to_json(const ShimConfig& c) {
  nlohmann::ordered_json doc = {
      {"id", c.id},
      {"runtime_root", c.runtime_root},
      {"bundle", c.bundle},
      {"restart", restart_policy_name(c.restart)},
      {"stop_signal", c.stop_signal},
      {"stop_grace_ms", c.stop_grace_ms},
      {"tty", c.tty},
      {"stdin_open", c.stdin_open},
      {"cgroups_path", c.cgroups_path},
      {"log", {{"max_size", c.log.max_size}, {"max_file", c.log.max_file}}},
      {"healthcheck", nullptr}};
  if (c.healthcheck) {
    const HealthcheckConfig& h = *c.healthcheck;
    doc["healthcheck"] = {{"test", h.test},
                          {"interval_ms", h.interval_ms},
                          {"timeout_ms", h.timeout_ms},
                          {"retries", h.retries},
                          {"start_period_ms", h.start_period_ms},
                          {"start_interval_ms", h.start_interval_ms}};
  }
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace stack::engine
