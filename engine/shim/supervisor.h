// The shim's supervisor: one container, one single-threaded epoll loop over a signalfd (SIGCHLD,
// SIGTERM, SIGINT), the container's output pipes (or pty master), timerfds (restart back-off,
// stop grace, health interval, health timeout), the health probe's output and the control
// socket. The container's init and the health probes are this process's children (the runtime
// clones them from here), so exits are seen through SIGCHLD and waitpid without races.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stack/common/unique_fd.h"
#include "stack/engine/shim_protocol.h"
#include "stack/runtime/container.h"

namespace stack::engine::shim {

// epoll tags; a client connection's tag is kClientBase + its fd.
enum Tag : uint64_t {
  kSignals = 1,
  kListen,
  kStdout,
  kStderr,
  kRestartTimer,
  kGraceTimer,
  kHealthTimer,
  kHealthTimeout,
  kProbeOutput,
  kClientBase = 1 << 20,
};

// One output stream of the container, split into json-file lines.
struct OutputStream {
  UniqueFd fd;
  const char* name = "stdout";
  std::string partial;  // bytes after the last newline
};

class Supervisor {
 public:
  // dir: the container directory (absolute). rt: the runtime on config.runtime_root.
  Supervisor(std::string dir, ShimConfig config, runtime::Runtime& rt);

  // Blocks the loop's signals, opens log.json, the timers and the control socket.
  Status init();
  // Creates and starts the container for the first time. On failure nothing of the container is
  // left and status.json says exited with the error.
  Status start_first();
  // Supervises until the container is finally stopped; returns the shim's exit code.
  int run();

 private:
  Status start_container();
  void on_container_exit(int wait_status);
  void finish();
  void begin_stop(int64_t grace_ms, int client_fd);
  void reap();
  void handle_signals();
  void handle_event(uint64_t tag, uint32_t events);

  // Output and log.
  void add_stream(UniqueFd fd, const char* name, uint64_t tag);
  bool pump_stream(OutputStream& s);  // false at EOF
  void drain_streams(bool to_eof);
  void write_log(const OutputStream& s, std::string_view text, const std::string& time);

  // Control socket.
  void accept_clients();
  void serve_client(int fd);
  std::string handle_request(int fd, const std::string& request, bool* deferred);

  // Health.
  void schedule_health();
  void run_probe();
  void on_probe_exit(int wait_status);
  void cancel_probe();
  void record_probe(int exit_code, std::string output);
  void read_probe_output(bool to_eof);

  void write_status();
  int64_t ran_ms() const;
  Status watch(int fd, uint64_t tag);

  std::string dir_;
  ShimConfig config_;
  runtime::Runtime& rt_;
  int stop_signal_ = 15;
  JsonLogWriter log_;
  ShimStatus status_;

  UniqueFd epoll_, signals_, listen_;
  UniqueFd restart_timer_, grace_timer_, health_timer_, health_timeout_;
  std::map<int, UniqueFd> clients_;
  std::vector<int> stop_waiters_;  // clients waiting for the final status
  std::optional<OutputStream> out_, err_;
  UniqueFd stdin_keep_;  // the write end of stdin_open's pipe, or the pty master

  pid_t container_pid_ = -1;
  int64_t started_mono_ms_ = 0;
  int64_t restart_delay_ms_ = 0;
  bool stopping_ = false;
  bool stop_signalled_ = false;
  bool done_ = false;

  pid_t probe_pid_ = -1;
  UniqueFd probe_out_;
  std::string probe_output_, probe_start_;
  bool probe_timed_out_ = false;
};

}  // namespace stack::engine::shim
