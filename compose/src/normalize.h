// What Compose does to a converted project before anyone uses it: profiles, the default
// network, env_file/label_file folding, bare environment keys resolved, references between
// services and top-level objects checked, and unused top-level objects dropped.
#pragma once

#include "diagnostics.h"
#include "project.h"

namespace stack::compose {

struct NormalizeContext {
  const Node& merged;  // for the positions of problems found in the model
  const ProjectInputs& in;
  const FileSource& fs;
  Diagnostics& diags;
};

// Order: profiles → references → default network → environment → unused objects.
void normalize_project(Project& p, const NormalizeContext& c);

// The active profiles: --profile plus COMPOSE_PROFILES (comma-separated).
std::vector<std::string> active_profiles(const ProjectInputs& in);

}  // namespace stack::compose
