// Node-level helpers for the merge, extends and include tests: YAML text → Node trees, and a
// rendering of the result as JSON text for exact comparisons.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "convert_util.h"
#include "diagnostics.h"
#include "merge.h"
#include "yaml_reader.h"

namespace stack::compose::testing {

inline Node parse_node(const std::string& text, const std::string& name = "compose.yaml") {
  Diagnostics d;
  std::vector<Node> docs = read_yaml(text, name, d);
  INFO(d.to_string());
  REQUIRE(d.empty());
  REQUIRE(docs.size() == 1);
  return docs.front();
}

// Merges `over` (override.yaml) onto `base` (compose.yaml), runs finish_merge, and returns
// the document as JSON text; problems go to `diags`.
inline Node merge_nodes(const std::string& base, const std::string& over, Diagnostics& diags) {
  Node b = parse_node(base, "compose.yaml");
  Node o = parse_node(over, "override.yaml");
  merge_documents(b, o, diags);
  finish_merge(b);
  return b;
}

inline std::string merge_json(const std::string& base, const std::string& over) {
  Diagnostics d;
  Node merged = merge_nodes(base, over, d);
  INFO(d.to_string());
  CHECK(d.empty());
  return node_to_json(merged).dump();
}

// The merged value of services.web.<key> as JSON text ("null" when absent).
inline std::string merged_attr(const std::string& base, const std::string& over, const std::string& key) {
  Diagnostics d;
  Node merged = merge_nodes(base, over, d);
  INFO(d.to_string());
  CHECK(d.empty());
  const Node* services = merged.find("services");
  REQUIRE(services != nullptr);
  const Node* web = services->find("web");
  REQUIRE(web != nullptr);
  const Node* v = web->find(key);
  return v ? node_to_json(*v).dump() : std::string("null");
}

}  // namespace stack::compose::testing
