// `stack events [--json] [SERVICE…]`: the project's container events as they happen. There is
// no daemon to subscribe to, so the host's state is observed every 100 ms and the differences
// become Docker's events: create, start, die (exitCode), destroy, pause, unpause, restart,
// health_status: <status>.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "cli_session.h"
#include "project_cli.h"

namespace stack::cli {

namespace {

using engine::ContainerInfo;
using engine::ContainerState;

struct Seen {
  ContainerState state;
  engine::Health health;
  int restarts;
  ContainerInfo info;
};

std::string now_rfc3339() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  char buf[64];
  struct tm tm;
  ::gmtime_r(&ts.tv_sec, &tm);
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

void emit(bool json, const ContainerInfo& c, const std::string& action,
          std::map<std::string, std::string> attributes = {}) {
  attributes["name"] = c.observed.name;
  attributes["image"] = c.image;
  const std::string time = now_rfc3339();
  if (json) {
    nlohmann::json j = {{"time", time},
                        {"type", "container"},
                        {"action", action},
                        {"id", c.observed.id},
                        {"service", c.observed.labels.service},
                        {"attributes", attributes}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::string attrs;
    for (const auto& [k, v] : attributes) attrs += (attrs.empty() ? "" : ", ") + k + "=" + v;
    std::printf("%s container %s %s (%s)\n", time.c_str(), action.c_str(),
                c.observed.id.c_str(), attrs.c_str());
  }
  std::fflush(stdout);
}

bool running(ContainerState st) {
  return st == ContainerState::kRunning || st == ContainerState::kPaused;
}

}  // namespace

int run_events(const GlobalOptions& g, const ImageGlobals& ig,
               const std::vector<std::string>& services, bool json) {
  auto s = open_session(g, ig, services, false);
  if (!s) return 1;
  engine::CancelToken cancel;
  SignalWatcher signals(cancel);
  std::map<std::string, Seen> seen;
  bool first = true;
  do {
    auto all = s->host->containers(s->project_name);
    if (!all.ok()) return report(all.error());
    std::map<std::string, Seen> now;
    for (auto& c : *all) {
      if (!services.empty() && std::find(services.begin(), services.end(),
                                         c.observed.labels.service) == services.end())
        continue;
      Seen n{c.observed.state, c.observed.health, c.restart_count, c};
      auto old = seen.find(c.observed.id);
      if (!first) {
        if (old == seen.end()) {
          emit(json, c, "create");
          if (running(n.state)) emit(json, c, "start");
        } else {
          const Seen& o = old->second;
          if (n.restarts > o.restarts) emit(json, c, "restart");
          if (running(o.state) && !running(n.state))
            emit(json, c, "die", {{"exitCode", std::to_string(c.observed.exit_code)}});
          if (!running(o.state) && running(n.state)) emit(json, c, "start");
          if (o.state != ContainerState::kPaused && n.state == ContainerState::kPaused)
            emit(json, c, "pause");
          if (o.state == ContainerState::kPaused && n.state == ContainerState::kRunning)
            emit(json, c, "unpause");
          if (n.health != o.health && n.health != engine::Health::kNone)
            emit(json, c, "health_status: " + std::string(engine::to_string(n.health)));
        }
      }
      now.emplace(c.observed.id, std::move(n));
    }
    if (!first)
      for (const auto& [id, o] : seen)
        if (!now.count(id)) emit(json, o.info, "destroy");
    seen = std::move(now);
    first = false;
  } while (!cancel.wait_for(std::chrono::milliseconds(100)));
  return 0;
}

}  // namespace stack::cli
