// Plan: what reconcile decided, as a DAG of operations the executor walks in parallel without
// making decisions. Plan::to_string() is both the `--dry-run` output and the golden form that
// tests compare. Pure data; not thread-safe for concurrent mutation.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"

namespace stack::engine {

enum class Op {
  kCreateNetwork,
  kCreateVolume,
  kCreate,
  kStart,
  kWaitHealthy,
  kWaitCompleted,
  kStop,
  kRemove,
  kRename,
  kRemoveNetwork,
  kRemoveVolume,
};

// "create_network", "create_volume", "create", "start", "wait_healthy", "wait_completed",
// "stop", "remove", "rename", "remove_network", "remove_volume".
std::string_view to_string(Op op);

// One operation. resource is "container:<name>" (create/start/stop/remove/rename; a
// replacement is created and renamed under its temporary name), "service:<name>" (the waits,
// over every replica of the service), "network:<name>" or "volume:<name>".
// details carry what the executor needs beyond the resource:
//   create: service, number (and replaces=<old id> for a replacement);
//   rename: to=<final name>;  stop/remove of an observed container: id.
struct Node {
  int id = 0;
  Op op = Op::kCreate;
  std::string resource;
  std::string host = "local";
  std::string cause;     // "missing", "config hash changed", "image changed", "scale down", …
  std::vector<int> deps;  // ids of nodes that must finish first
  std::map<std::string, std::string> details;
};

class Plan {
 public:
  // Appends a node and returns its id (1, 2, … in insertion order).
  int add(Op op, std::string resource, std::string host, std::string cause,
          std::vector<int> deps = {}, std::map<std::string, std::string> details = {});
  // Adds an edge: `node` waits for `dep`. Duplicates, and an unknown `node`, are ignored;
  // an unknown `dep` is reported by validate().
  void add_dep(int node, int dep);

  const std::vector<Node>& nodes() const { return nodes_; }
  // nullptr when no node has that id.
  const Node* find(int id) const;
  bool empty() const { return nodes_.empty(); }

  // Messages for the user that are not operations (Compose's orphan warning), in order.
  const std::vector<std::string>& warnings() const { return warnings_; }
  void add_warning(std::string message) { warnings_.push_back(std::move(message)); }

  // Checks that ids are unique and positive, every dep exists and is not the node itself, and
  // the graph has no cycle. Errors: "plan: node 3 depends on unknown node 9",
  // "plan: cycle through nodes 2 → 3 → 2".
  Status validate() const;

  // Node ids in a deterministic topological order: among the nodes whose deps are done, the
  // smallest id first. Errors as validate().
  Result<std::vector<int>> topological_order() const;

  // One line per node in topological order (ids order when the plan is invalid), columns
  // aligned, trailing spaces trimmed, each line ending in '\n'; "" for an empty plan:
  //   <id>  <op>  <resource>  <host>  <cause>  [after <dep,…>]  [to=<name> (renames)]
  std::string to_string() const;

 private:
  std::vector<Node> nodes_;
  std::vector<std::string> warnings_;
};

}  // namespace stack::engine
