// Variable substitution as Compose does it: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
// ${VAR:?error}, ${VAR?error}, ${VAR:+replacement}, ${VAR+replacement}, nested expressions in
// defaults/replacements/errors, and $$ for a literal $.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.h"
#include "node.h"

namespace stack::compose {

// Looks a variable up; nullopt when unset (an empty value is set).
using Lookup = std::function<std::optional<std::string>(const std::string& name)>;

// Substitutes variables in `text`. On failure returns nullopt and sets *error to a message
// such as "required variable DB_PASSWORD is missing a value: set it in .env" or
// "invalid interpolation format for \"${FOO\"". When `unset` is given, the names of unset
// variables that a plain $VAR or ${VAR} turned into the empty string are appended to it.
std::optional<std::string> interpolate_string(std::string_view text, const Lookup& lookup, std::string* error,
                                              std::vector<std::string>* unset = nullptr);

// Substitutes variables in every scalar value under `root` (mapping keys are left alone).
// A scalar whose text changed becomes a string (quoted = true), as Compose treats substituted
// values. Errors are reported at the scalar's position with its path (`path` names root).
void interpolate_tree(Node& root, const Lookup& lookup, Diagnostics& diags, const std::string& path = "",
                      std::vector<std::string>* unset = nullptr);

}  // namespace stack::compose
