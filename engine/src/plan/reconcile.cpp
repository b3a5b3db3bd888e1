// reconcile(): desired project + snapshot → Plan, after docker/compose v2
// pkg/compose/convergence.go (ensureService, recreateContainer, nextContainerNumber,
// stopDependentContainers, waitDependencies) and create.go (orphans).
#include <algorithm>
#include <set>

#include "plan_internal.h"
#include "stack/engine/reconcile.h"

namespace stack::engine {
namespace {

enum class Recreate { kDiverged, kForce, kNever };  // Compose's api.Recreate* policies

// One container's fate, decided before any node is emitted so that a service's gate (wait)
// nodes get smaller ids than the nodes they gate.
struct Action {
  // kRename: a replacement left under its temporary name; it takes the name (then starts
  // when `start`).
  enum Kind { kRemove, kRecreate, kStart, kCreate, kRestart, kRename } kind;
  const ObservedContainer* container = nullptr;  // all but kCreate
  std::string name;                              // the container's name when done
  int number = 0;
  std::string cause;
  bool start = false;
};

// What later services need to know about a converged one.
struct ServiceResult {
  int replicas = 0;
  std::vector<int> starts;          // start nodes
  std::vector<int> ends;            // last node of each create/recreate chain (no_start gates)
  std::vector<int> recreate_stops;  // stop nodes of replaced containers
  std::vector<const ObservedContainer*> kept;  // observed containers that stay
  int wait_healthy = 0;
  int wait_completed = 0;
};

class Reconciler {
 public:
  Reconciler(const DesiredProject& d, const ReconcileOptions& o) : desired_(d), options_(o) {}

  Result<Plan> run(const Snapshot& snapshot);

 private:
  Status check_options() const;
  void plan_orphans(const std::vector<const ObservedContainer*>& orphans);
  void plan_resources(const Snapshot& snapshot);
  std::vector<const ObservedContainer*> order_containers(
      const DesiredService& service, const std::vector<const ObservedContainer*>& have,
      std::vector<Action>& actions) const;
  void plan_service(const DesiredService& service,
                    const std::vector<const ObservedContainer*>& have);
  std::string obsolete_cause(const DesiredService& s, const ObservedContainer& c) const;
  std::vector<int> gates(const DesiredService& service);
  int gate_wait(const std::string& dep, Op op, const char* cause);
  void emit(const DesiredService& service, const Action& a, const std::vector<int>& gate_ids,
            ServiceResult& result);

  const DesiredProject& desired_;
  const ReconcileOptions& options_;
  Plan plan_;
  detail::Graph graph_;
  std::set<std::string> selected_;
  std::set<std::string> explicit_;  // named on the command line (all when none)
  std::map<std::string, int> network_nodes_, volume_nodes_;  // file key → create node
  std::map<std::string, ServiceResult> results_;
};

std::string short_id(const std::string& id) { return id.substr(0, 12); }

// "<12 characters>_<name>": a replacement created by a recreate that never reached its rename.
bool is_temp_name(const std::string& observed, const std::string& name) {
  return observed.size() == name.size() + 13 && observed[12] == '_' &&
         observed.compare(13, std::string::npos, name) == 0;
}

Status Reconciler::check_options() const {
  if (options_.force_recreate && options_.no_recreate) {
    return Error(EINVAL, "--force-recreate and --no-recreate are incompatible");
  }
  for (const auto& name : options_.services) {
    if (!desired_.find_service(name)) return Error(EINVAL, "no such service: " + name);
  }
  for (const auto& [name, n] : options_.scale) {
    const DesiredService* s = desired_.find_service(name);
    if (!s) return Error(EINVAL, "no such service: " + name);
    if (n < 0) return Error(EINVAL, "service " + name + ": scale must not be negative");
    if (n > 1 && !s->container_name.empty()) {
      return Error(EINVAL, "service " + name + ": container_name \"" + s->container_name +
                               "\" requires a single replica; remove the custom name to scale "
                               "the service");
    }
  }
  return {};
}

Result<Plan> Reconciler::run(const Snapshot& snapshot) {
  STACK_TRY_VOID(check_options());
  STACK_TRY(graph_, detail::dependency_graph(desired_));
  std::vector<std::string> roots = options_.services;
  if (roots.empty()) {
    for (const auto& s : desired_.services) roots.push_back(s.name);
  }
  explicit_.insert(roots.begin(), roots.end());
  auto chosen = options_.no_deps ? roots : detail::with_dependencies(graph_, roots);
  selected_.insert(chosen.begin(), chosen.end());

  std::map<std::string, std::vector<const ObservedContainer*>> by_service;
  std::vector<const ObservedContainer*> orphans;
  for (const auto& c : snapshot.containers) {
    if (c.labels.project != desired_.name || c.labels.oneoff) continue;
    bool known = desired_.find_service(c.labels.service) != nullptr;
    bool disabled = std::count(desired_.disabled_services.begin(),
                               desired_.disabled_services.end(), c.labels.service) > 0;
    if (known) {
      by_service[c.labels.service].push_back(&c);
    } else if (!disabled) {
      orphans.push_back(&c);
    }
  }
  plan_orphans(orphans);
  plan_resources(snapshot);
  for (const auto& name : detail::dependency_order(graph_)) {
    if (!selected_.count(name)) continue;
    plan_service(*desired_.find_service(name), by_service[name]);
  }
  STACK_TRY_VOID(plan_.validate());
  return std::move(plan_);
}

// Compose's wording (create.go), so that scripts grepping for it keep working.
void Reconciler::plan_orphans(const std::vector<const ObservedContainer*>& orphans) {
  if (orphans.empty()) return;
  std::vector<const ObservedContainer*> sorted = orphans;
  std::sort(sorted.begin(), sorted.end(),
            [](auto* a, auto* b) { return a->name < b->name; });
  if (!options_.remove_orphans) {
    std::string names;
    for (auto* c : sorted) names += (names.empty() ? "" : " ") + c->name;
    plan_.add_warning("Found orphan containers ([" + names +
                      "]) for this project. If you removed or renamed this service in your "
                      "compose file, you can run this command with the --remove-orphans flag "
                      "to clean it up.");
    return;
  }
  for (auto* c : sorted) {
    std::map<std::string, std::string> id = {{"id", short_id(c->id)}};
    int stop = plan_.add(Op::kStop, "container:" + c->name, c->host, "orphan", {}, id);
    plan_.add(Op::kRemove, "container:" + c->name, c->host, "orphan", {stop}, id);
  }
}

void Reconciler::plan_resources(const Snapshot& snapshot) {
  std::set<std::string> have_networks, have_volumes;
  for (const auto& n : snapshot.networks) have_networks.insert(n.name);
  for (const auto& v : snapshot.volumes) have_volumes.insert(v.name);
  // External ones must exist already; the executor reports them missing, as Compose does.
  for (const auto& n : desired_.networks) {
    if (n.external || have_networks.count(n.name)) continue;
    network_nodes_[n.key] = plan_.add(Op::kCreateNetwork, "network:" + n.name, options_.host,
                                      "missing", {}, {{"key", n.key}});
  }
  for (const auto& v : desired_.volumes) {
    if (v.external || have_volumes.count(v.name)) continue;
    volume_nodes_[v.key] = plan_.add(Op::kCreateVolume, "volume:" + v.name, options_.host,
                                     "missing", {}, {{"key", v.key}});
  }
}

std::string Reconciler::obsolete_cause(const DesiredService& s, const ObservedContainer& c) const {
  Recreate policy = Recreate::kDiverged;
  if (options_.no_recreate) {
    policy = Recreate::kNever;
  } else if (options_.force_recreate &&
             (explicit_.count(s.name) || options_.always_recreate_deps)) {
    policy = Recreate::kForce;
  }
  if (policy == Recreate::kNever) return "";
  if (policy == Recreate::kForce) return "forced";
  if (c.labels.config_hash != s.config_hash) return "config hash changed";
  if (c.labels.image_digest != s.image_digest) return "image changed";
  // A dead container cannot be started again; replacing it is the only way forward.
  if (c.state == ContainerState::kDead) return "dead";
  return "";
}

std::vector<const ObservedContainer*> Reconciler::order_containers(
    const DesiredService& service, const std::vector<const ObservedContainer*>& have,
    std::vector<Action>& actions) const {
  // An interrupted recreate (crash between create and rename) leaves a replacement under its
  // temporary name: it is an extra when the original still holds the name.
  std::set<std::string> names;
  for (auto* c : have) names.insert(c->name);
  std::vector<const ObservedContainer*> live;
  for (auto* c : have) {
    std::string canonical = service.replica_name(desired_.name, c->labels.number);
    if (is_temp_name(c->name, canonical) && names.count(canonical)) {
      actions.push_back({Action::kRemove, c, c->name, c->labels.number, "interrupted recreate"});
    } else {
      live.push_back(c);
    }
  }
  // Compose's order: up-to-date containers by number, then obsolete ones; the tail beyond the
  // wanted count goes, so scale-down removes obsolete containers first, then the highest.
  std::stable_sort(live.begin(), live.end(), [&](auto* a, auto* b) {
    bool oa = !obsolete_cause(service, *a).empty(), ob = !obsolete_cause(service, *b).empty();
    if (oa != ob) return ob;
    return a->labels.number < b->labels.number;
  });
  return live;
}

void Reconciler::plan_service(const DesiredService& service,
                              const std::vector<const ObservedContainer*>& have) {
  ServiceResult& result = results_[service.name];
  auto scale_it = options_.scale.find(service.name);
  result.replicas = scale_it != options_.scale.end() ? scale_it->second : service.replicas;
  std::vector<Action> actions;
  std::vector<const ObservedContainer*> live = order_containers(service, have, actions);
  std::map<std::string, bool> recreated_deps;  // restart: true dependencies that were replaced
  for (const auto& [dep, d] : service.depends_on) {
    auto it = results_.find(dep);
    if (d.restart && it != results_.end() && !it->second.recreate_stops.empty()) {
      recreated_deps[dep] = true;
    }
  }
  for (size_t i = 0; i < live.size(); ++i) {
    const ObservedContainer* c = live[i];
    std::string name = service.replica_name(desired_.name, c->labels.number);
    if (static_cast<int>(i) >= result.replicas) {
      actions.push_back({Action::kRemove, c, c->name, c->labels.number, "scale down"});
      continue;
    }
    result.kept.push_back(c);
    if (std::string cause = obsolete_cause(service, *c); !cause.empty()) {
      actions.push_back({Action::kRecreate, c, name, c->labels.number, cause});
    } else if (is_temp_name(c->name, name)) {
      bool stopped = c->state == ContainerState::kCreated || c->state == ContainerState::kExited;
      actions.push_back({Action::kRename, c, name, c->labels.number, "interrupted recreate",
                         stopped});
    } else if (c->state == ContainerState::kCreated || c->state == ContainerState::kExited) {
      if (!options_.no_start) {
        std::string cause = c->state == ContainerState::kCreated ? "created" : "stopped";
        actions.push_back({Action::kStart, c, name, c->labels.number, cause});
      }
    } else if (!recreated_deps.empty() && c->state == ContainerState::kRunning) {
      // Compose's stopDependentContainers: restart: true dependents restart around the
      // replacement of their dependency.
      actions.push_back(
          {Action::kRestart, c, name, c->labels.number, recreated_deps.begin()->first});
    }
  }
  int next = 1;  // Compose's nextContainerNumber: after the highest number seen
  for (auto* c : have) next = std::max(next, c->labels.number + 1);
  for (int i = static_cast<int>(live.size()); i < result.replicas; ++i, ++next) {
    actions.push_back({Action::kCreate, nullptr, service.replica_name(desired_.name, next), next,
                       "missing"});
  }

  bool gated = std::any_of(actions.begin(), actions.end(),
                           [](const Action& a) { return a.kind != Action::kRemove; });
  std::vector<int> gate_ids = gated ? gates(service) : std::vector<int>{};
  for (const auto& a : actions) emit(service, a, gate_ids, result);
}

int Reconciler::gate_wait(const std::string& dep, Op op, const char* cause) {
  ServiceResult& r = results_[dep];
  int& slot = op == Op::kWaitHealthy ? r.wait_healthy : r.wait_completed;
  if (slot == 0) slot = plan_.add(op, "service:" + dep, options_.host, cause, r.starts);
  return slot;
}

// The nodes a service's new or started containers wait for, per depends_on condition
// (Compose's waitDependencies). Dependencies not selected (--no-deps) are not waited for.
std::vector<int> Reconciler::gates(const DesiredService& service) {
  std::vector<int> out;
  auto add = [&](const std::vector<int>& ids) { out.insert(out.end(), ids.begin(), ids.end()); };
  for (const auto& [dep, d] : service.depends_on) {
    auto it = results_.find(dep);
    if (!selected_.count(dep) || it == results_.end() || it->second.replicas == 0) continue;
    const ServiceResult& r = it->second;
    if (options_.no_start) {
      add(r.ends);  // creation still follows dependency order, as Compose's InDependencyOrder
      continue;
    }
    bool all_healthy = true, all_completed = true;
    for (auto* c : r.kept) {
      all_healthy = all_healthy && c->health == Health::kHealthy;
      all_completed = all_completed && c->state == ContainerState::kExited && c->exit_code == 0;
    }
    bool fresh = !r.starts.empty() || r.kept.size() < static_cast<size_t>(r.replicas);
    switch (d.condition) {
      case Condition::kStarted:
        add(r.starts);
        break;
      case Condition::kHealthy:
        if (fresh || !all_healthy) {
          out.push_back(gate_wait(dep, Op::kWaitHealthy, "service_healthy"));
        }
        break;
      case Condition::kCompletedSuccessfully:
        if (fresh || !all_completed) {
          out.push_back(gate_wait(dep, Op::kWaitCompleted, "service_completed_successfully"));
        }
        break;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void Reconciler::emit(const DesiredService& service, const Action& a,
                      const std::vector<int>& gate_ids, ServiceResult& result) {
  const std::string host = a.container ? a.container->host : options_.host;
  const std::string ref = "container:" + a.name;
  // The observed container's current name (differs from a.name after an interrupted recreate).
  const std::string old_ref = a.container ? "container:" + a.container->name : ref;
  auto with_resources = [&](std::vector<int> deps) {
    for (const auto& key : service.networks) {
      if (auto it = network_nodes_.find(key); it != network_nodes_.end()) {
        deps.push_back(it->second);
      }
    }
    for (const auto& key : service.volumes) {
      if (auto it = volume_nodes_.find(key); it != volume_nodes_.end()) {
        deps.push_back(it->second);
      }
    }
    return deps;
  };
  std::map<std::string, std::string> create_details = {{"service", service.name},
                                                       {"number", std::to_string(a.number)}};
  // A start after a create or rename is gated through it; a lone start carries the gates.
  auto start = [&](int after) {
    if (options_.no_start) return;
    std::vector<int> deps = after ? std::vector<int>{after} : gate_ids;
    result.starts.push_back(plan_.add(Op::kStart, ref, host, a.cause, deps));
  };
  switch (a.kind) {
    case Action::kRemove: {
      std::map<std::string, std::string> id = {{"id", short_id(a.container->id)}};
      int stop = plan_.add(Op::kStop, old_ref, host, a.cause, {}, id);
      plan_.add(Op::kRemove, old_ref, host, a.cause, {stop}, id);
      break;
    }
    case Action::kRecreate: {
      // Compose's recreateContainer: the replacement exists before the old one stops.
      std::string temp = recreate_temp_name(a.container->id, a.name);
      std::map<std::string, std::string> id = {{"id", short_id(a.container->id)}};
      create_details["replaces"] = short_id(a.container->id);
      int create = plan_.add(Op::kCreate, "container:" + temp, host, a.cause,
                             with_resources(gate_ids), create_details);
      int stop = plan_.add(Op::kStop, old_ref, host, a.cause, {create}, id);
      int remove = plan_.add(Op::kRemove, old_ref, host, a.cause, {stop}, id);
      int rename = plan_.add(Op::kRename, "container:" + temp, host, a.cause, {remove},
                             {{"to", a.name}});
      result.recreate_stops.push_back(stop);
      result.ends.push_back(rename);
      start(rename);
      break;
    }
    case Action::kStart:
      start(0);
      break;
    case Action::kRename: {
      int rename = plan_.add(Op::kRename, "container:" + a.container->name, host, a.cause, {},
                             {{"to", a.name}});
      result.ends.push_back(rename);
      if (a.start) start(rename);
      break;
    }
    case Action::kCreate: {
      int create = plan_.add(Op::kCreate, ref, host, a.cause, with_resources(gate_ids),
                             create_details);
      result.ends.push_back(create);
      start(create);
      break;
    }
    case Action::kRestart: {
      std::string cause = "dependency " + a.cause + " recreated";
      int stop = plan_.add(Op::kStop, ref, host, cause, {},
                           {{"id", short_id(a.container->id)}});
      // The dependencies' old containers stop only after their restart: true dependents.
      for (const auto& [dep, d] : service.depends_on) {
        if (!d.restart || !results_.count(dep)) continue;
        for (int s : results_[dep].recreate_stops) plan_.add_dep(s, stop);
      }
      if (!options_.no_start) {
        std::vector<int> deps = gate_ids;
        deps.push_back(stop);
        result.starts.push_back(plan_.add(Op::kStart, ref, host, cause, deps));
      }
      break;
    }
  }
}

}  // namespace

Result<Plan> reconcile(const DesiredProject& desired, const Snapshot& snapshot,
                       const ReconcileOptions& options) {
  Reconciler r(desired, options);
  return r.run(snapshot);
}

}  // namespace stack::engine
