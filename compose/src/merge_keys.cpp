// Keys of the items of unique-resource sequences (ports, volumes, secrets …). Short syntax is
// parsed only as far as the key needs; malformed items get a key of their own so that they
// survive for the typed conversion to report.
#include <map>
#include <vector>

#include "convert_util.h"
#include "merge_internal.h"

namespace stack::compose::merge_detail {
namespace {

std::string unique_key(size_t index) { return "\x01#" + std::to_string(index); }

std::string text_of(const Node* n) { return n && n->is_scalar() ? n->value : std::string(); }

// host_ip|published|target|protocol for "[ip:][published:]target[/protocol]".
std::string short_port_key(const std::string& text) {
  std::string rest = text;
  std::string protocol = "tcp";
  if (auto slash = rest.rfind('/'); slash != std::string::npos) {
    protocol = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::string target = rest;
  std::string published;
  std::string host;
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    target = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    published = rest;
    if (auto c2 = rest.rfind(':'); c2 != std::string::npos) {
      published = rest.substr(c2 + 1);
      host = rest.substr(0, c2);
    }
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host + "|" + published + "|" + target + "|" + protocol;
}

std::string long_port_key(const Node& m) {
  std::string protocol = text_of(m.find("protocol"));
  return text_of(m.find("host_ip")) + "|" + text_of(m.find("published")) + "|" + text_of(m.find("target")) + "|" +
         (protocol.empty() ? "tcp" : protocol);
}

// Secrets and configs: the short syntax names the source, mounted at the default location.
std::string mount_key(const Node& item, const std::string& default_dir, size_t index) {
  if (item.is_scalar()) return default_dir + "/" + item.value;
  if (!item.is_mapping()) return unique_key(index);
  std::string target = text_of(item.find("target"));
  if (!target.empty()) {
    if (target.front() != '/' && !default_dir.empty()) return default_dir + "/" + target;
    return target;
  }
  std::string source = text_of(item.find("source"));
  return source.empty() ? unique_key(index) : default_dir + "/" + source;
}

// Second field of "a:b[:c]", or the only one.
std::string second_field(const std::string& text) {
  auto parts = split_string(text, ':');
  return parts.size() == 1 ? parts[0] : parts[1];
}

std::string target_key(const Node& item, size_t index) {
  if (item.is_scalar()) return second_field(item.value);
  std::string target = item.is_mapping() ? text_of(item.find("target")) : std::string();
  return target.empty() ? unique_key(index) : target;
}

}  // namespace

std::string item_key(const Node& item, KeyKind kind, size_t index) {
  switch (kind) {
    case KeyKind::kPort:
      if (item.is_scalar()) return short_port_key(item.value);
      return item.is_mapping() ? long_port_key(item) : unique_key(index);
    case KeyKind::kVolume:
    case KeyKind::kDevice: return target_key(item, index);
    case KeyKind::kSecret: return mount_key(item, "/run/secrets", index);
    case KeyKind::kConfig: return mount_key(item, "", index);
    case KeyKind::kEnvFile:
      if (item.is_scalar()) return item.value;
      return item.is_mapping() && item.find("path") ? text_of(item.find("path")) : unique_key(index);
    case KeyKind::kTmpfs: return item.is_scalar() ? split_string(item.value, ':')[0] : unique_key(index);
    case KeyKind::kValue:
      if (!item.is_scalar()) return unique_key(index);
      return item.value.substr(0, item.value.find('='));
  }
  return unique_key(index);
}

void dedupe_sequence(Node& seq, KeyKind kind) {
  if (!seq.is_sequence()) return;
  std::vector<Node> out;
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < seq.items.size(); ++i) {
    Node& item = seq.items[i];
    if (is_reset(item)) continue;
    std::string key = item_key(item, kind, i);
    if (auto it = position.find(key); it != position.end()) {
      out[it->second] = std::move(item);
    } else {
      position.emplace(key, out.size());
      out.push_back(std::move(item));
    }
  }
  seq.items = std::move(out);
}

void dedupe_tree(Node& n, const std::string& pattern) {
  if (!n.is_mapping()) return;
  for (auto& e : n.entries) {
    std::string cp = child_pattern(pattern, e.key);
    RuleInfo r = rule_for(cp);
    bool keyed = r.rule == Rule::kUnique || r.rule == Rule::kKeyValue;
    if (keyed && e.value.is_sequence()) dedupe_sequence(e.value, r.key);
    else dedupe_tree(e.value, cp);
  }
}

}  // namespace stack::compose::merge_detail
