// The merged document → Project: top-level validation, project name, conversion of every
// section, profiles, and the normalisation Compose applies (default network, resource names,
// env_file folding, reference checks).
#pragma once

#include <string>
#include <vector>

#include "convert_util.h"
#include "diagnostics.h"
#include "stack/compose/loader.h"

namespace stack::compose {

struct ProjectInputs {
  const LoadOptions& options;
  const Environment& env;  // interpolation environment (.env under the process environment)
  std::string project_dir;
  std::vector<std::string> files;  // absolute, in load order
  std::string stdin_path;
};

Project build_project(const Node& merged, const ProjectInputs& in, const FileSource& fs, Diagnostics& diags);

// The source position of a path in the merged document ("services.web.networks.front"), or the
// closest enclosing node's when the path does not exist; used for messages about the model.
Mark mark_at(const Node& root, const std::vector<std::string>& path);

}  // namespace stack::compose
