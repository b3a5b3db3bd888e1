// The depends_on graph between services (plan_internal.h).
#include <algorithm>
#include <set>

#include "plan_internal.h"

namespace stack::engine::detail {
namespace {

enum class Mark { kNone, kVisiting, kDone };

// Depth-first; `path` holds the services being visited so a back edge names its cycle.
Status visit(const Graph& graph, const std::string& name, std::map<std::string, Mark>& marks,
             std::vector<std::string>& path) {
  Mark& mark = marks[name];
  if (mark == Mark::kDone) return {};
  if (mark == Mark::kVisiting) {
    std::string text = "dependency cycle: ";
    for (auto it = std::find(path.begin(), path.end(), name); it != path.end(); ++it) {
      text += *it + " → ";
    }
    return Error(EINVAL, text + name);
  }
  mark = Mark::kVisiting;
  path.push_back(name);
  if (auto it = graph.find(name); it != graph.end()) {
    for (const auto& dep : it->second) STACK_TRY_VOID(visit(graph, dep, marks, path));
  }
  path.pop_back();
  marks[name] = Mark::kDone;
  return {};
}

}  // namespace

Result<Graph> dependency_graph(const DesiredProject& project) {
  Graph graph;
  for (const auto& s : project.services) {
    auto& deps = graph[s.name];
    for (const auto& [name, dep] : s.depends_on) {
      if (!project.find_service(name)) {
        if (!dep.required) continue;  // Compose skips optional dependencies that are absent
        return Error(EINVAL, "service " + s.name + " depends on undefined service " + name);
      }
      deps.push_back(name);
    }
  }
  std::map<std::string, Mark> marks;
  std::vector<std::string> path;
  for (const auto& [name, _] : graph) STACK_TRY_VOID(visit(graph, name, marks, path));
  return graph;
}

std::vector<std::string> dependency_order(const Graph& graph) {
  std::map<std::string, int> pending;
  std::map<std::string, std::vector<std::string>> dependents;
  for (const auto& [name, deps] : graph) {
    pending[name] += 0;
    for (const auto& d : deps) {
      pending[d] += 0;
      ++pending[name];
      dependents[d].push_back(name);
    }
  }
  std::set<std::string> ready;
  for (const auto& [name, count] : pending) {
    if (count == 0) ready.insert(name);
  }
  std::vector<std::string> order;
  while (!ready.empty()) {
    std::string name = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(name);
    for (const auto& next : dependents[name]) {
      if (--pending[next] == 0) ready.insert(next);
    }
  }
  for (const auto& [name, count] : pending) {
    if (count > 0) order.push_back(name);
  }
  return order;
}

std::vector<std::string> with_dependencies(const Graph& graph,
                                           const std::vector<std::string>& roots) {
  std::set<std::string> seen;
  std::vector<std::string> todo(roots.begin(), roots.end());
  while (!todo.empty()) {
    std::string name = todo.back();
    todo.pop_back();
    if (!seen.insert(name).second) continue;
    if (auto it = graph.find(name); it != graph.end()) {
      todo.insert(todo.end(), it->second.begin(), it->second.end());
    }
  }
  return {seen.begin(), seen.end()};
}

}  // namespace stack::engine::detail
