// The table of simple service attributes: the topic slices joined, plus the Compose keys that
// stack rejects as not supported yet.
#include "service_simple.h"

#include <set>

namespace stack::compose {
namespace simple {

bool check_unique(ConvertContext& c, const Node& list, const std::string& path, const std::vector<std::string>& items) {
  if (!list.is_sequence()) return true;
  std::set<std::string> seen;
  bool ok = true;
  for (size_t i = 0; i < items.size() && i < list.items.size(); ++i) {
    if (!seen.insert(items[i]).second) {
      c.error(list.items[i], path_index(path, i), "duplicate item \"" + items[i] + "\"");
      ok = false;
    }
  }
  return ok;
}

void put_list(Json& out, const char* key, const std::vector<std::string>& items) {
  if (items.empty()) return;
  Json a = Json::array();
  for (const auto& s : items) a.push_back(s);
  out[key] = std::move(a);
}

void put_mapping(Json& out, const char* key, const Mapping& m) {
  if (m.empty()) return;
  Json o = Json::object();
  for (const auto& [k, v] : m) o[k] = v;
  out[key] = std::move(o);
}

}  // namespace simple

const std::vector<ServiceField>& simple_service_fields() {
  static const std::vector<ServiceField> fields = [] {
    std::vector<ServiceField> all;
    for (const auto* slice :
         {&simple::scalar_fields(), &simple::number_fields(), &simple::list_fields(), &simple::mapping_fields()})
      all.insert(all.end(), slice->begin(), slice->end());
    return all;
  }();
  return fields;
}

// credential_spec and isolation only mean something on Windows hosts; provider and models
// delegate services to plugins stack does not have.
const std::vector<std::string>& unsupported_service_keys() {
  static const std::vector<std::string> keys = {"credential_spec", "isolation", "provider", "models"};
  return keys;
}

}  // namespace stack::compose
