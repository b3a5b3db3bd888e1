// Plan: the DAG, its checks, its deterministic order and its text form (stack/engine/plan.h).
#include "stack/engine/plan.h"

#include <algorithm>
#include <array>
#include <queue>
#include <unordered_map>

namespace stack::engine {

std::string_view to_string(Op op) {
  switch (op) {
    case Op::kCreateNetwork: return "create_network";
    case Op::kCreateVolume: return "create_volume";
    case Op::kCreate: return "create";
    case Op::kStart: return "start";
    case Op::kWaitHealthy: return "wait_healthy";
    case Op::kWaitCompleted: return "wait_completed";
    case Op::kStop: return "stop";
    case Op::kRemove: return "remove";
    case Op::kRename: return "rename";
    case Op::kRemoveNetwork: return "remove_network";
    case Op::kRemoveVolume: return "remove_volume";
  }
  return "?";
}

int Plan::add(Op op, std::string resource, std::string host, std::string cause,
              std::vector<int> deps, std::map<std::string, std::string> details) {
  Node n;
  n.id = nodes_.empty() ? 1 : nodes_.back().id + 1;
  n.op = op;
  n.resource = std::move(resource);
  n.host = std::move(host);
  n.cause = std::move(cause);
  n.details = std::move(details);
  nodes_.push_back(std::move(n));
  for (int d : deps) add_dep(nodes_.back().id, d);
  return nodes_.back().id;
}

void Plan::add_dep(int node, int dep) {
  for (auto& n : nodes_) {
    if (n.id != node) continue;
    if (std::find(n.deps.begin(), n.deps.end(), dep) == n.deps.end()) n.deps.push_back(dep);
    std::sort(n.deps.begin(), n.deps.end());
    return;
  }
}

const Node* Plan::find(int id) const {
  for (const auto& n : nodes_) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

namespace {

// Finds one cycle among `remaining` nodes (each of which has an unfinished dep) for the error
// message: walk unfinished deps until a node repeats.
std::string describe_cycle(const std::unordered_map<int, const Node*>& by_id,
                           const std::unordered_map<int, int>& pending) {
  int start = 0;
  for (const auto& [id, count] : pending) {
    if (count > 0 && (start == 0 || id < start)) start = id;
  }
  std::vector<int> path;
  int cur = start;
  while (std::find(path.begin(), path.end(), cur) == path.end()) {
    path.push_back(cur);
    for (int d : by_id.at(cur)->deps) {
      if (pending.at(d) > 0) {
        cur = d;
        break;
      }
    }
  }
  std::string out = "plan: cycle through nodes ";
  auto from = std::find(path.begin(), path.end(), cur);
  for (auto it = from; it != path.end(); ++it) out += std::to_string(*it) + " → ";
  return out + std::to_string(cur);
}

}  // namespace

Result<std::vector<int>> Plan::topological_order() const {
  std::unordered_map<int, const Node*> by_id;
  for (const auto& n : nodes_) {
    if (n.id <= 0) return Error(EINVAL, "plan: node id " + std::to_string(n.id) + " not positive");
    if (!by_id.emplace(n.id, &n).second) {
      return Error(EINVAL, "plan: duplicate node id " + std::to_string(n.id));
    }
  }
  std::unordered_map<int, int> pending;  // unfinished deps per node
  std::unordered_map<int, std::vector<int>> dependents;
  for (const auto& n : nodes_) {
    pending[n.id] = 0;
    for (int d : n.deps) {
      if (d == n.id) return Error(EINVAL, "plan: node " + std::to_string(d) + " depends on itself");
      if (!by_id.count(d)) {
        return Error(EINVAL, "plan: node " + std::to_string(n.id) + " depends on unknown node " +
                                 std::to_string(d));
      }
    }
  }
  for (const auto& n : nodes_) {
    std::vector<int> deps = n.deps;
    std::sort(deps.begin(), deps.end());
    deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
    pending[n.id] = static_cast<int>(deps.size());
    for (int d : deps) dependents[d].push_back(n.id);
  }
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (const auto& [id, count] : pending) {
    if (count == 0) ready.push(id);
  }
  std::vector<int> order;
  while (!ready.empty()) {
    int id = ready.top();
    ready.pop();
    order.push_back(id);
    for (int next : dependents[id]) {
      if (--pending[next] == 0) ready.push(next);
    }
  }
  if (order.size() != nodes_.size()) return Error(EINVAL, describe_cycle(by_id, pending));
  return order;
}

Status Plan::validate() const {
  auto order = topological_order();
  if (!order.ok()) return std::move(order).error();
  return {};
}

std::string Plan::to_string() const {
  std::vector<const Node*> ordered;
  if (auto order = topological_order(); order.ok()) {
    for (int id : *order) ordered.push_back(find(id));
  } else {
    for (const auto& n : nodes_) ordered.push_back(&n);
  }
  // Columns: id, op, resource, host, cause, after, details.
  std::vector<std::array<std::string, 7>> rows;
  for (const Node* n : ordered) {
    std::string after, details;
    for (int d : n->deps) after += (after.empty() ? "after " : ",") + std::to_string(d);
    // Only what a reader of --dry-run needs; the rest is for the executor.
    if (auto it = n->details.find("to"); it != n->details.end()) details = "to=" + it->second;
    rows.push_back({std::to_string(n->id), std::string(engine::to_string(n->op)), n->resource,
                    n->host, n->cause, after, details});
  }
  std::array<size_t, 5> width{};
  for (const auto& row : rows) {
    for (size_t i = 0; i < 5; ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    // The first five columns are aligned; "after …" and details follow unpadded, so that
    // long dependency lists do not widen every line.
    for (size_t i = 0; i < 5; ++i) {
      std::string cell = row[i];
      if (i == 0) cell.insert(0, width[0] - cell.size(), ' ');  // ids right-aligned
      line += cell;
      line.append(width[i] - cell.size() + 2, ' ');
    }
    for (size_t i = 5; i < row.size(); ++i) {
      if (!row[i].empty()) line += row[i] + "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace stack::engine
