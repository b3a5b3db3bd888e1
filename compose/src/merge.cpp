// The merge engine: the per-attribute rule table (after compose-go's override package) and the
// generic recursive merge. Attribute-specific mergers live in merge_rules.cpp, keyed sequences
// in merge_keys.cpp.
#include "merge.h"

#include <map>
#include <set>

#include "merge_internal.h"

namespace stack::compose {
namespace merge_detail {
namespace {

const std::map<std::string, RuleInfo>& rule_table() {
  static const std::map<std::string, RuleInfo> kTable = {
      {"services.*.command", {Rule::kReplace}},
      {"services.*.entrypoint", {Rule::kReplace}},
      {"services.*.healthcheck.test", {Rule::kReplace}},
      {"services.*.environment", {Rule::kKeyValue}},
      {"services.*.labels", {Rule::kKeyValue}},
      {"services.*.annotations", {Rule::kKeyValue}},
      {"services.*.sysctls", {Rule::kKeyValue}},
      {"services.*.build.args", {Rule::kKeyValue}},
      {"services.*.build.labels", {Rule::kKeyValue}},
      {"services.*.build.additional_contexts", {Rule::kKeyValue}},
      {"services.*.deploy.labels", {Rule::kKeyValue}},
      {"networks.*.labels", {Rule::kKeyValue}},
      {"volumes.*.labels", {Rule::kKeyValue}},
      {"secrets.*.labels", {Rule::kKeyValue}},
      {"configs.*.labels", {Rule::kKeyValue}},
      {"services.*.extra_hosts", {Rule::kHosts}},
      {"services.*.build.extra_hosts", {Rule::kHosts}},
      {"services.*.logging", {Rule::kLogging}},
      {"services.*.depends_on", {Rule::kDependsOn}},
      {"services.*.networks", {Rule::kNetworks}},
      {"services.*.build", {Rule::kBuild}},
      {"services.*.ulimits.*", {Rule::kUlimit}},
      {"networks.*.ipam.config", {Rule::kIpamConfig}},
      {"services.*.ports", {Rule::kUnique, KeyKind::kPort}},
      {"services.*.volumes", {Rule::kUnique, KeyKind::kVolume}},
      {"services.*.secrets", {Rule::kUnique, KeyKind::kSecret}},
      {"services.*.configs", {Rule::kUnique, KeyKind::kConfig}},
      {"services.*.devices", {Rule::kUnique, KeyKind::kDevice}},
      {"services.*.env_file", {Rule::kUnique, KeyKind::kEnvFile, true}},
      {"services.*.tmpfs", {Rule::kUnique, KeyKind::kTmpfs, true}},
      {"services.*.expose", {Rule::kUnique}},
      {"services.*.dns", {Rule::kUnique, KeyKind::kValue, true}},
      {"services.*.dns_opt", {Rule::kUnique}},
      {"services.*.dns_search", {Rule::kUnique, KeyKind::kValue, true}},
      {"services.*.cap_add", {Rule::kUnique}},
      {"services.*.cap_drop", {Rule::kUnique}},
      {"services.*.profiles", {Rule::kUnique}},
      {"services.*.links", {Rule::kUnique}},
      {"services.*.label_file", {Rule::kUnique, KeyKind::kValue, true}},
      {"services.*.networks.*.aliases", {Rule::kUnique}},
      {"services.*.networks.*.link_local_ips", {Rule::kUnique}},
      {"services.*.build.tags", {Rule::kUnique}},
      {"services.*.build.platforms", {Rule::kUnique}},
  };
  return kTable;
}

// Mappings whose keys are names chosen by the user, not attributes.
const std::set<std::string>& named_mappings() {
  static const std::set<std::string> kNamed = {"services", "networks", "volumes", "secrets", "configs",
                                               "services.*.networks", "services.*.ulimits",
                                               "services.*.depends_on"};
  return kNamed;
}

int find_index(const Node& m, const std::string& key) {
  for (size_t i = 0; i < m.entries.size(); ++i)
    if (m.entries[i].key == key) return static_cast<int>(i);
  return -1;
}

}  // namespace

RuleInfo rule_for(const std::string& pattern) {
  auto it = rule_table().find(pattern);
  return it == rule_table().end() ? RuleInfo{} : it->second;
}

std::string child_pattern(const std::string& pattern, const std::string& key) {
  if (pattern.empty()) return key;
  if (named_mappings().count(pattern)) return pattern + ".*";
  return pattern + "." + key;
}

bool is_reset(const Node& n) { return n.tag == "!reset"; }
bool is_override(const Node& n) { return n.tag == "!override"; }

void strip_tags(Node& n) {
  n.tag.clear();
  if (n.is_mapping()) {
    std::erase_if(n.entries, [](const MapEntry& e) { return is_reset(e.value); });
    for (auto& e : n.entries) strip_tags(e.value);
  } else if (n.is_sequence()) {
    std::erase_if(n.items, [](const Node& i) { return is_reset(i); });
    for (auto& i : n.items) strip_tags(i);
  }
}

Node clean_copy(const Node& n) {
  Node c = n;
  strip_tags(c);
  return c;
}

void merge_value(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                 Diagnostics& diags) {
  RuleInfo r = rule_for(pattern);
  if (r.rule == Rule::kReplace || base.is_null()) {
    // A null later value keeps the earlier one, except where Compose replaces outright.
    if (r.rule == Rule::kReplace || !over.is_null()) base = clean_copy(over);
    return;
  }
  if (over.is_null()) return;
  switch (r.rule) {
    case Rule::kKeyValue: return merge_key_value(base, over, pattern, path, diags);
    case Rule::kHosts: return merge_hosts(base, over, pattern, path, diags);
    case Rule::kUnique: return merge_unique(base, over, r, pattern, path, diags);
    case Rule::kLogging: return merge_logging(base, over, pattern, path, diags);
    case Rule::kDependsOn: return merge_depends_on(base, over, pattern, path, diags);
    case Rule::kNetworks: return merge_service_networks(base, over, pattern, path, diags);
    case Rule::kBuild: return merge_build(base, over, pattern, path, diags);
    case Rule::kUlimit: return merge_ulimit(base, over, pattern, path, diags);
    case Rule::kIpamConfig: return merge_ipam_config(base, over, pattern, path, diags);
    case Rule::kReplace:
    case Rule::kDefault: break;
  }
  merge_default(base, over, pattern, path, diags);
}

void merge_default(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                   Diagnostics& diags) {
  if (over.is_null()) return;
  if (base.is_null() || base.is_scalar()) {
    base = clean_copy(over);
    return;
  }
  if (base.is_mapping() && over.is_mapping()) return merge_mapping(base, over, pattern, path, diags);
  if (base.is_sequence() && over.is_sequence()) {
    for (const auto& item : over.items)
      if (!is_reset(item)) base.items.push_back(clean_copy(item));
    return;
  }
  diags.error(over, path,
              "cannot override the " + base.type_name() + " defined at " + base.mark.to_string() + " with a " +
                  over.type_name());
}

void merge_mapping(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                   Diagnostics& diags) {
  for (const auto& oe : over.entries) {
    int i = find_index(base, oe.key);
    if (i < 0) {
      if (!is_reset(oe.value)) base.entries.push_back(MapEntry{oe.key, oe.key_mark, clean_copy(oe.value)});
      continue;
    }
    MapEntry& be = base.entries[static_cast<size_t>(i)];
    if (is_reset(oe.value)) {
      base.entries.erase(base.entries.begin() + i);
      continue;
    }
    // An earlier !reset left in place (first file, or a base service) counts as absent.
    if (is_override(oe.value) || is_reset(be.value)) {
      be.key_mark = oe.key_mark;
      be.value = clean_copy(oe.value);
      continue;
    }
    merge_value(be.value, oe.value, child_pattern(pattern, oe.key), path_join(path, oe.key), diags);
  }
}

void merge_service_at(Node& base, const Node& over, const std::string& path, Diagnostics& diags) {
  if (is_reset(base)) base = Node::mapping(over.mark);
  merge_value(base, over, "services.*", path, diags);
}

}  // namespace merge_detail

void merge_documents(Node& base, const Node& over, Diagnostics& diags) {
  merge_detail::merge_value(base, over, "", "", diags);
}

void merge_service(Node& base, const Node& over, Diagnostics& diags) {
  merge_detail::merge_service_at(base, over, "services", diags);
}

void finish_merge(Node& root) {
  merge_detail::strip_tags(root);
  merge_detail::dedupe_tree(root, "");
}

}  // namespace stack::compose
