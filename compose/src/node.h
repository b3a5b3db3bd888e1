// The loader's document tree: YAML as read, with a source position on every node, before any
// Compose meaning is attached. Every pass up to the typed model (interpolation, include,
// extends, merge) is a function from Nodes to Nodes, so positions survive into error messages.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stack::compose {

// Where a node came from. `file` is shared by all nodes of one document.
struct Mark {
  std::shared_ptr<const std::string> file;
  int line = 0;    // 1-based; 0 when unknown (synthesised nodes)
  int column = 0;  // 1-based
  std::string to_string() const;  // "compose.yml:12:7", "compose.yml" or "<input>"
};

enum class NodeKind { kNull, kScalar, kSequence, kMapping };

struct MapEntry;

struct Node {
  NodeKind kind = NodeKind::kNull;
  // Scalars: the text as written (after interpolation once that pass ran).
  std::string value;
  // True for quoted or block scalars: their text is a string and never a number, bool or null.
  bool quoted = false;
  // The YAML tag where it matters to Compose: "!reset", "!override"; empty otherwise.
  std::string tag;
  Mark mark;
  std::vector<Node> items;        // kSequence
  std::vector<MapEntry> entries;  // kMapping, in document order, keys unique

  static Node null(Mark m = {});
  static Node scalar(std::string v, Mark m = {}, bool quoted = false);
  static Node sequence(Mark m = {});
  static Node mapping(Mark m = {});

  bool is_null() const { return kind == NodeKind::kNull; }
  bool is_scalar() const { return kind == NodeKind::kScalar; }
  bool is_sequence() const { return kind == NodeKind::kSequence; }
  bool is_mapping() const { return kind == NodeKind::kMapping; }

  // Mapping access; nullptr when absent or when this is not a mapping.
  const Node* find(std::string_view key) const;
  Node* find(std::string_view key);
  const MapEntry* find_entry(std::string_view key) const;
  // Sets or replaces a key (appends when new). Requires a mapping.
  Node& set(std::string key, Node value);
  bool erase(std::string_view key);

  // "mapping", "sequence", "string", "number", "boolean", "null": for error messages.
  std::string type_name() const;
};

struct MapEntry {
  std::string key;
  Mark key_mark;
  Node value;
};

// YAML 1.2 core-schema resolution of a scalar as Compose (go-yaml v3) reads it. Quoted scalars
// never resolve to anything but strings.
bool scalar_is_null(const Node& n);
std::optional<bool> scalar_bool(const Node& n);      // true/True/TRUE/false/...
std::optional<int64_t> scalar_int(const Node& n);    // decimal, 0x, 0o, +/-
std::optional<double> scalar_float(const Node& n);   // also .inf/.nan
// Loose conversions used for values that went through interpolation: "yes"/"on"/"y" count as
// true, as compose-go's casts do, and quoted numbers are accepted.
std::optional<bool> loose_bool(const Node& n);
std::optional<int64_t> loose_int(const Node& n);
std::optional<double> loose_float(const Node& n);

// A path inside the document for messages: services.web.ports[1].
std::string path_join(std::string_view base, std::string_view key);
std::string path_index(std::string_view base, size_t index);

}  // namespace stack::compose
