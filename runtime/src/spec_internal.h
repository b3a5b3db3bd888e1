// Private to the spec_*.cpp files: a JSON reader that checks types and records every problem with
// its JSON path, plus the per-section parsers and the OCI name tables they validate against.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/runtime/spec.h"

namespace stack::runtime::spec_detail {

using Json = nlohmann::json;

// "linux" + "seccomp" → "linux.seccomp"; "" + "root" → "root".
std::string join_path(const std::string& path, std::string_view key);
// "mounts" + 1 → "mounts[1]".
std::string index_path(const std::string& path, size_t index);
// Map entries are addressed by quoted key since sysctl keys contain dots: linux.sysctl["a.b"].
std::string key_path(const std::string& path, const std::string& key);

// Lexical clean as Go's filepath.Clean: collapses "//", "." and "..", drops a trailing "/";
// ".." never climbs above "/" in an absolute path.
bool is_absolute(const std::string& path);

// Walks a parsed document. Conversions never throw: a value of the wrong type or out of range
// records "<path>: <problem>" and returns false so the caller skips dependent checks. JSON null
// counts as absent, as Go's encoding/json (runc) treats it.
class Reader {
 public:
  void fail(const std::string& path, const std::string& problem);
  const std::vector<std::string>& errors() const { return errors_; }

  bool read(const Json& j, const std::string& path, std::string& out);
  bool read(const Json& j, const std::string& path, bool& out);
  bool read(const Json& j, const std::string& path, int64_t& out);
  bool read(const Json& j, const std::string& path, uint64_t& out);
  bool read(const Json& j, const std::string& path, uint32_t& out);
  bool read(const Json& j, const std::string& path, uint16_t& out);
  bool read(const Json& j, const std::string& path, int& out);
  bool read(const Json& j, const std::string& path, std::vector<std::string>& out);
  bool read(const Json& j, const std::string& path, std::vector<uint32_t>& out);
  bool read(const Json& j, const std::string& path, std::map<std::string, std::string>& out);

  bool expect_object(const Json& j, const std::string& path);
  bool expect_array(const Json& j, const std::string& path);

  // The member `key` of object `obj`, or nullptr when absent or null.
  static const Json* member(const Json& obj, std::string_view key);

  // Reads obj[key] into out when present; false when absent or invalid.
  template <class T>
  bool field(const Json& obj, const std::string& path, std::string_view key, T& out) {
    const Json* j = member(obj, key);
    return j != nullptr && read(*j, join_path(path, key), out);
  }
  // As field(), but absence is an error ("<path>.<key>: required").
  template <class T>
  bool required(const Json& obj, const std::string& path, std::string_view key, T& out) {
    const Json* j = member(obj, key);
    if (j == nullptr) {
      fail(join_path(path, key), "required");
      return false;
    }
    return read(*j, join_path(path, key), out);
  }
  template <class T>
  bool optional(const Json& obj, const std::string& path, std::string_view key,
                std::optional<T>& out) {
    T value{};
    if (!field(obj, path, key, value)) return false;
    out = value;
    return true;
  }
  // Calls fn(element, element_path) for each element of the array obj[key], if present.
  template <class Fn>
  void each(const Json& obj, const std::string& path, std::string_view key, Fn&& fn) {
    const Json* j = member(obj, key);
    if (j == nullptr) return;
    std::string base = join_path(path, key);
    if (!expect_array(*j, base)) return;
    for (size_t i = 0; i < j->size(); ++i) {
      std::string elem = index_path(base, i);
      if (expect_object((*j)[i], elem)) fn((*j)[i], elem);
    }
  }
  // Calls fn(object, object_path) when obj[key] is present and an object; returns whether it did.
  template <class Fn>
  bool object(const Json& obj, const std::string& path, std::string_view key, Fn&& fn) {
    const Json* j = member(obj, key);
    if (j == nullptr) return false;
    std::string sub = join_path(path, key);
    if (!expect_object(*j, sub)) return false;
    fn(*j, sub);
    return true;
  }

 private:
  bool read_integer(const Json& j, const std::string& path, const char* want, int64_t min,
                    uint64_t max, int64_t& out_signed, uint64_t& out_unsigned);
  std::vector<std::string> errors_;
};

// Name tables from the OCI runtime spec 1.2 and the kernel/libseccomp headers.
std::optional<int> rlimit_resource(const std::string& name);
bool is_namespace_type(const std::string& name);
bool is_seccomp_action(const std::string& name);
bool is_seccomp_operator(const std::string& name);
bool is_seccomp_arch(const std::string& name);
bool is_seccomp_flag(const std::string& name);
bool is_rootfs_propagation(const std::string& name);

// Sections of config.json; each records its problems on the reader and fills what it could.
void parse_process_object(Reader& r, const Json& j, const std::string& path, Process& out);
void parse_linux_object(Reader& r, const Json& j, const std::string& path, Linux& out);
void parse_resources_object(Reader& r, const Json& j, const std::string& path, Resources& out);
void parse_seccomp_object(Reader& r, const Json& j, const std::string& path, Seccomp& out);

// Writers for the same sections (spec_to_json); absent optionals and empty lists are left out.
using OrderedJson = nlohmann::ordered_json;
OrderedJson write_process(const Process& p);
OrderedJson write_linux(const Linux& l);
OrderedJson write_resources(const Resources& r);
OrderedJson write_seccomp(const Seccomp& s);

// Turns a nlohmann parse_error into "invalid JSON at line L, column C: <detail>".
std::string describe_parse_error(const std::string& text, size_t byte, const std::string& what);

}  // namespace stack::runtime::spec_detail
