// Shared command-line state of `stack`: the global flags every verb understands.
#pragma once

#include <string>
#include <vector>

#include "stack/compose/loader.h"

namespace stack::cli {

struct GlobalOptions {
  std::vector<std::string> files;       // -f/--file
  std::string project_name;             // -p/--project-name
  std::string project_directory;        // --project-directory
  std::vector<std::string> env_files;   // --env-file
  std::vector<std::string> profiles;    // --profile
};

// The state directory: the --root flag when given, else $STACK_ROOT, else /var/lib/stack.
std::string state_root(const std::string& flag);

// "a,b,,c" → {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split_commas(const std::string& s);

// LoadOptions from the global flags and this process (cwd, environment, COMPOSE_PROFILES,
// stdin for "-f -").
compose::LoadOptions load_options(const GlobalOptions& g);

struct ConfigOptions {
  std::string format = "yaml";
  bool services = false, volumes = false, networks = false, profiles = false, images = false;
  std::string hash;
  bool no_interpolate = false;
  bool no_resolve_env = false;
  bool quiet = false;
  std::string output;
  std::vector<std::string> selected;  // SERVICE...
};

// `stack config`: returns the process exit status (0, or 1 after printing the errors).
int run_config(const GlobalOptions& g, const ConfigOptions& o);

}  // namespace stack::cli
