// Private helpers of engine/src/plan: the depends_on graph between services.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/engine/model.h"

namespace stack::engine::detail {

// service → the services it depends on (sorted by name). Edges to a service missing from the
// model are dropped when not required.
using Graph = std::map<std::string, std::vector<std::string>>;

// The graph of the desired project. Errors: "service web depends on undefined service db",
// "dependency cycle: a → b → a" (the first cycle met walking services and deps by name).
Result<Graph> dependency_graph(const DesiredProject& project);

// Nodes of an acyclic graph, dependencies first; among the nodes that are ready, by name.
// Nodes named only as edge targets are included. A cycle's members come last, by name.
std::vector<std::string> dependency_order(const Graph& graph);

// `roots` plus everything they depend on, transitively.
std::vector<std::string> with_dependencies(const Graph& graph,
                                           const std::vector<std::string>& roots);

}  // namespace stack::engine::detail
