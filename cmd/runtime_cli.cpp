#include "runtime_cli.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "stack/common/atomic_file.h"
#include "stack/runtime/defaults.h"
#include "stack/runtime/spec.h"

namespace stack::cli {

using nlohmann::json;
using namespace stack::runtime;

int runtime_fail(const RuntimeGlobals& g, const Error& error) {
  const std::string text = error.to_string();
  std::fprintf(stderr, "stack-runtime: %s\n", text.c_str());
  if (!g.log.empty()) {
    if (FILE* f = std::fopen(g.log.c_str(), "a")) {
      char when[64];
      std::time_t now = std::time(nullptr);
      struct tm tm {};
      ::gmtime_r(&now, &tm);
      std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
      if (g.log_format == "json")
        std::fprintf(f, "%s\n", json({{"level", "error"}, {"msg", text}, {"time", when}}).dump().c_str());
      else
        std::fprintf(f, "time=\"%s\" level=error msg=%s\n", when, json(text).dump().c_str());
      std::fclose(f);
    }
  }
  return 1;
}

Result<int> parse_signal(const std::string& text) {
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) {
    int n = std::atoi(text.c_str());
    if (n <= 0 || n > SIGRTMAX) return Error(EINVAL, "invalid signal \"" + text + "\"");
    return n;
  }
  std::string name = text;
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (int n = 1; n < NSIG; ++n) {
    const char* abbrev = ::sigabbrev_np(n);
    if (abbrev && name == abbrev) return n;
  }
  return Error(EINVAL, "unknown signal \"" + text + "\"");
}

int run_list(const RuntimeGlobals& g, Runtime& rt, const ListOptions& o) {
  auto all = rt.list();
  if (!all.ok()) return runtime_fail(g, all.error());
  if (o.quiet) {
    for (const auto& s : *all) std::printf("%s\n", s.id.c_str());
    return 0;
  }
  if (o.format == "json") {
    json arr = json::array();
    for (const auto& s : *all) arr.push_back(json::parse(state_to_json(s)));
    std::printf("%s\n", arr.dump().c_str());
    return 0;
  }
  std::printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
  for (const auto& s : *all)
    std::printf("%-12s %-8d %-10s %-40s %-30s %s\n", s.id.c_str(), s.pid, status_name(s.status), s.bundle.c_str(),
                s.created.c_str(), s.owner.c_str());
  return 0;
}

int run_ps(const RuntimeGlobals& g, Runtime& rt, const std::string& id, const ListOptions& o) {
  auto pids = rt.processes(id);
  if (!pids.ok()) return runtime_fail(g, pids.error());
  if (o.format == "json") {
    std::printf("%s\n", json(*pids).dump().c_str());
    return 0;
  }
  std::printf("%-8s %s\n", "PID", "CMD");
  for (pid_t pid : *pids) {
    auto cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmd = cmdline.ok() ? *cmdline : "";
    for (auto& c : cmd)
      if (c == '\0') c = ' ';
    std::printf("%-8d %s\n", pid, cmd.c_str());
  }
  return 0;
}

int run_spec(const RuntimeGlobals& g, const SpecOptions& o) {
  const std::string path = o.bundle + "/config.json";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return runtime_fail(g, Error(EEXIST, path + ": already exists"));
  auto written = write_file_atomic(path, spec_to_json(default_spec(o.rootless)) + "\n", 0644);
  return written.ok() ? 0 : runtime_fail(g, written.error());
}

// Without --process, the container's own process is the starting point, as in runc: its
// environment, user, cwd, capabilities, rlimits and no_new_privileges, with the flags on top.
Result<Process> exec_process(Runtime& rt, const ExecCliOptions& o) {
  if (!o.process_file.empty()) {
    STACK_TRY(std::string text, read_file(o.process_file));
    auto parsed = parse_process(text);
    if (!parsed.ok()) return std::move(parsed).error().wrap(o.process_file);
    return std::move(*parsed);
  }
  if (o.command.empty()) return Error(EINVAL, "exec: a command (or --process) is required");
  STACK_TRY(Spec spec, rt.config(o.id));
  Process p = spec.process.value_or(Process{});
  p.args = o.command;
  p.terminal = o.tty;
  p.console_size.reset();
  for (const auto& e : o.env) p.env.push_back(e);
  if (!o.cwd.empty()) p.cwd = o.cwd;
  if (!o.user.empty()) {
    auto colon = o.user.find(':');
    p.user.uid = static_cast<uid_t>(std::stoul(o.user.substr(0, colon)));
    p.user.gid = colon == std::string::npos ? 0 : static_cast<gid_t>(std::stoul(o.user.substr(colon + 1)));
  }
  for (unsigned gid : o.additional_gids) p.user.additional_gids.push_back(gid);
  if (!o.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    for (const auto& c : o.caps)
      for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted})
        set->push_back(c);
  }
  if (o.no_new_privs) p.no_new_privileges = true;
  return p;
}

int run_exec(const RuntimeGlobals& g, Runtime& rt, const ExecCliOptions& o) {
  Result<Process> process = Error(EINVAL, "");
  try {
    process = exec_process(rt, o);
  } catch (const std::exception&) {
    return runtime_fail(g, Error(EINVAL, "exec: --user must be UID[:GID]"));
  }
  if (!process.ok()) return runtime_fail(g, process.error());
  auto code = rt.exec(o.id, *process, o.options);
  if (!code.ok()) return runtime_fail(g, code.error());
  return o.options.detach ? 0 : *code;
}

void add_update_flags(CLI::App* cmd, UpdateCliOptions& o) {
  cmd->add_option("-r,--resources", o.resources_file, "JSON file with linux.resources (\"-\" for stdin)");
  cmd->add_option("--memory", o.memory, "Memory limit in bytes");
  cmd->add_option("--memory-reservation", o.memory_reservation, "Memory soft limit in bytes");
  cmd->add_option("--memory-swap", o.memory_swap, "Memory plus swap limit in bytes (-1 unlimited)");
  cmd->add_option("--cpu-shares", o.cpu_shares, "CPU shares");
  cmd->add_option("--cpu-period", o.cpu_period, "CPU CFS period in µs");
  cmd->add_option("--cpu-quota", o.cpu_quota, "CPU CFS quota in µs");
  cmd->add_option("--cpuset-cpus", o.cpuset_cpus, "CPUs allowed");
  cmd->add_option("--cpuset-mems", o.cpuset_mems, "Memory nodes allowed");
  cmd->add_option("--pids-limit", o.pids_limit, "Maximum number of pids");
  cmd->add_option("--blkio-weight", o.blkio_weight, "Block IO weight (10-1000)");
}

int run_update(const RuntimeGlobals& g, Runtime& rt, const std::string& id, const UpdateCliOptions& o) {
  Resources r;
  if (!o.resources_file.empty()) {
    std::string text;
    if (o.resources_file == "-") {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) text.append(buf, n);
    } else {
      auto read = read_file(o.resources_file);
      if (!read.ok()) return runtime_fail(g, read.error());
      text = *read;
    }
    // The resources object is parsed through a minimal spec so that its validation is shared.
    std::string wrapped = "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"/\"},\"linux\":{\"resources\":" + text + "}}";
    auto spec = parse_spec(wrapped, "/");
    if (!spec.ok()) return runtime_fail(g, std::move(spec).error().wrap(o.resources_file));
    if (spec->linux.resources) r = *spec->linux.resources;
  }
  auto number = [](const std::optional<std::string>& s) { return std::optional<int64_t>(std::stoll(*s)); };
  try {
    if (o.memory || o.memory_reservation || o.memory_swap) {
      if (!r.memory) r.memory.emplace();
      if (o.memory) r.memory->limit = number(o.memory);
      if (o.memory_reservation) r.memory->reservation = number(o.memory_reservation);
      if (o.memory_swap) r.memory->swap = number(o.memory_swap);
    }
  } catch (const std::exception&) {
    return runtime_fail(g, Error(EINVAL, "update: memory values must be integers (bytes)"));
  }
  if (o.cpu_shares || o.cpu_period || o.cpu_quota || o.cpuset_cpus || o.cpuset_mems) {
    if (!r.cpu) r.cpu.emplace();
    if (o.cpu_shares) r.cpu->shares = o.cpu_shares;
    if (o.cpu_period) r.cpu->period = o.cpu_period;
    if (o.cpu_quota) r.cpu->quota = o.cpu_quota;
    if (o.cpuset_cpus) r.cpu->cpus = *o.cpuset_cpus;
    if (o.cpuset_mems) r.cpu->mems = *o.cpuset_mems;
  }
  if (o.pids_limit) r.pids_limit = o.pids_limit;
  if (o.blkio_weight) {
    if (!r.block_io) r.block_io.emplace();
    r.block_io->weight = static_cast<uint16_t>(*o.blkio_weight);
  }
  auto st = rt.update(id, r);
  return st.ok() ? 0 : runtime_fail(g, st.error());
}

}  // namespace stack::cli
