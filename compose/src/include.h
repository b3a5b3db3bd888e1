// The top-level `include` section: other Compose files (each with its own project directory
// and env files) loaded as sub-projects and merged in. A resource defined both by an included
// project and the including file is an error unless both definitions are identical.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "diagnostics.h"
#include "node.h"

namespace stack::compose {

struct IncludeRequest {
  std::vector<std::string> paths;      // absolute
  std::string project_directory;       // absolute; default: directory of the first path
  std::vector<std::string> env_files;  // absolute; default: <project_directory>/.env if present
  Mark at;                             // the include entry, for messages
};

// Loads an included sub-project: every path merged in order, interpolated with its own
// environment, its own includes and extends resolved, relative paths made absolute against
// its project directory. Returns nullopt after reporting at request.at (unreadable file,
// include cycle …).
using IncludeLoader = std::function<std::optional<Node>(const IncludeRequest& request)>;

// Resolves `include` in `doc` (read from `file_path`, absolute) and removes the key.
void resolve_includes(Node& doc, const std::string& file_path, const IncludeLoader& load, Diagnostics& diags);

}  // namespace stack::compose
