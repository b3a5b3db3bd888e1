// Internals of the merge pass shared by merge*.cpp and extends.cpp: the per-attribute rule
// table, the keyed-sequence helpers and the !reset/!override tag handling.
#pragma once

#include <string>

#include "diagnostics.h"
#include "node.h"

namespace stack::compose::merge_detail {

// How a value at a given attribute path combines with the value of a later file.
enum class Rule {
  kDefault,     // mappings merge recursively, sequences append, scalars: later wins
  kReplace,     // the later value replaces (command, entrypoint, healthcheck.test)
  kKeyValue,    // list-or-dict merged by KEY (environment, labels …)
  kHosts,       // extra_hosts: list-or-dict, one host may map to several addresses
  kUnique,      // sequence of unique resources keyed by `key`
  kLogging,     // a change of driver drops the other driver's options
  kDependsOn,   // list or mapping of services
  kNetworks,    // service networks: list or mapping
  kBuild,       // string (context) or mapping
  kUlimit,      // one ulimit: a number or {soft, hard}
  kIpamConfig,  // networks.*.ipam.config, keyed by subnet
};

// What identifies an item of a kUnique sequence.
enum class KeyKind { kValue, kPort, kVolume, kSecret, kConfig, kDevice, kEnvFile, kTmpfs };

struct RuleInfo {
  Rule rule = Rule::kDefault;
  KeyKind key = KeyKind::kValue;
  bool single = false;  // kUnique: a lone string is a one-item list (string_or_list in the schema)
};

// `pattern` is the attribute path with names replaced by "*": "services.*.build.args".
RuleInfo rule_for(const std::string& pattern);
std::string child_pattern(const std::string& pattern, const std::string& key);

bool is_reset(const Node& n);
bool is_override(const Node& n);
// Removes !reset-tagged entries and items and clears every tag, recursively.
void strip_tags(Node& n);
Node clean_copy(const Node& n);

// Merges `over` onto `base` following the rule for `pattern`; `path` names the value in messages.
void merge_value(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                 Diagnostics& diags);
// Mapping onto mapping, key by key, honouring !reset and !override on over's values.
void merge_mapping(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                   Diagnostics& diags);
// Generic rule (kDefault) for two values.
void merge_default(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                   Diagnostics& diags);

// Attribute-specific mergers (merge_rules.cpp).
void merge_key_value(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                     Diagnostics& diags);
void merge_hosts(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                 Diagnostics& diags);
void merge_unique(Node& base, const Node& over, const RuleInfo& rule, const std::string& pattern,
                  const std::string& path, Diagnostics& diags);
void merge_logging(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                   Diagnostics& diags);
void merge_depends_on(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                      Diagnostics& diags);
void merge_service_networks(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                            Diagnostics& diags);
void merge_build(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                 Diagnostics& diags);
void merge_ulimit(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                  Diagnostics& diags);
void merge_ipam_config(Node& base, const Node& over, const std::string& pattern, const std::string& path,
                       Diagnostics& diags);

// Keyed sequences (merge_keys.cpp): the later item with a key replaces the earlier one in its
// place, as compose-go's EnforceUnicity does.
std::string item_key(const Node& item, KeyKind kind, size_t index);
void dedupe_sequence(Node& seq, KeyKind kind);
// Applies dedupe_sequence to every keyed sequence under `n` (found at `pattern`).
void dedupe_tree(Node& n, const std::string& pattern);

// merge_service with the service's path ("services.web") for messages.
void merge_service_at(Node& base, const Node& over, const std::string& path, Diagnostics& diags);

}  // namespace stack::compose::merge_detail
