// Healthchecks as Docker runs them: the test is exec'd in the container every interval
// (start_interval during the start period) after the previous probe ended; a probe past its
// timeout is killed and fails; failures during the start period do not count; `retries`
// consecutive failures make the container unhealthy, one success healthy (supervisor.h).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os_util.h"
#include "stack/common/log.h"
#include "supervisor.h"

namespace stack::engine::shim {
namespace {

constexpr size_t kMaxProbeOutput = 4096;  // Docker's maxOutputLen
constexpr size_t kKeptProbes = 5;

}  // namespace

void Supervisor::schedule_health() {
  if (!config_.healthcheck || container_pid_ <= 0 || stopping_) return;
  const HealthcheckConfig& hc = *config_.healthcheck;
  const bool in_start_period = status_.health.status == "starting" && ran_ms() < hc.start_period_ms;
  arm_timer(health_timer_.get(), in_start_period ? hc.start_interval_ms : hc.interval_ms);
}

void Supervisor::run_probe() {
  if (!config_.healthcheck || container_pid_ <= 0 || probe_pid_ > 0 || stopping_) return;
  probe_start_ = rfc3339_nano_now();
  probe_output_.clear();
  probe_timed_out_ = false;
  auto pipe = make_pipe();
  if (!pipe.ok()) {
    record_probe(-1, pipe.error().to_string());
    return;
  }
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Result<int> pid = run_in_child([&]() -> Result<int> {
    STACK_TRY(auto spec, rt_.config(config_.id));
    if (!spec.process) return Error(EINVAL, "the container has no process");
    runtime::Process process = *spec.process;
    process.args = healthcheck_argv(*config_.healthcheck);
    process.terminal = false;
    runtime::ExecOptions options;
    options.detach = true;
    StdioWindow stdio(devnull.get(), pipe->second.get(), pipe->second.get());
    SignalWindow signals;
    return rt_.exec(config_.id, process, options);
  });
  if (!pid.ok()) {
    record_probe(-1, pid.error().to_string());
    return;
  }
  probe_pid_ = *pid;
  probe_out_ = std::move(pipe->first);
  if (Status st = watch(probe_out_.get(), kProbeOutput); !st.ok())
    log::warn(st.error().to_string());
  arm_timer(health_timeout_.get(), config_.healthcheck->timeout_ms);
}

// Keeps the first 4 KiB; the rest is read and dropped so the probe never blocks on a full pipe.
void Supervisor::read_probe_output(bool to_eof) {
  if (!probe_out_) return;
  if (to_eof) ::fcntl(probe_out_.get(), F_SETFL, O_NONBLOCK);
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(probe_out_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && !to_eof) return;
    if (n <= 0) break;
    size_t room = kMaxProbeOutput - std::min(kMaxProbeOutput, probe_output_.size());
    probe_output_.append(buf, std::min(room, static_cast<size_t>(n)));
  }
  probe_out_.reset();  // EOF, or (to_eof) whatever a background child still writes is dropped
}

void Supervisor::on_probe_exit(int wait_status) {
  probe_pid_ = -1;
  arm_timer(health_timeout_.get(), 0);
  read_probe_output(true);
  if (probe_timed_out_) {
    const HealthcheckConfig& hc = *config_.healthcheck;
    record_probe(-1, "Health check exceeded timeout (" + std::to_string(hc.timeout_ms) + "ms)");
    return;
  }
  int code = WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
  record_probe(code, std::move(probe_output_));
}

// The container stopped (or is being stopped): a running probe is killed and forgotten.
void Supervisor::cancel_probe() {
  arm_timer(health_timer_.get(), 0);
  arm_timer(health_timeout_.get(), 0);
  if (probe_pid_ > 0) {
    ::kill(probe_pid_, SIGKILL);
    while (::waitpid(probe_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    probe_pid_ = -1;
  }
  probe_out_.reset();
}

void Supervisor::record_probe(int exit_code, std::string output) {
  HealthStatus& h = status_.health;
  h.log.push_back(HealthProbe{probe_start_, rfc3339_nano_now(), exit_code, std::move(output)});
  if (h.log.size() > kKeptProbes) h.log.erase(h.log.begin());
  const HealthcheckConfig& hc = *config_.healthcheck;
  if (exit_code == 0) {
    h.failing_streak = 0;
    h.status = "healthy";
  } else if (!(h.status == "starting" && ran_ms() < hc.start_period_ms)) {
    if (++h.failing_streak >= hc.retries) h.status = "unhealthy";
  }
  write_status();
  schedule_health();
}

}  // namespace stack::engine::shim
