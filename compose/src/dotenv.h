// Env files (.env, --env-file, service env_file) in Compose's format: KEY=VALUE lines,
// `export` prefixes, # comments, single quotes (literal), double quotes (escapes \n \t \\ \"
// and multi-line values), unquoted values with trailing comments removed, ${VAR} substitution
// in unquoted and double-quoted values (from variables defined earlier in the file, then
// `lookup`), and KEY alone (value taken from lookup; left out when unset).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "interpolate.h"

namespace stack::compose {

struct DotenvError {
  int line = 0;  // 1-based
  std::string message;
};

using DotenvEntries = std::vector<std::pair<std::string, std::string>>;  // in file order

// Parses an env file. `lookup` may be null (no substitution from outside the file).
// On a syntax error returns nullopt and fills *error.
std::optional<DotenvEntries> parse_dotenv(std::string_view text, const Lookup& lookup, DotenvError* error);

// format: raw — every line KEY=VALUE taken literally (no quotes, no substitution).
std::optional<DotenvEntries> parse_dotenv_raw(std::string_view text, DotenvError* error);

}  // namespace stack::compose
