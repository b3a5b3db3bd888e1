// Attribute-specific merge rules. Where the two files use different syntaxes for one
// attribute (a list on one side, a mapping on the other), the result takes the mapping form so
// entries combine by key; when both use the list form the result stays a list.
#include <optional>

#include "merge_internal.h"

namespace stack::compose::merge_detail {
namespace {

bool is_collection(const Node& n) { return n.is_mapping() || n.is_sequence(); }

int find_index(const Node& m, const std::string& key) {
  for (size_t i = 0; i < m.entries.size(); ++i)
    if (m.entries[i].key == key) return static_cast<int>(i);
  return -1;
}

void append_clean(Node& base, const Node& over) {
  for (const auto& item : over.items)
    if (!is_reset(item)) base.items.push_back(clean_copy(item));
}

// ["KEY=VALUE", "KEY"] → {KEY: "VALUE", KEY: null}; nullopt when an item is not a scalar (left
// for the typed conversion to report). A tag on an item stays on its value so that a !reset
// item removes the key.
std::optional<Node> key_value_mapping(const Node& n, char separator) {
  if (n.is_mapping()) return n;
  Node m = Node::mapping(n.mark);
  for (const auto& item : n.items) {
    if (!item.is_scalar() && !item.is_null()) return std::nullopt;
    auto eq = item.value.find(separator);
    std::string key = item.value.substr(0, eq);
    Node value = eq == std::string::npos ? Node::null(item.mark)
                                         : Node::scalar(item.value.substr(eq + 1), item.mark, true);
    value.tag = item.tag;
    if (int i = find_index(m, key); i >= 0) m.entries.erase(m.entries.begin() + i);
    m.entries.push_back(MapEntry{key, item.mark, std::move(value)});
  }
  return m;
}

// Mapping form of a service's networks or depends_on: list items become keys with `value`.
Node names_mapping(const Node& n, const std::optional<Node>& value) {
  if (n.is_mapping()) return n;
  Node m = Node::mapping(n.mark);
  for (const auto& item : n.items) {
    if (is_reset(item) || find_index(m, item.value) >= 0) continue;
    Node v = value ? *value : Node::null(item.mark);
    v.mark = item.mark;
    for (auto& e : v.entries) e.value.mark = item.mark;
    m.entries.push_back(MapEntry{item.value, item.mark, std::move(v)});
  }
  return m;
}

bool all_scalar_items(const Node& n) {
  for (const auto& item : n.items)
    if (!item.is_scalar()) return false;
  return true;
}

// extra_hosts item "host=ip" or "host:ip" (the address may itself hold colons).
std::pair<std::string, std::string> split_host(const std::string& s) {
  auto eq = s.find('=');
  if (eq == std::string::npos) eq = s.find(':');
  if (eq == std::string::npos) return {s, ""};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

// host → sequence of addresses.
std::optional<Node> hosts_mapping(const Node& n) {
  Node m = Node::mapping(n.mark);
  auto add = [&m](const std::string& host, const Mark& km, const Node& addr) {
    int i = find_index(m, host);
    if (i < 0) {
      m.entries.push_back(MapEntry{host, km, Node::sequence(addr.mark)});
      i = static_cast<int>(m.entries.size() - 1);
    }
    Node& list = m.entries[static_cast<size_t>(i)].value;
    for (const auto& a : list.items)
      if (a.value == addr.value) return;
    list.items.push_back(addr);
  };
  if (n.is_sequence()) {
    for (const auto& item : n.items) {
      if (!item.is_scalar()) return std::nullopt;
      if (is_reset(item)) continue;
      auto [host, addr] = split_host(item.value);
      add(host, item.mark, Node::scalar(addr, item.mark, true));
    }
    return m;
  }
  for (const auto& e : n.entries) {
    if (is_reset(e.value)) continue;
    if (e.value.is_scalar()) {
      add(e.key, e.key_mark, e.value);
    } else if (e.value.is_sequence() && all_scalar_items(e.value)) {
      for (const auto& a : e.value.items) add(e.key, e.key_mark, a);
    } else {
      return std::nullopt;
    }
  }
  return m;
}

// One address stays a scalar, several a list: both are valid extra_hosts mapping values.
void collapse_single_addresses(Node& m) {
  for (auto& e : m.entries) {
    if (e.value.is_sequence() && e.value.items.size() == 1) {
      Node single = e.value.items.front();
      e.value = std::move(single);
    }
  }
}

std::optional<std::string> driver_of(const Node& logging) {
  const Node* d = logging.find("driver");
  if (!d || d->is_null()) return std::nullopt;
  return d->value;
}

Node default_dependency(const Mark& m) {
  Node d = Node::mapping(m);
  d.set("condition", Node::scalar("service_started", m));
  d.set("required", Node::scalar("true", m));
  return d;
}

}  // namespace

void merge_key_value(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                     Diagnostics& diags) {
  if (!is_collection(base) || !is_collection(over)) return merge_default(base, over, pattern, path, diags);
  if (base.is_sequence() && over.is_sequence()) {
    append_clean(base, over);
    dedupe_sequence(base, KeyKind::kValue);
    return;
  }
  auto b = key_value_mapping(base, '=');
  auto o = key_value_mapping(over, '=');
  if (!b || !o) return merge_default(base, over, pattern, path, diags);
  for (const auto& oe : o->entries) {
    int i = find_index(*b, oe.key);
    if (is_reset(oe.value)) {
      if (i >= 0) b->entries.erase(b->entries.begin() + i);
      continue;
    }
    MapEntry entry{oe.key, oe.key_mark, clean_copy(oe.value)};
    if (i >= 0) b->entries[static_cast<size_t>(i)] = std::move(entry);
    else b->entries.push_back(std::move(entry));
  }
  base = std::move(*b);
}

void merge_hosts(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                 Diagnostics& diags) {
  if (!is_collection(base) || !is_collection(over)) return merge_default(base, over, pattern, path, diags);
  if (base.is_sequence() && over.is_sequence()) {
    // compose-go keeps every distinct entry: one host may resolve to several addresses.
    for (const auto& item : over.items) {
      if (is_reset(item)) continue;
      bool seen = false;
      for (const auto& b : base.items) seen = seen || (b.is_scalar() && item.is_scalar() && b.value == item.value);
      if (!seen) base.items.push_back(clean_copy(item));
    }
    return;
  }
  auto b = hosts_mapping(base);
  auto o = hosts_mapping(over);
  if (!b || !o) return merge_default(base, over, pattern, path, diags);
  for (const auto& oe : o->entries) {
    int i = find_index(*b, oe.key);
    if (i < 0) {
      b->entries.push_back(oe);
      continue;
    }
    Node& list = b->entries[static_cast<size_t>(i)].value;
    for (const auto& a : oe.value.items) {
      bool seen = false;
      for (const auto& x : list.items) seen = seen || x.value == a.value;
      if (!seen) list.items.push_back(a);
    }
  }
  collapse_single_addresses(*b);
  strip_tags(*b);
  base = std::move(*b);
}

void merge_unique(Node& base, const Node& over, const RuleInfo& rule, const std::string& pattern,
                  const std::string& path, Diagnostics& diags) {
  // A lone string (dns: 8.8.8.8, env_file: .env) is a one-item list.
  auto as_list = [&rule](const Node& n) {
    if (!rule.single || !n.is_scalar()) return n;
    Node seq = Node::sequence(n.mark);
    seq.items.push_back(n);
    return seq;
  };
  Node b = as_list(base);
  Node o = as_list(over);
  if (!b.is_sequence() || !o.is_sequence()) return merge_default(base, over, pattern, path, diags);
  append_clean(b, o);
  dedupe_sequence(b, rule.key);
  base = std::move(b);
}

void merge_logging(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                   Diagnostics& diags) {
  if (base.is_mapping() && over.is_mapping()) {
    auto bd = driver_of(base);
    auto od = driver_of(over);
    if (bd && od && *bd != *od) {
      base = clean_copy(over);
      return;
    }
  }
  merge_default(base, over, pattern, path, diags);
}

namespace {

// depends_on and service networks: lists of names or mappings of name → options. Two lists stay
// a de-duplicated list; otherwise both become mappings (a listed name gets `entry`) and merge.
void merge_name_collection(Node& base, const Node& over, const std::optional<Node>& base_entry,
                           const std::optional<Node>& over_entry, const std::string& pattern,
                           const std::string& path, Diagnostics& diags) {
  if (!is_collection(base) || !is_collection(over) || !all_scalar_items(base) || !all_scalar_items(over))
    return merge_default(base, over, pattern, path, diags);
  if (base.is_sequence() && over.is_sequence()) {
    append_clean(base, over);
    dedupe_sequence(base, KeyKind::kValue);
    return;
  }
  Node b = names_mapping(base, base_entry);
  Node o = names_mapping(over, over_entry);
  merge_mapping(b, o, pattern, path, diags);
  base = std::move(b);
}

}  // namespace

void merge_depends_on(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                      Diagnostics& diags) {
  merge_name_collection(base, over, default_dependency(base.mark), default_dependency(over.mark), pattern, path,
                        diags);
}

void merge_service_networks(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                            Diagnostics& diags) {
  merge_name_collection(base, over, std::nullopt, std::nullopt, pattern, path, diags);
}

void merge_build(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                 Diagnostics& diags) {
  auto as_mapping = [](const Node& n) {
    if (!n.is_scalar()) return n;
    Node m = Node::mapping(n.mark);
    m.set("context", n);
    return m;
  };
  if (base.is_scalar() && over.is_scalar()) {
    base = clean_copy(over);
    return;
  }
  Node b = as_mapping(base);
  merge_default(b, as_mapping(over), pattern, path, diags);
  base = std::move(b);
}

void merge_ulimit(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                  Diagnostics& diags) {
  if (base.is_mapping() && over.is_mapping()) return merge_mapping(base, over, pattern, path, diags);
  base = clean_copy(over);
}

void merge_ipam_config(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                       Diagnostics& diags) {
  if (!base.is_sequence() || !over.is_sequence()) return merge_default(base, over, pattern, path, diags);
  auto subnet = [](const Node& n) -> std::optional<std::string> {
    const Node* s = n.is_mapping() ? n.find("subnet") : nullptr;
    if (!s || !s->is_scalar()) return std::nullopt;
    return s->value;
  };
  for (size_t j = 0; j < over.items.size(); ++j) {
    const Node& item = over.items[j];
    if (is_reset(item)) continue;
    Node* same = nullptr;
    if (auto s = subnet(item)) {
      for (auto& b : base.items)
        if (subnet(b) == s) same = &b;
    }
    if (same) merge_mapping(*same, item, pattern + ".*", path_index(path, j), diags);
    else base.items.push_back(clean_copy(item));
  }
}

}  // namespace stack::compose::merge_detail
