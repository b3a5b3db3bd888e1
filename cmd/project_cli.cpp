// `stack up`, `down` and `scale`: load → resolve images → lock → observe → reconcile → execute
// (project_cli.h).
#include "project_cli.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>

#include "cli_attach.h"
#include "cli_session.h"
#include "stack/engine/image/reference.h"
#include "stack/engine/image/store.h"
#include "stack/engine/reconcile.h"
#include "stack/engine/runner.h"

namespace stack::cli {

namespace {

Result<std::map<std::string, int>> parse_scale(const std::vector<std::string>& args) {
  std::map<std::string, int> out;
  for (const auto& a : args) {
    auto eq = a.find('=');
    int n = -1;
    if (eq != std::string::npos) {
      auto [end, ec] = std::from_chars(a.data() + eq + 1, a.data() + a.size(), n);
      if (ec != std::errc() || end != a.data() + a.size()) n = -1;
    }
    if (eq == std::string::npos || eq == 0 || n < 0)
      return Error(EINVAL, "invalid scale specifier: \"" + a + "\" (expected SERVICE=REPLICAS)");
    out[a.substr(0, eq)] = n;
  }
  return out;
}

// One convergence: the path up, scale and (for its start half) restart share.
struct Convergence {
  Session& s;
  engine::ReconcileOptions ro;
  engine::RunnerOptions run_opts;
  std::string pull;
  bool quiet_pull = false;
  bool dry_run = false;

  int run(engine::DesiredProject* desired_out = nullptr) {
    const compose::Project& p = *s.project;
    PullOptions po;
    po.policy = pull;
    po.quiet = quiet_pull;
    auto digests = ensure_service_images(p, ImageGlobals{s.root, {}}, po);
    if (!digests.ok()) return report(digests.error());
    auto desired = engine::desired_project(p, *digests);
    if (!desired.ok()) return report(desired.error());
    auto lock = engine::lock_project(s.root, s.project_name);
    if (!lock.ok()) return report(lock.error());
    auto snap = s.host->observe(s.project_name);
    if (!snap.ok()) return report(snap.error());
    auto plan = engine::reconcile(*desired, *snap, ro);
    if (!plan.ok()) return report(plan.error());
    for (const auto& w : plan->warnings()) std::fprintf(stderr, "WARN[0000] %s\n", w.c_str());
    if (dry_run) {
      std::fputs(plan->to_string().c_str(), stdout);
      return 0;
    }
    engine::HostRunner runner(*s.host, &p, &*desired, run_opts);
    int rc = execute_plan(*plan, runner, "Running");
    if (Status st = s.host->reassert_networks(); !st.ok()) rc = report(st.error());
    if (desired_out) *desired_out = std::move(*desired);
    return rc;
  }
};

}  // namespace

int run_up(const GlobalOptions& g, const ImageGlobals& ig, const UpOptions& o) {
  if (o.detach && o.abort_on_container_exit) {
    std::fprintf(stderr, "stack: --abort-on-container-exit and --detach are incompatible\n");
    return 2;
  }
  auto s = open_session(g, ig, o.services, true);
  if (!s) return 1;
  auto scale = parse_scale(o.scale);
  if (!scale.ok()) return report(scale.error());
  Convergence c{*s};
  c.ro.services = o.services;
  c.ro.no_deps = o.no_deps;
  c.ro.no_start = o.no_start;
  c.ro.force_recreate = o.force_recreate;
  c.ro.always_recreate_deps = o.always_recreate_deps;
  c.ro.no_recreate = o.no_recreate;
  c.ro.remove_orphans = o.remove_orphans;
  c.ro.scale = *scale;
  if (o.timeout_s >= 0) c.run_opts.stop_timeout_ms = int64_t{o.timeout_s} * 1000;
  c.pull = o.pull;
  c.quiet_pull = o.quiet_pull;
  c.dry_run = o.dry_run;
  engine::DesiredProject desired;
  int rc = c.run(&desired);
  if (rc != 0 || o.dry_run || o.no_start) return rc;
  if (o.wait) return wait_project(*s, o.services, o.wait_timeout_s);
  if (o.detach) return 0;
  return attach_project(*s, o);
}

int run_down(const GlobalOptions& g, const ImageGlobals& ig, const DownOptions& o) {
  auto s = open_session(g, ig, o.services, false);
  if (!s) return 1;
  auto lock = engine::lock_project(s->root, s->project_name);
  if (!lock.ok()) return report(lock.error());
  auto snap = s->host->observe(s->project_name);
  if (!snap.ok()) return report(snap.error());
  engine::DownOptions d;
  d.volumes = o.volumes;
  d.remove_orphans = o.remove_orphans;
  if (s->project) {
    // With a file, containers of services no longer in it are orphans: left alone (with
    // Compose's warning) unless --remove-orphans.
    if (o.services.empty()) {
      for (const auto& svc : s->project->services) d.services.push_back(svc.name);
      for (const auto& svc : s->project->disabled_services) d.services.push_back(svc.name);
    } else {
      d.services = o.services;
    }
  }
  engine::Plan plan = engine::plan_down(*snap, d);
  for (const auto& w : plan.warnings()) std::fprintf(stderr, "WARN[0000] %s\n", w.c_str());
  if (o.dry_run) {
    std::fputs(plan.to_string().c_str(), stdout);
    return 0;
  }
  engine::RunnerOptions ro;
  if (o.timeout_s >= 0) ro.stop_timeout_ms = int64_t{o.timeout_s} * 1000;
  engine::HostRunner runner(*s->host, nullptr, nullptr, ro);
  int rc = execute_plan(plan, runner, "Running");
  if (rc != 0 || o.rmi.empty()) return rc;
  // --rmi: the images the project's services use (local: only those without a custom tag,
  // i.e. none here, since every service names its image; all: every service image).
  if (o.rmi == "all" && s->project) {
    std::vector<std::string> refs;
    for (const auto& svc : s->project->services)
      if (!svc.image.empty()) refs.push_back(svc.image);
    return run_image_rm(ImageGlobals{s->root, {}}, refs);
  }
  return 0;
}

int run_scale(const GlobalOptions& g, const ImageGlobals& ig, const std::vector<std::string>& args,
              bool no_deps, bool dry_run) {
  auto scale = parse_scale(args);
  if (!scale.ok()) return report(scale.error());
  std::vector<std::string> services;
  for (const auto& [name, n] : *scale) services.push_back(name);
  auto s = open_session(g, ig, services, true);
  if (!s) return 1;
  Convergence c{*s};
  c.ro.services = services;
  c.ro.no_deps = no_deps;
  c.ro.no_recreate = true;  // scale changes replica counts only
  c.ro.scale = *scale;
  c.dry_run = dry_run;
  return c.run();
}

}  // namespace stack::cli
