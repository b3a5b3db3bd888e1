// The one place the shim's documents touch nlohmann::json's throwing accessors.
#include "json_fields.h"

namespace stack::engine::shim_json {

Error field_error(const std::string& where, const std::string& path, const std::string& problem) {
  return Error(EINVAL, where + ": " + path + ": " + problem);
}

Result<nlohmann::json> parse_object(std::string_view text, const std::string& where) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return Error(EINVAL, where + ": not valid JSON");
  if (!doc.is_object()) return Error(EINVAL, where + ": expected a JSON object");
  return doc;
}

namespace {

// The field, or nullptr when it is absent or null.
const nlohmann::json* field(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Status read_string(const nlohmann::json& obj, const char* key, const std::string& where,
                   const std::string& path, std::string* out) {
  const nlohmann::json* v = field(obj, key);
  if (!v) return {};
  if (!v->is_string()) return field_error(where, path, "expected a string, got " + v->dump());
  *out = v->get_ref<const std::string&>();
  return {};
}

Status read_bool(const nlohmann::json& obj, const char* key, const std::string& where,
                 const std::string& path, bool* out) {
  const nlohmann::json* v = field(obj, key);
  if (!v) return {};
  if (!v->is_boolean()) return field_error(where, path, "expected true or false, got " + v->dump());
  *out = v->get<bool>();
  return {};
}

Status read_int(const nlohmann::json& obj, const char* key, const std::string& where,
                const std::string& path, int64_t min, int64_t max, int64_t* out) {
  const nlohmann::json* v = field(obj, key);
  if (!v) return {};
  int64_t value = 0;
  if (v->is_number_integer()) {
    value = v->get<int64_t>();
  } else if (v->is_number_unsigned()) {
    if (v->get<uint64_t>() > static_cast<uint64_t>(max))
      return field_error(where, path, "must be at most " + std::to_string(max));
    value = static_cast<int64_t>(v->get<uint64_t>());
  } else {
    return field_error(where, path, "expected an integer, got " + v->dump());
  }
  if (value < min) return field_error(where, path, "must be at least " + std::to_string(min));
  if (value > max) return field_error(where, path, "must be at most " + std::to_string(max));
  *out = value;
  return {};
}

}  // namespace stack::engine::shim_json
