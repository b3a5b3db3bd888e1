// `stack ps`, start, stop, restart, kill, rm, pause, unpause, top (project_cli.h).
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_session.h"
#include "project_cli.h"
#include "stack/engine/runner.h"

namespace stack::cli {

namespace {

using engine::ContainerInfo;
using engine::ContainerState;

bool selected(const std::vector<std::string>& services, const ContainerInfo& c) {
  return services.empty() || std::find(services.begin(), services.end(),
                                       c.observed.labels.service) != services.end();
}

// The project's service containers (no one-offs) of the selected services, sorted by name.
Result<std::vector<ContainerInfo>> service_containers(Session& s,
                                                      const std::vector<std::string>& services) {
  if (s.project)
    for (const auto& name : services)
      if (!s.project->find_service(name)) return Error(ENOENT, "no such service: " + name);
  STACK_TRY(auto all, s.host->containers(s.project_name));
  std::vector<ContainerInfo> out;
  for (auto& c : all)
    if (!c.observed.labels.oneoff && selected(services, c)) out.push_back(std::move(c));
  return out;
}

bool is_running(const ContainerInfo& c) {
  auto st = c.observed.state;
  return st == ContainerState::kRunning || st == ContainerState::kPaused ||
         st == ContainerState::kRestarting;
}

// Stops in reverse dependency order: a container stops after every container whose service
// depends on its service (from the depends_on labels). Starts in dependency order.
engine::Plan ordered_plan(const std::vector<ContainerInfo>& cs, bool stop, bool start) {
  engine::Plan plan;
  std::map<std::string, std::vector<int>> stops_of, starts_of;  // by service
  std::map<std::string, int> stop_node;
  for (const auto& c : cs) {
    const std::string res = "container:" + c.observed.name;
    if (stop && is_running(c)) {
      int id = plan.add(engine::Op::kStop, res, "local", "stop");
      stops_of[c.observed.labels.service].push_back(id);
      stop_node[c.observed.name] = id;
    }
  }
  for (const auto& c : cs) {
    if (!start) continue;
    const std::string res = "container:" + c.observed.name;
    std::vector<int> deps;
    if (auto it = stop_node.find(c.observed.name); it != stop_node.end()) deps.push_back(it->second);
    int id = plan.add(engine::Op::kStart, res, "local", "start", deps);
    starts_of[c.observed.labels.service].push_back(id);
  }
  for (const auto& c : cs) {
    for (const auto& [dep_service, dep] : c.observed.labels.depends_on) {
      (void)dep;
      // stop(dep_service) waits for stop(c); start(c) waits for start(dep_service).
      if (auto me = stop_node.find(c.observed.name); me != stop_node.end())
        for (int d : stops_of[dep_service]) plan.add_dep(d, me->second);
      for (int mine : starts_of[c.observed.labels.service])
        for (int d : starts_of[dep_service]) plan.add_dep(mine, d);
    }
  }
  return plan;
}

std::string quoted_command(const std::string& command, bool no_trunc) {
  std::string c = command;
  if (!no_trunc && c.size() > 20) c = c.substr(0, 19) + "…";
  return "\"" + c + "\"";
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  auto display_width = [](const std::string& s) {
    size_t n = 0;
    for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;  // UTF-8 code points
    return n;
  };
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], display_width(r[i]));
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - display_width(r[i]) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

std::string labels_string(const compose::Mapping& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

// Docker's PORTS column while the container runs: "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"
// for published ports, then "9000/tcp" for ports exposed without being published.
std::string ports_text(const ContainerInfo& c) {
  if (!is_running(c)) return "";
  std::string out;
  std::set<std::string> published;
  for (const auto& p : c.published) {
    std::string ip = p.host_ip.find(':') != std::string::npos ? "[" + p.host_ip + "]" : p.host_ip;
    out += (out.empty() ? "" : ", ") + ip + ":" + std::to_string(p.host_port) + "->" +
           std::to_string(p.target) + "/" + p.protocol;
    published.insert(std::to_string(p.target) + "/" + p.protocol);
  }
  for (const auto& e : c.exposed)
    if (!published.count(e)) out += (out.empty() ? "" : ", ") + e;
  return out;
}

nlohmann::json ps_json(const Session& s, const ContainerInfo& c) {
  std::string health;
  if (c.observed.health != engine::Health::kNone) health = engine::to_string(c.observed.health);
  nlohmann::json publishers = nlohmann::json::array();
  for (const auto& p : c.published)
    publishers.push_back({{"URL", p.host_ip},
                          {"TargetPort", p.target},
                          {"PublishedPort", is_running(c) ? p.host_port : 0},
                          {"Protocol", p.protocol}});
  return {{"Command", quoted_command(c.command, true)},
          {"CreatedAt", c.created},
          {"ExitCode", c.observed.exit_code},
          {"Health", health},
          {"ID", c.observed.id},
          {"Image", c.image},
          {"Labels", labels_string(c.labels)},
          {"Name", c.observed.name},
          {"Names", c.observed.name},
          {"Project", s.project_name},
          {"Ports", ports_text(c)},
          {"Publishers", publishers},
          {"RunningFor", c.running_for},
          {"Service", c.observed.labels.service},
          {"State", engine::to_string(c.observed.state)},
          {"Status", c.status_text}};
}

}  // namespace

int run_ps(const GlobalOptions& g, const ImageGlobals& ig, const PsOptions& o) {
  auto s = open_session(g, ig, o.services, false);
  if (!s) return 1;
  auto cs = service_containers(*s, o.services);
  if (!cs.ok()) return report(cs.error());
  std::set<std::string> states(o.status.begin(), o.status.end());
  for (const auto& f : o.filters) {
    if (f.rfind("status=", 0) == 0) {
      states.insert(f.substr(7));
    } else {
      std::fprintf(stderr, "stack: invalid filter \"%s\" (status=… is supported)\n", f.c_str());
      return 2;
    }
  }
  std::vector<ContainerInfo> shown;
  for (auto& c : *cs) {
    std::string state(engine::to_string(c.observed.state));
    if (!states.empty() ? !states.count(state) : (!o.all && !is_running(c))) continue;
    shown.push_back(std::move(c));
  }
  if (o.list_services) {
    std::set<std::string> names;
    for (const auto& c : shown) names.insert(c.observed.labels.service);
    for (const auto& n : names) std::printf("%s\n", n.c_str());
    return 0;
  }
  if (o.quiet) {
    for (const auto& c : shown) std::printf("%s\n", c.observed.id.c_str());
    return 0;
  }
  if (o.format == "json") {
    for (const auto& c : shown) std::printf("%s\n", ps_json(*s, c).dump().c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"}};
  for (const auto& c : shown)
    rows.push_back({c.observed.name, c.image, quoted_command(c.command, o.no_trunc),
                    c.observed.labels.service, c.running_for, c.status_text, ports_text(c)});
  print_table(rows);
  return 0;
}

int run_lifecycle(const std::string& verb, const GlobalOptions& g, const ImageGlobals& ig,
                  const LifecycleOptions& o) {
  auto s = open_session(g, ig, o.services, false);
  if (!s) return 1;
  auto cs = service_containers(*s, o.services);
  if (!cs.ok()) return report(cs.error());
  engine::RunnerOptions ro;
  if (o.timeout_s >= 0) ro.stop_timeout_ms = int64_t{o.timeout_s} * 1000;
  engine::HostRunner runner(*s->host, nullptr, nullptr, ro);
  if (verb == "start" || verb == "stop" || verb == "restart") {
    std::vector<ContainerInfo> targets;
    for (auto& c : *cs)
      if (verb != "start" || !is_running(c)) targets.push_back(c);
    engine::Plan plan = ordered_plan(targets, verb != "start", verb != "stop");
    if (o.dry_run) {
      std::fputs(plan.to_string().c_str(), stdout);
      return 0;
    }
    return execute_plan(plan, runner, "Running");
  }
  int rc = 0;
  auto each = [&](auto pred, auto fn) {
    for (const auto& c : *cs) {
      if (!pred(c)) continue;
      if (Status st = fn(c); !st.ok()) rc = report(st.error());
    }
  };
  if (verb == "kill") {
    each(is_running, [&](const ContainerInfo& c) {
      Status st = s->host->kill_container(c.observed.name, o.signal);
      if (st.ok()) std::fprintf(stderr, " Container %s  Killed\n", c.observed.name.c_str());
      return st;
    });
  } else if (verb == "pause") {
    each([](const ContainerInfo& c) { return c.observed.state == ContainerState::kRunning; },
         [&](const ContainerInfo& c) {
           Status st = s->host->pause_container(c.observed.name);
           if (st.ok()) std::fprintf(stderr, " Container %s  Paused\n", c.observed.name.c_str());
           return st;
         });
  } else if (verb == "unpause") {
    each([](const ContainerInfo& c) { return c.observed.state == ContainerState::kPaused; },
         [&](const ContainerInfo& c) {
           Status st = s->host->unpause_container(c.observed.name);
           if (st.ok()) std::fprintf(stderr, " Container %s  Unpaused\n", c.observed.name.c_str());
           return st;
         });
  } else if (verb == "rm") {
    std::vector<const ContainerInfo*> gone;
    for (const auto& c : *cs) {
      if (is_running(c) && !o.stop_first) continue;
      gone.push_back(&c);
    }
    if (gone.empty()) {
      std::fprintf(stderr, "No stopped containers\n");
      return 0;
    }
    if (!o.force) {
      for (const auto* c : gone) std::fprintf(stderr, "Going to remove %s\n", c->observed.name.c_str());
      if (::isatty(0)) {
        std::fprintf(stderr, "? Are you sure you want to remove the containers? (y/N) ");
        std::string answer;
        std::getline(std::cin, answer);
        if (answer != "y" && answer != "Y" && answer != "yes") return 0;
      }
    }
    engine::Plan plan;
    for (const auto* c : gone) {
      std::vector<int> deps;
      if (is_running(*c))
        deps.push_back(plan.add(engine::Op::kStop, "container:" + c->observed.name, "local", "rm -s"));
      plan.add(engine::Op::kRemove, "container:" + c->observed.name, "local", "rm", deps);
    }
    int rc_rm = execute_plan(plan, runner, "Running");
    if (o.volumes) {
      // rm -v: the removed containers' anonymous volumes go too, unless another container
      // still uses one (the driver refuses then).
      for (const auto* c : gone)
        for (const auto& v : c->anonymous_volumes)
          if (Status st = s->host->remove_volume(v); !st.ok()) rc_rm = report(st.error());
    }
    return rc_rm;
  } else {
    std::fprintf(stderr, "stack: unknown verb %s\n", verb.c_str());
    return 2;
  }
  return rc;
}

namespace {

struct ProcInfo {
  std::string uid, pid, ppid, stime, time, cmd;
};

ProcInfo proc_info(int pid) {
  ProcInfo p;
  p.pid = std::to_string(pid);
  std::ifstream status("/proc/" + p.pid + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Uid:", 0) == 0) {
      std::istringstream in(line.substr(4));
      unsigned uid = 0;
      in >> uid;
      struct passwd* pw = ::getpwuid(uid);
      p.uid = pw ? pw->pw_name : std::to_string(uid);
    }
  std::ifstream stat("/proc/" + p.pid + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = all.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(all.substr(close + 2));
    std::vector<std::string> f;
    std::string w;
    while (in >> w) f.push_back(w);
    // Fields after the comm: state(0) ppid(1) … utime(11) stime(12) … starttime(19).
    if (f.size() > 19) {
      p.ppid = f[1];
      long hz = ::sysconf(_SC_CLK_TCK);
      long long cpu = (std::stoll(f[11]) + std::stoll(f[12])) / hz;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", cpu / 3600, cpu / 60 % 60, cpu % 60);
      p.time = buf;
      struct timespec boot;
      ::clock_gettime(CLOCK_BOOTTIME, &boot);
      time_t started = ::time(nullptr) - boot.tv_sec + std::stoll(f[19]) / hz;
      struct tm tm;
      ::localtime_r(&started, &tm);
      std::strftime(buf, sizeof buf, "%H:%M", &tm);
      p.stime = buf;
    }
  }
  std::ifstream cmdline("/proc/" + p.pid + "/cmdline");
  std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  std::replace(args.begin(), args.end(), '\0', ' ');
  while (!args.empty() && args.back() == ' ') args.pop_back();
  p.cmd = args;
  return p;
}

}  // namespace

int run_top(const GlobalOptions& g, const ImageGlobals& ig, const std::vector<std::string>& services) {
  auto s = open_session(g, ig, services, false);
  if (!s) return 1;
  auto cs = service_containers(*s, services);
  if (!cs.ok()) return report(cs.error());
  bool first = true;
  for (const auto& c : *cs) {
    if (!is_running(c)) continue;
    auto pids = s->host->processes(c.observed.name);
    if (!pids.ok()) {
      report(pids.error());
      continue;
    }
    if (!first) std::printf("\n");
    first = false;
    std::printf("%s\n", c.observed.name.c_str());
    std::vector<std::vector<std::string>> rows = {
        {"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}};
    for (int pid : *pids) {
      ProcInfo p = proc_info(pid);
      rows.push_back({p.uid, p.pid, p.ppid, "0", p.stime, "?", p.time, p.cmd});
    }
    print_table(rows);
  }
  return 0;
}

int run_port(const GlobalOptions& g, const ImageGlobals& ig, const PortOptions& o) {
  auto s = open_session(g, ig, {o.service}, false);
  if (!s) return 1;
  auto cs = service_containers(*s, {o.service});
  if (!cs.ok()) return report(cs.error());
  const ContainerInfo* c = nullptr;
  for (const auto& x : *cs)
    if (!x.observed.labels.oneoff && x.observed.labels.number == o.index) c = &x;
  if (!c)
    return report(Error(ENOENT, "service \"" + o.service + "\" has no container number " +
                                    std::to_string(o.index)));
  // Compose prints the first binding: IPv4 before IPv6, as recorded.
  for (const auto& p : c->published) {
    if (p.target != o.private_port || p.protocol != o.protocol || !is_running(*c)) continue;
    std::string ip = p.host_ip.find(':') != std::string::npos ? "[" + p.host_ip + "]" : p.host_ip;
    std::printf("%s:%u\n", ip.c_str(), p.host_port);
    return 0;
  }
  return report(Error(ENOENT, "no port " + std::to_string(o.private_port) + "/" + o.protocol +
                                  " published for " + c->observed.name));
}

}  // namespace stack::cli
