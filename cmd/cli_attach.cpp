// `up` attached, `up --wait`, `logs`, `wait` (cli_attach.h).
#include "cli_attach.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>
#include <thread>

#include "stack/engine/logs.h"
#include "stack/engine/runner.h"

namespace stack::cli {

namespace {

using engine::ContainerInfo;
using engine::ContainerState;

int64_t now_ns() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

bool wanted(const std::vector<std::string>& services, const ContainerInfo& c) {
  if (c.observed.labels.oneoff) return false;
  return services.empty() || std::find(services.begin(), services.end(),
                                       c.observed.labels.service) != services.end();
}

bool finished(const ContainerInfo& c) {
  return c.observed.state == ContainerState::kExited || c.observed.state == ContainerState::kDead;
}

// Compose prefixes logs with the container's name without "<project>-".
std::string display_name(const Session& s, const std::string& name) {
  const std::string prefix = s.project_name + "-";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

std::vector<engine::LogSource> sources_of(Session& s, const std::vector<ContainerInfo>& cs) {
  std::vector<engine::LogSource> out;
  for (const auto& c : cs) {
    auto dir = s.host->container_dir(c.observed.name);
    if (!dir.ok()) continue;
    out.push_back({display_name(s, c.observed.name), *dir + "/log.json", c.observed.id});
  }
  return out;
}

void write_stdout(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// Stops (or with `kill`, kills) the selected containers in parallel, with progress.
void stop_all(Session& s, const std::vector<std::string>& services, bool kill) {
  auto all = s.host->containers(s.project_name);
  if (!all.ok()) return;
  engine::Plan plan;
  for (const auto& c : *all)
    if (wanted(services, c) && !finished(c))
      plan.add(engine::Op::kStop, "container:" + c.observed.name, "local", "ctrl-c");
  engine::RunnerOptions ro;
  if (kill) ro.stop_timeout_ms = 0;
  engine::HostRunner runner(*s.host, nullptr, nullptr, ro);
  execute_plan(plan, runner, "Stopping");
}

}  // namespace

int attach_project(Session& s, const UpOptions& o) {
  // The selected services, else every service in the file (never orphans of older files).
  std::vector<std::string> services = o.services;
  if (services.empty())
    for (const auto& svc : s.project->services) services.push_back(svc.name);
  const int64_t since = now_ns() - 2'000'000'000LL;  // the containers this `up` started
  engine::LogOptions lo;
  lo.follow = true;
  lo.since_ns = since;
  lo.color = ::isatty(1) && !o.no_color;
  lo.no_prefix = o.no_log_prefix;
  lo.timestamps = o.timestamps;
  engine::LogPrinter printer(lo, write_stdout);
  engine::CancelToken cancel;
  SignalWatcher signals(cancel);

  std::map<std::string, engine::LogSource> known;  // by id
  std::set<std::string> exited;
  bool all_done = false, abort = false;
  int exit_code = 0;
  std::string first_exit_service;
  bool announced = false;
  auto discover = [&]() {
    auto all = s.host->containers(s.project_name);
    std::vector<ContainerInfo> cs;
    if (all.ok())
      for (auto& c : *all)
        if (wanted(services, c)) cs.push_back(std::move(c));
    auto sources = sources_of(s, cs);
    if (!announced) {
      std::string names;
      for (const auto& c : cs) names += (names.empty() ? "" : ", ") + c.observed.name;
      std::fprintf(stderr, "Attaching to %s\n", names.c_str());
      announced = true;
    }
    for (const auto& src : sources) known[src.key] = src;
    bool any_running = false;
    for (const auto& c : cs) {
      if (!known.count(c.observed.id)) continue;
      if (!finished(c)) {
        any_running = true;
        exited.erase(c.observed.id);
        continue;
      }
      if (!exited.insert(c.observed.id).second) continue;
      printer.pump().ok();  // the container's last lines before its exit line
      printer.print_exit(known[c.observed.id], c.observed.exit_code);
      if (!o.exit_code_from.empty() && c.observed.labels.service == o.exit_code_from)
        exit_code = c.observed.exit_code;
      if (first_exit_service.empty()) {
        first_exit_service = c.observed.labels.service;
        if (o.exit_code_from.empty()) exit_code = c.observed.exit_code;
      }
      if (o.abort_on_container_exit ||
          (!o.exit_code_from.empty() && c.observed.labels.service == o.exit_code_from))
        abort = true;
    }
    all_done = !cs.empty() && !any_running;
    return sources;
  };
  Status st = engine::follow(
      printer, discover, [&] { return all_done || abort || cancel.cancelled(); }, 200);
  if (!st.ok()) report(st.error());
  if (cancel.cancelled()) {
    stop_all(s, services, signals.count() > 1);
    return 130;
  }
  if (abort) {
    std::fprintf(stderr, "Aborting on container exit...\n");
    stop_all(s, services, false);
  }
  if (!o.exit_code_from.empty() || o.abort_on_container_exit) return exit_code;
  return 0;
}

int wait_project(Session& s, const std::vector<std::string>& services, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  engine::CancelToken cancel;
  SignalWatcher signals(cancel);
  // One-shots others wait for with service_completed_successfully may have exited 0.
  std::set<std::string> one_shots;
  for (;;) {
    auto all = s.host->containers(s.project_name);
    if (!all.ok()) return report(all.error());
    bool ready = true;
    for (const auto& c : *all) {
      if (!wanted(services, c)) continue;
      for (const auto& [dep, d] : c.observed.labels.depends_on)
        if (d.condition == engine::Condition::kCompletedSuccessfully) one_shots.insert(dep);
    }
    for (const auto& c : *all) {
      if (!wanted(services, c)) continue;
      const auto& ob = c.observed;
      if (finished(c)) {
        if (ob.exit_code == 0 && one_shots.count(ob.labels.service)) continue;
        std::fprintf(stderr, "stack: container %s exited (%d)\n", ob.name.c_str(), ob.exit_code);
        return 1;
      }
      if (ob.health == engine::Health::kUnhealthy) {
        std::fprintf(stderr, "stack: container %s is unhealthy\n", ob.name.c_str());
        return 1;
      }
      if (ob.state != ContainerState::kRunning ||
          (ob.health != engine::Health::kNone && ob.health != engine::Health::kHealthy))
        ready = false;
    }
    if (ready) return 0;
    if (timeout_s > 0 && std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "stack: timeout waiting for the project to be running and healthy\n");
      return 1;
    }
    if (cancel.wait_for(std::chrono::milliseconds(100))) return 130;
  }
}

int run_logs(const GlobalOptions& g, const ImageGlobals& ig, const LogsOptions& o) {
  auto s = open_session(g, ig, o.services, false);
  if (!s) return 1;
  engine::LogOptions lo;
  lo.follow = o.follow;
  lo.timestamps = o.timestamps;
  lo.no_prefix = o.no_prefix;
  lo.color = ::isatty(1) && !o.no_color;
  if (o.tail != "all" && !o.tail.empty()) {
    try {
      lo.tail = std::stoll(o.tail);
    } catch (...) {
      std::fprintf(stderr, "stack: invalid --tail value \"%s\"\n", o.tail.c_str());
      return 2;
    }
  }
  const int64_t now = now_ns();
  for (auto [text, out] : {std::pair{&o.since, &lo.since_ns}, std::pair{&o.until, &lo.until_ns}}) {
    if (text->empty()) continue;
    auto t = engine::parse_log_time(*text, now);
    if (!t.ok()) return report(t.error());
    *out = *t;
  }
  if (s->project)
    for (const auto& name : o.services)
      if (!s->project->find_service(name)) return report(Error(ENOENT, "no such service: " + name));
  auto select = [&]() {
    std::vector<ContainerInfo> cs;
    auto all = s->host->containers(s->project_name);
    if (all.ok())
      for (auto& c : *all) {
        if (!wanted(o.services, c)) continue;
        if (o.index > 0 && c.observed.labels.number != o.index) continue;
        cs.push_back(std::move(c));
      }
    return cs;
  };
  engine::LogPrinter printer(lo, write_stdout);
  if (!o.follow) {
    printer.set_sources(sources_of(*s, select()));
    Status st = printer.pump();
    return st.ok() ? 0 : report(st.error());
  }
  engine::CancelToken cancel;
  SignalWatcher signals(cancel);
  Status st = engine::follow(
      printer, [&] { return sources_of(*s, select()); }, [&] { return cancel.cancelled(); }, 200);
  return st.ok() ? 0 : report(st.error());
}

int run_wait(const GlobalOptions& g, const ImageGlobals& ig, const std::vector<std::string>& services,
             bool down_project) {
  auto s = open_session(g, ig, services, false);
  if (!s) return 1;
  engine::CancelToken cancel;
  SignalWatcher signals(cancel);
  std::set<std::string> reported;
  int code = 0;
  for (;;) {
    auto all = s->host->containers(s->project_name);
    if (!all.ok()) return report(all.error());
    bool running = false;
    for (const auto& c : *all) {
      if (!wanted(services, c)) continue;
      if (!finished(c)) {
        running = true;
        continue;
      }
      if (reported.insert(c.observed.id).second) {
        std::printf("%d\n", c.observed.exit_code);
        std::fflush(stdout);
        if (reported.size() == 1) code = c.observed.exit_code;
        if (down_project) {
          DownOptions d;
          return run_down(g, ig, d) == 0 ? code : 1;
        }
      }
    }
    if (!running) return code;
    if (cancel.wait_for(std::chrono::milliseconds(200))) return 130;
  }
}

}  // namespace stack::cli
