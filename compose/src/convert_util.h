// Typed readers used by the Node → model conversion. Each reader checks the node's type and
// form, adds one located diagnostic when it is wrong ("services.web.ports[1]: invalid port
// \"80:80:80\""), and returns std::nullopt so that conversion continues and every problem in a
// file is reported in one run.
//
// Scalars that are strings where a number or boolean is expected are converted when they
// spell one ("8080", "true", "yes"): Compose casts interpolated values the same way.
// Numbers and booleans where a string is expected are errors, as in Compose's schema, except
// where a reader says otherwise.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "diagnostics.h"
#include "node.h"
#include "stack/compose/model.h"

namespace stack::compose {

using Environment = std::map<std::string, std::string>;

struct ConvertContext {
  Diagnostics& diags;
  std::string working_dir;  // absolute project directory; relative paths resolve against it
  const Environment& env;   // the interpolation environment (HOME for "~", values for environment:)

  void error(const Node& at, const std::string& path, std::string message) {
    diags.error(at, path, std::move(message));
  }
};

// Strings.
std::optional<std::string> read_string(ConvertContext& c, const Node& n, const std::string& path);
// A string, or a number/boolean rendered as text (schema type ["string","number"]).
std::optional<std::string> read_scalar_text(ConvertContext& c, const Node& n, const std::string& path);
// One of `allowed`; error lists the allowed values.
std::optional<std::string> read_enum(ConvertContext& c, const Node& n, const std::string& path,
                                     const std::vector<std::string>& allowed);

// Numbers and booleans.
std::optional<bool> read_bool(ConvertContext& c, const Node& n, const std::string& path);
std::optional<int64_t> read_int(ConvertContext& c, const Node& n, const std::string& path);
std::optional<int64_t> read_int_range(ConvertContext& c, const Node& n, const std::string& path, int64_t min,
                                      int64_t max);
std::optional<double> read_float(ConvertContext& c, const Node& n, const std::string& path);

// Units. Durations: Go syntax ("1h2m3.5s", "300ms", "1us"), also a bare number of seconds
// when written as a number. Byte sizes: a number of bytes or "<n>[b|k|kb|m|mb|g|gb|t|tb]"
// in powers of 1024, case-insensitive, as Docker's RAMInBytes.
std::optional<Duration> read_duration(ConvertContext& c, const Node& n, const std::string& path);
std::optional<int64_t> read_bytes(ConvertContext& c, const Node& n, const std::string& path);
// CPU quantity: a non-negative number ("0.5", 2).
std::optional<double> read_cpus(ConvertContext& c, const Node& n, const std::string& path);

// Collections.
// A sequence of strings. With allow_single, a lone string is accepted as a one-item list.
std::optional<std::vector<std::string>> read_string_list(ConvertContext& c, const Node& n, const std::string& path,
                                                         bool allow_single = false);
// A sequence whose items `read_item(item, item_path)` converts (returning std::optional<T>,
// reporting its own problems). Not a sequence: one diagnostic. Any bad item: std::nullopt,
// after every item has been read so that all problems are reported.
template <class T, class ReadItem>
std::optional<std::vector<T>> read_list(ConvertContext& c, const Node& n, const std::string& path,
                                        ReadItem&& read_item) {
  if (!n.is_sequence()) {
    c.error(n, path, "must be a list, not a " + n.type_name());
    return std::nullopt;
  }
  std::vector<T> out;
  bool ok = true;
  for (size_t i = 0; i < n.items.size(); ++i) {
    std::optional<T> item = read_item(n.items[i], path_index(path, i));
    if (item) out.push_back(std::move(*item));
    else ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

// A mapping of scalars, or a sequence of "KEY=VALUE" / "KEY" strings (list_or_dict).
// A key without value (sequence "KEY" or mapping null) maps to std::nullopt.
std::optional<MappingWithEquals> read_list_or_dict(ConvertContext& c, const Node& n, const std::string& path,
                                                   char separator = '=');
// As read_list_or_dict, with keys without value mapped to "" (labels, sysctls, annotations).
std::optional<Mapping> read_mapping(ConvertContext& c, const Node& n, const std::string& path,
                                    char separator = '=');
// A mapping of strings only (driver_opts-like: values may be numbers, rendered as text).
std::optional<Mapping> read_string_map(ConvertContext& c, const Node& n, const std::string& path);

// Structure checks.
// Requires a mapping; reports every key not in `allowed` and not starting with "x-" as
// "unknown key". Returns false (after one diagnostic) when n is not a mapping.
bool check_mapping(ConvertContext& c, const Node& n, const std::string& path,
                   const std::vector<std::string>& allowed);
// The x-* keys of a mapping, as JSON.
Extensions read_extensions(const Node& n);

// Conversions shared with serialisation.
Json node_to_json(const Node& n);           // scalars resolved as YAML 1.2 core schema
std::string format_duration(Duration d);    // Go's time.Duration.String(): "1m30s", "0s"
std::optional<Duration> parse_duration(std::string_view text);
std::optional<int64_t> parse_bytes(std::string_view text);

// Splits on every `sep`, keeping empty fields ("a::b" → "a", "", "b").
std::vector<std::string> split_string(const std::string& s, char sep);

// Paths: "~" and "~/x" expand with HOME from the environment; relative paths are joined to
// the working directory and lexically normalised.
std::string resolve_path(const ConvertContext& c, const std::string& path);
std::string lexically_normal(const std::string& path);

}  // namespace stack::compose
