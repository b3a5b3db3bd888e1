// Checked field access on nlohmann::json for the shim's documents: every problem becomes an Error
// reading "<where>: <field>: problem", and nothing throws (nlohmann's get<> would).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "stack/common/result.h"

namespace stack::engine::shim_json {

// Parses without exceptions; errors name where.
Result<nlohmann::json> parse_object(std::string_view text, const std::string& where);

// Each reader leaves *out untouched when the field is absent (or null) and fails when it has
// the wrong type. path is the field's name as the user sees it ("log.max_size").
Status read_string(const nlohmann::json& obj, const char* key, const std::string& where,
                   const std::string& path, std::string* out);
Status read_bool(const nlohmann::json& obj, const char* key, const std::string& where,
                 const std::string& path, bool* out);
// Integers must be whole and within [min, max].
Status read_int(const nlohmann::json& obj, const char* key, const std::string& where,
                const std::string& path, int64_t min, int64_t max, int64_t* out);

Error field_error(const std::string& where, const std::string& path, const std::string& problem);

}  // namespace stack::engine::shim_json
