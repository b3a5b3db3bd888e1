#include "node.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace stack::compose {

std::string Mark::to_string() const {
  std::string f = file ? *file : std::string("<input>");
  if (line <= 0) return f;
  return f + ":" + std::to_string(line) + ":" + std::to_string(column);
}

Node Node::null(Mark m) {
  Node n;
  n.kind = NodeKind::kNull;
  n.mark = std::move(m);
  return n;
}
Node Node::scalar(std::string v, Mark m, bool quoted) {
  Node n;
  n.kind = NodeKind::kScalar;
  n.value = std::move(v);
  n.quoted = quoted;
  n.mark = std::move(m);
  return n;
}
Node Node::sequence(Mark m) {
  Node n;
  n.kind = NodeKind::kSequence;
  n.mark = std::move(m);
  return n;
}
Node Node::mapping(Mark m) {
  Node n;
  n.kind = NodeKind::kMapping;
  n.mark = std::move(m);
  return n;
}

const MapEntry* Node::find_entry(std::string_view key) const {
  if (kind != NodeKind::kMapping) return nullptr;
  for (const auto& e : entries)
    if (e.key == key) return &e;
  return nullptr;
}
const Node* Node::find(std::string_view key) const {
  const MapEntry* e = find_entry(key);
  return e ? &e->value : nullptr;
}
Node* Node::find(std::string_view key) {
  return const_cast<Node*>(static_cast<const Node*>(this)->find(key));
}
Node& Node::set(std::string key, Node value) {
  for (auto& e : entries) {
    if (e.key == key) {
      e.value = std::move(value);
      return e.value;
    }
  }
  Mark km = value.mark;
  entries.push_back(MapEntry{std::move(key), std::move(km), std::move(value)});
  return entries.back().value;
}
bool Node::erase(std::string_view key) {
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    if (it->key == key) {
      entries.erase(it);
      return true;
    }
  }
  return false;
}

std::string Node::type_name() const {
  switch (kind) {
    case NodeKind::kNull: return "null";
    case NodeKind::kSequence: return "sequence";
    case NodeKind::kMapping: return "mapping";
    case NodeKind::kScalar:
      if (scalar_bool(*this)) return "boolean";
      if (scalar_int(*this) || scalar_float(*this)) return "number";
      if (scalar_is_null(*this)) return "null";
      return "string";
  }
  return "?";
}

bool scalar_is_null(const Node& n) {
  if (n.kind == NodeKind::kNull) return true;
  if (n.kind != NodeKind::kScalar || n.quoted) return false;
  return n.value == "null" || n.value == "Null" || n.value == "NULL" || n.value == "~" || n.value.empty();
}

namespace {

std::optional<bool> parse_bool(std::string_view v, bool loose) {
  if (v == "true" || v == "True" || v == "TRUE") return true;
  if (v == "false" || v == "False" || v == "FALSE") return false;
  if (loose) {
    if (v == "y" || v == "Y" || v == "yes" || v == "Yes" || v == "YES" || v == "on" || v == "On" || v == "ON")
      return true;
    if (v == "n" || v == "N" || v == "no" || v == "No" || v == "NO" || v == "off" || v == "Off" || v == "OFF")
      return false;
  }
  return std::nullopt;
}

std::optional<int64_t> parse_int(std::string_view v) {
  if (v.empty()) return std::nullopt;
  bool neg = false;
  size_t i = 0;
  if (v[0] == '+' || v[0] == '-') {
    neg = v[0] == '-';
    i = 1;
  }
  int base = 10;
  if (v.size() > i + 2 && v[i] == '0' && (v[i + 1] == 'x' || v[i + 1] == 'X')) {
    base = 16;
    i += 2;
  } else if (v.size() > i + 2 && v[i] == '0' && (v[i + 1] == 'o' || v[i + 1] == 'O')) {
    base = 8;
    i += 2;
  }
  if (i >= v.size()) return std::nullopt;
  uint64_t acc = 0;
  for (; i < v.size(); ++i) {
    char c = v[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else if (c == '_' ) continue;
    else return std::nullopt;
    if (d >= base) return std::nullopt;
    if (acc > (std::numeric_limits<uint64_t>::max() - d) / base) return std::nullopt;
    acc = acc * base + d;
  }
  if (!neg && acc > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  if (neg && acc > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) return std::nullopt;
  return neg ? static_cast<int64_t>(0 - acc) : static_cast<int64_t>(acc);
}

std::optional<double> parse_float(std::string_view v) {
  if (v == ".inf" || v == ".Inf" || v == ".INF" || v == "+.inf") return std::numeric_limits<double>::infinity();
  if (v == "-.inf" || v == "-.Inf" || v == "-.INF") return -std::numeric_limits<double>::infinity();
  if (v == ".nan" || v == ".NaN" || v == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  if (v.empty()) return std::nullopt;
  // YAML floats: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  size_t i = 0;
  if (v[i] == '+' || v[i] == '-') ++i;
  size_t digits = 0;
  while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i, ++digits;
  if (i < v.size() && v[i] == '.') {
    ++i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
    size_t exp = 0;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i, ++exp;
    if (exp == 0) return std::nullopt;
  }
  if (i != v.size()) return std::nullopt;
  std::string s(v);
  errno = 0;
  double d = std::strtod(s.c_str(), nullptr);
  if (errno == ERANGE && std::isinf(d)) return std::nullopt;
  return d;
}

}  // namespace

std::optional<bool> scalar_bool(const Node& n) {
  if (n.kind != NodeKind::kScalar || n.quoted) return std::nullopt;
  return parse_bool(n.value, false);
}
std::optional<int64_t> scalar_int(const Node& n) {
  if (n.kind != NodeKind::kScalar || n.quoted) return std::nullopt;
  return parse_int(n.value);
}
std::optional<double> scalar_float(const Node& n) {
  if (n.kind != NodeKind::kScalar || n.quoted) return std::nullopt;
  if (auto i = parse_int(n.value)) return static_cast<double>(*i);
  return parse_float(n.value);
}
std::optional<bool> loose_bool(const Node& n) {
  if (n.kind != NodeKind::kScalar) return std::nullopt;
  return parse_bool(n.value, true);
}
std::optional<int64_t> loose_int(const Node& n) {
  if (n.kind != NodeKind::kScalar) return std::nullopt;
  return parse_int(n.value);
}
std::optional<double> loose_float(const Node& n) {
  if (n.kind != NodeKind::kScalar) return std::nullopt;
  if (auto i = parse_int(n.value)) return static_cast<double>(*i);
  return parse_float(n.value);
}

std::string path_join(std::string_view base, std::string_view key) {
  if (base.empty()) return std::string(key);
  std::string out(base);
  out += '.';
  out += key;
  return out;
}
std::string path_index(std::string_view base, size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

}  // namespace stack::compose
