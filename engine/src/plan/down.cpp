// plan_down(): `stack down` from labels alone (stack/engine/reconcile.h).
#include <algorithm>
#include <set>

#include "plan_internal.h"
#include "stack/engine/reconcile.h"

namespace stack::engine {

Plan plan_down(const Snapshot& snapshot, const DownOptions& options) {
  Plan plan;
  std::set<std::string> wanted(options.services.begin(), options.services.end());
  std::map<std::string, std::vector<const ObservedContainer*>> by_service;
  detail::Graph graph;
  bool kept_any = false;
  for (const auto& c : snapshot.containers) {
    bool orphan = !wanted.empty() && !wanted.count(c.labels.service);
    if (orphan && !options.remove_orphans) {
      kept_any = true;
      continue;
    }
    by_service[c.labels.service].push_back(&c);
    auto& deps = graph[c.labels.service];
    for (const auto& [dep, _] : c.labels.depends_on) {
      if (std::find(deps.begin(), deps.end(), dep) == deps.end()) deps.push_back(dep);
    }
  }
  for (auto& [_, list] : by_service) {
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->name < b->name; });
  }
  // Dependents stop first: walking the dependency order backwards, a service's stops wait for
  // the stops of every service that depends on it (already emitted). Edges to services not yet
  // emitted (only possible within a cycle in stale labels) are dropped.
  std::vector<std::string> order = detail::dependency_order(graph);
  std::map<std::string, std::vector<int>> stops;
  std::map<std::string, std::vector<std::string>> dependents;
  for (const auto& [svc, deps] : graph) {
    for (const auto& d : deps) dependents[d].push_back(svc);
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    std::vector<int> after;
    for (const auto& dependent : dependents[*it]) {
      after.insert(after.end(), stops[dependent].begin(), stops[dependent].end());
    }
    // Every container is stopped, exited ones too: that also tells a restart policy to stop.
    for (auto* c : by_service[*it]) {
      std::string cause = wanted.empty() || wanted.count(c->labels.service) ? "down" : "orphan";
      stops[*it].push_back(plan.add(Op::kStop, "container:" + c->name, c->host, cause, after,
                                    {{"id", c->id.substr(0, 12)}}));
    }
  }
  std::vector<int> removes;
  for (const Node& stop : std::vector<Node>(plan.nodes())) {
    removes.push_back(
        plan.add(Op::kRemove, stop.resource, stop.host, stop.cause, {stop.id}, stop.details));
  }
  // A network or volume still used by a container that stays cannot go.
  if (kept_any) return plan;
  std::vector<const ObservedNetwork*> networks;
  for (const auto& n : snapshot.networks) networks.push_back(&n);
  std::sort(networks.begin(), networks.end(), [](auto* a, auto* b) { return a->name < b->name; });
  for (auto* n : networks) {
    plan.add(Op::kRemoveNetwork, "network:" + n->name, n->host, "down", removes);
  }
  if (!options.volumes) return plan;
  std::vector<const ObservedVolume*> volumes;
  for (const auto& v : snapshot.volumes) volumes.push_back(&v);
  std::sort(volumes.begin(), volumes.end(), [](auto* a, auto* b) { return a->name < b->name; });
  for (auto* v : volumes) {
    plan.add(Op::kRemoveVolume, "volume:" + v->name, v->host, "down -v", removes);
  }
  return plan;
}

}  // namespace stack::engine
