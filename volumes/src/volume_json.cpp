// The one file of stack_volumes that uses nlohmann/json: inspect output and volume.json.
// Its exceptions stay here.
#include <nlohmann/json.hpp>

#include "stack/volumes/local.h"
#include "stack/volumes/volume.h"

namespace stack::volumes {

namespace {

using nlohmann::json;

// Labels and options come from the command line and may hold bytes that are not UTF-8; json
// would throw on them, so they are written with U+FFFD instead.
std::string dump(const json& j, int indent = -1) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

json info_object(const VolumeInfo& info) {
  // json's object is a std::map: keys come out sorted, which is Docker's field order too.
  return json{{"CreatedAt", info.created_at}, {"Driver", info.driver},
              {"Labels", json(info.labels)},  {"Mountpoint", info.mountpoint},
              {"Name", info.name},            {"Options", json(info.options)},
              {"Scope", info.scope}};
}

Result<std::map<std::string, std::string>> string_map(const json& doc, const char* key,
                                                      const std::string& where) {
  std::map<std::string, std::string> out;
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_object()) return Error(EINVAL, where + ": " + key + " is not an object");
  for (auto& [k, v] : it->items()) {
    if (!v.is_string()) return Error(EINVAL, where + ": " + key + "." + k + " is not a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

}  // namespace

std::string volume_info_to_json(const VolumeInfo& info) { return dump(info_object(info)); }

std::string volumes_inspect_json(const std::vector<VolumeInfo>& infos) {
  json arr = json::array();
  for (auto& i : infos) arr.push_back(info_object(i));
  return dump(arr, 4);
}

std::string metadata_to_json(const VolumeMetadata& m) {
  return dump(json{{"driver", m.driver},
                   {"created_at", m.created_at},
                   {"labels", json(m.labels)},
                   {"options", json(m.options)}}) +
         "\n";
}

Result<VolumeMetadata> metadata_from_json(std::string_view text, const std::string& where) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Error(EINVAL, where + ": not a JSON object");
  VolumeMetadata m;
  const std::pair<const char*, std::string*> fields[] = {{"driver", &m.driver},
                                                          {"created_at", &m.created_at}};
  for (auto [key, field] : fields) {
    auto it = doc.find(key);
    if (it == doc.end()) continue;
    if (!it->is_string()) return Error(EINVAL, where + ": " + key + " is not a string");
    *field = it->get<std::string>();
  }
  STACK_TRY(m.labels, string_map(doc, "labels", where));
  STACK_TRY(m.options, string_map(doc, "options", where));
  return m;
}

}  // namespace stack::volumes
