// Service dispatch: every key of a service definition goes to exactly one ServiceField, is
// rejected as not supported yet, or is an unknown-key error.
#include <algorithm>
#include <unordered_map>

#include "convert.h"
#include "stack/compose/canonical.h"

namespace stack::compose {
namespace {

struct FieldIndex {
  std::unordered_map<std::string, const ServiceField*> by_key;
  std::vector<const ServiceField*> all;
  FieldIndex() {
    for (const auto* table : {&resource_service_fields(), &runtime_service_fields(), &simple_service_fields()}) {
      for (const auto& f : *table) {
        by_key.emplace(f.key, &f);
        all.push_back(&f);
      }
    }
  }
};

const FieldIndex& field_index() {
  static const FieldIndex index;
  return index;
}

}  // namespace

Service convert_service(ConvertContext& c, const std::string& name, const Node& node, const std::string& path) {
  Service svc;
  svc.name = name;
  if (node.is_null()) return svc;  // "web:" with nothing: allowed, validated later (image or build)
  if (!node.is_mapping()) {
    c.error(node, path, "must be a mapping, not a " + node.type_name());
    return svc;
  }
  const auto& index = field_index();
  const auto& unsupported = unsupported_service_keys();
  for (const auto& e : node.entries) {
    std::string p = path_join(path, e.key);
    if (e.key.rfind("x-", 0) == 0) {
      svc.extensions[e.key] = node_to_json(e.value);
      continue;
    }
    if (auto it = index.by_key.find(e.key); it != index.by_key.end()) {
      it->second->parse(c, e.value, p, svc);
      continue;
    }
    if (std::find(unsupported.begin(), unsupported.end(), e.key) != unsupported.end()) {
      c.diags.error(e.key_mark, "", "not supported yet: " + p);
      continue;
    }
    c.diags.error(e.key_mark, path, "unknown key \"" + e.key + "\"");
  }
  return svc;
}

Json service_to_json(const Service& svc) {
  Json out = Json::object();
  for (const ServiceField* f : field_index().all) f->to_json(svc, out);
  // Compose prints service attributes in alphabetical order.
  Json sorted = Json::object();
  std::vector<std::string> keys;
  for (auto it = out.begin(); it != out.end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  for (const auto& k : keys) sorted[k] = out[k];
  for (const auto& [k, v] : svc.extensions) sorted[k] = v;
  return sorted;
}

const Service* Project::find_service(const std::string& n) const {
  for (const auto& s : services)
    if (s.name == n) return &s;
  return nullptr;
}

}  // namespace stack::compose
