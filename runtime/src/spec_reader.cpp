// The type-checking JSON reader behind parse_spec(), path helpers, and the JSON error position.
#include <limits>

#include "spec_internal.h"
#include "stack/common/path.h"

namespace stack::runtime::spec_detail {
namespace {

// What a value is, for "expected X, got Y": numbers show themselves since "got number" alone
// does not say whether the sign or the fraction was the problem.
std::string describe(const Json& j) {
  switch (j.type()) {
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return j.dump();
    default:
      return j.type_name();
  }
}

}  // namespace

std::string join_path(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out = path;
  out += '.';
  out += key;
  return out;
}

std::string index_path(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string key_path(const std::string& path, const std::string& key) {
  return path + "[\"" + key + "\"]";
}

bool is_absolute(const std::string& path) { return !path.empty() && path[0] == '/'; }


void Reader::fail(const std::string& path, const std::string& problem) {
  errors_.push_back(path + ": " + problem);
}

const Json* Reader::member(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

bool Reader::expect_object(const Json& j, const std::string& path) {
  if (j.is_object()) return true;
  fail(path, "expected an object, got " + describe(j));
  return false;
}

bool Reader::expect_array(const Json& j, const std::string& path) {
  if (j.is_array()) return true;
  fail(path, "expected an array, got " + describe(j));
  return false;
}

bool Reader::read(const Json& j, const std::string& path, std::string& out) {
  if (!j.is_string()) {
    fail(path, "expected a string, got " + describe(j));
    return false;
  }
  out = j.get<std::string>();
  return true;
}

bool Reader::read(const Json& j, const std::string& path, bool& out) {
  if (!j.is_boolean()) {
    fail(path, "expected a boolean, got " + describe(j));
    return false;
  }
  out = j.get<bool>();
  return true;
}

bool Reader::read_integer(const Json& j, const std::string& path, const char* want, int64_t min,
                          uint64_t max, int64_t& out_signed, uint64_t& out_unsigned) {
  // Go's encoding/json (runc) rejects 1.0 for an integer field, so a float never converts.
  if (!j.is_number_integer()) {
    fail(path, std::string("expected ") + want + ", got " + describe(j));
    return false;
  }
  auto out_of_range = [&] {
    fail(path,
         j.dump() + " is out of range (" + std::to_string(min) + ".." + std::to_string(max) + ")");
    return false;
  };
  if (j.is_number_unsigned()) {
    out_unsigned = j.get<uint64_t>();
    if (out_unsigned > max) return out_of_range();
    out_signed = static_cast<int64_t>(out_unsigned);
    return true;
  }
  out_signed = j.get<int64_t>();
  if (out_signed < min) {
    if (min == 0) {
      fail(path, std::string("expected ") + want + ", got " + describe(j));
      return false;
    }
    return out_of_range();
  }
  out_unsigned = static_cast<uint64_t>(out_signed);
  return true;
}

bool Reader::read(const Json& j, const std::string& path, int64_t& out) {
  uint64_t unused = 0;
  return read_integer(j, path, "an integer", std::numeric_limits<int64_t>::min(),
                      std::numeric_limits<int64_t>::max(), out, unused);
}

bool Reader::read(const Json& j, const std::string& path, uint64_t& out) {
  int64_t unused = 0;
  return read_integer(j, path, "an unsigned integer", 0, std::numeric_limits<uint64_t>::max(),
                      unused, out);
}

bool Reader::read(const Json& j, const std::string& path, uint32_t& out) {
  int64_t unused = 0;
  uint64_t value = 0;
  if (!read_integer(j, path, "an unsigned integer", 0, std::numeric_limits<uint32_t>::max(), unused,
                    value))
    return false;
  out = static_cast<uint32_t>(value);
  return true;
}

bool Reader::read(const Json& j, const std::string& path, uint16_t& out) {
  int64_t unused = 0;
  uint64_t value = 0;
  if (!read_integer(j, path, "an unsigned integer", 0, std::numeric_limits<uint16_t>::max(), unused,
                    value))
    return false;
  out = static_cast<uint16_t>(value);
  return true;
}

bool Reader::read(const Json& j, const std::string& path, int& out) {
  int64_t value = 0;
  uint64_t unused = 0;
  if (!read_integer(j, path, "an integer", std::numeric_limits<int>::min(),
                    std::numeric_limits<int>::max(), value, unused))
    return false;
  out = static_cast<int>(value);
  return true;
}

bool Reader::read(const Json& j, const std::string& path, std::vector<std::string>& out) {
  if (!expect_array(j, path)) return false;
  bool ok = true;
  out.clear();
  for (size_t i = 0; i < j.size(); ++i) {
    std::string value;
    if (read(j[i], index_path(path, i), value))
      out.push_back(std::move(value));
    else
      ok = false;
  }
  return ok;
}

bool Reader::read(const Json& j, const std::string& path, std::vector<uint32_t>& out) {
  if (!expect_array(j, path)) return false;
  bool ok = true;
  out.clear();
  for (size_t i = 0; i < j.size(); ++i) {
    uint32_t value = 0;
    if (read(j[i], index_path(path, i), value))
      out.push_back(value);
    else
      ok = false;
  }
  return ok;
}

bool Reader::read(const Json& j, const std::string& path, std::map<std::string, std::string>& out) {
  if (!expect_object(j, path)) return false;
  bool ok = true;
  out.clear();
  for (const auto& [key, value] : j.items()) {
    std::string text;
    if (read(value, key_path(path, key), text))
      out[key] = std::move(text);
    else
      ok = false;
  }
  return ok;
}

std::string describe_parse_error(const std::string& text, size_t byte, const std::string& what) {
  // nlohmann's `byte` is the 1-based offset of the last character read; count lines up to it.
  size_t offset = byte == 0 ? 0 : std::min(byte - 1, text.size());
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  size_t column = offset - line_start + 1;
  // what() reads "[json.exception.parse_error.101] parse error at line 1, column 2: <detail>".
  std::string detail = what;
  size_t at = what.find("parse error");
  if (at != std::string::npos) {
    size_t colon = what.find(": ", at);
    if (colon != std::string::npos) detail = what.substr(colon + 2);
  }
  return "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(column) +
         ": " + detail;
}

}  // namespace stack::runtime::spec_detail
