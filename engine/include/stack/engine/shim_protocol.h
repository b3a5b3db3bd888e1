// The contract between the engine and stack-shim, the per-container supervisor.
//
// Container directory D = <state root>/containers/<container name>/, made by the engine:
//   bundle/config.json  the OCI spec (the rootfs lives elsewhere; its path in the spec is absolute)
//   shim.json           written by the engine before it starts the shim (ShimConfig below)
// Written by the shim, each atomically (tmp + fsync + rename):
//   status.json         ShimStatus: state, pid, exit code, times, restarts, health
//   log.json            Docker json-file lines {"log":"line\n","stream":"stdout","time":"…"};
//                       rotated to log.json.1 (newest) … log.json.<max_file-1> past max_size
//   shim.sock           AF_UNIX SOCK_SEQPACKET control socket: one JSON request per message, one
//                       JSON reply per request:
//                         {"op":"status"}                → the status document
//                         {"op":"stop","timeout_ms":N}   → stop_signal, SIGKILL after N ms (default
//                           stop_grace_ms); no restart; replies with the final status document
//                           once the container is gone, then the shim exits
//                         {"op":"kill","signal":"SIGUSR1"} → signals the container's init; a
//                           signal that stops it does not restart it (Docker's manual stop)
//                       errors reply {"error":"message"}
//   shim.pid            the shim's pid, flock'ed for the shim's lifetime: a shim supervises D iff
//                       that lock cannot be taken (shim_alive)
//   shim.log            the shim's own stderr
//
// `stack-shim --dir D [--ready-fd N]` detaches (double fork, setsid), creates and starts the
// container, and writes "0" to fd N once it runs, or an error message if it could not start;
// then it closes N. It exits 0 once the container is finally stopped (no restart due) and its
// runtime state and cgroup are gone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/unique_fd.h"

namespace stack::engine {

inline constexpr const char* kShimConfigFile = "shim.json";
inline constexpr const char* kShimStatusFile = "status.json";
inline constexpr const char* kShimLogFile = "log.json";
inline constexpr const char* kShimSocketFile = "shim.sock";
inline constexpr const char* kShimPidFile = "shim.pid";
inline constexpr const char* kShimOwnLogFile = "shim.log";

// restart: "no" | "always" | "on-failure[:N]" | "unless-stopped" (Compose's `restart`).
struct RestartPolicy {
  enum class Kind { kNo, kAlways, kOnFailure, kUnlessStopped };
  Kind kind = Kind::kNo;
  int max_retries = 0;  // on-failure:N; 0 = unlimited
};

// Parses Compose's restart string. Errors name the value.
Result<RestartPolicy> parse_restart_policy(std::string_view text);
std::string restart_policy_name(const RestartPolicy& policy);

// Docker's decision after an exit: always/unless-stopped restart unless the user stopped the
// container; on-failure restarts after a non-zero exit while restart_count < max_retries (when
// set). restart_count counts the restarts already done.
bool should_restart(const RestartPolicy& policy, int exit_code, bool stopped_by_user,
                    int restart_count);

// The delay before the next restart: 100 ms first, doubling up to 1 min; back to 100 ms when the
// container had run for at least 10 s. previous_delay_ms is 0 before the first restart.
int64_t next_restart_delay_ms(int64_t previous_delay_ms, int64_t ran_ms);

// "SIGTERM", "TERM" or "15" → 15. Errors name the value.
Result<int> parse_signal(std::string_view name);

// healthcheck: test is ["CMD-SHELL", "cmd"] or ["CMD", arg…]; durations as Docker's defaults.
struct HealthcheckConfig {
  std::vector<std::string> test;
  int64_t interval_ms = 30000;
  int64_t timeout_ms = 30000;
  int retries = 3;
  int64_t start_period_ms = 0;
  int64_t start_interval_ms = 5000;
};

// The argv a healthcheck test runs in the container: CMD-SHELL → ["sh", "-c", cmd].
std::vector<std::string> healthcheck_argv(const HealthcheckConfig& check);

struct ShimLogConfig {
  int64_t max_size = 0;  // bytes; 0 = unlimited
  int max_file = 1;      // files kept, log.json included
};

// shim.json.
struct ShimConfig {
  std::string id;  // the runtime container id
  std::string runtime_root = "/run/stack/runtime";
  std::string bundle;  // absolute
  RestartPolicy restart;
  std::string stop_signal = "SIGTERM";
  int64_t stop_grace_ms = 10000;
  bool tty = false;
  bool stdin_open = false;
  ShimLogConfig log;
  std::optional<HealthcheckConfig> healthcheck;
  // The container's cgroup (linux.cgroupsPath): its memory controller's oom_kill count says
  // whether a SIGKILL exit was the OOM killer's (status.oom_killed). "" = unknown.
  std::string cgroups_path;
};

// Parses shim.json; errors read "<where>: <field>: problem" (e.g. "shim.json: restart: …").
// Unknown fields are ignored.
Result<ShimConfig> parse_shim_config(std::string_view text, const std::string& where);
// The document parse_shim_config reads (the engine writes it).
std::string shim_config_to_json(const ShimConfig& config);

struct HealthProbe {
  std::string start, end;  // RFC 3339 nano UTC
  int exit_code = 0;       // -1: timed out or could not run
  std::string output;      // at most 4 KiB
};

struct HealthStatus {
  std::string status = "none";  // none | starting | healthy | unhealthy
  int failing_streak = 0;
  std::vector<HealthProbe> log;  // the last 5 probes, oldest first
};

inline constexpr const char* kNeverTime = "0001-01-01T00:00:00Z";  // Docker's zero time

// status.json.
struct ShimStatus {
  std::string state = "created";  // created | running | restarting | exited
  int pid = 0;                    // the container's init while running, else 0
  int exit_code = 0;
  bool oom_killed = false;
  std::string started_at = kNeverTime;
  std::string finished_at = kNeverTime;
  int restart_count = 0;
  bool stopped_by_user = false;
  HealthStatus health;
  int shim_pid = 0;
  std::string error;  // why the last start failed, else empty
};

std::string shim_status_to_json(const ShimStatus& status);
// Errors read "<where>: <field>: problem".
Result<ShimStatus> parse_shim_status(std::string_view text, const std::string& where);

// Time as Go's RFC3339Nano in UTC (trailing zeros of the fraction dropped), as Docker prints it.
std::string rfc3339_nano(int64_t unix_sec, int64_t nsec);
std::string rfc3339_nano_now();

// One json-file line: {"log":"<text>","stream":"<stream>","time":"<time>"} plus "\n". The text
// is escaped as Docker does (", \, control characters, <, >, & and U+2028/9 as \u escapes;
// invalid UTF-8 becomes U+FFFD).
std::string log_line_json(std::string_view text, std::string_view stream, std::string_view time);

// log.json (index 0), log.json.1 (newest rotated) …
std::string rotated_log_name(const std::string& log_path, int index);

// Appends json-file lines to <path>, rotating before a write once the file has reached
// max_size: log.json → log.json.1 → … keeping max_file files; with max_file 1 the file is
// truncated instead. Not thread-safe; owned by one shim.
class JsonLogWriter {
 public:
  JsonLogWriter(std::string path, ShimLogConfig config);
  // Opens (appends to) the file. Errors name the path.
  Status open();
  // Writes one already formatted line (log_line_json).
  Status write_line(std::string_view line);

 private:
  Status rotate();
  std::string path_;
  ShimLogConfig config_;
  UniqueFd fd_;
  int64_t size_ = 0;
};

// Client side, for the engine and tests.

// True iff a shim holds D/shim.pid's lock.
bool shim_alive(const std::string& dir);

// Sends one request to D/shim.sock and returns the reply (waiting up to timeout_ms). Errors name
// the socket: ECONNREFUSED/ENOENT when no shim listens, ETIMEDOUT when it did not answer.
Result<std::string> shim_request(const std::string& dir, const std::string& request,
                                 int timeout_ms);

}  // namespace stack::engine
