// Helpers for compose tests: inline YAML, an explicit environment, in-memory files, and the
// round trip through the canonical JSON. The project lives in /project; the main file is
// /project/compose.yaml.
#pragma once

#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "stack/compose/canonical.h"
#include "stack/compose/loader.h"

namespace stack::compose::testing {

using Env = std::map<std::string, std::string>;
using Files = std::map<std::string, std::string>;  // absolute path → content

// Loads `yaml` as /project/compose.yaml (plus `files`) with `env` as the process environment.
// `options` may preset other LoadOptions fields (files, profiles …); working_dir defaults to
// /project and environment to `env`.
Result<Project> load_yaml(const std::string& yaml, const Env& env = {}, const Files& files = {},
                          LoadOptions options = {});

// Loads and REQUIREs success (printing the errors otherwise).
Project load_ok(const std::string& yaml, const Env& env = {}, const Files& files = {}, LoadOptions options = {});

// Loads and REQUIREs failure; returns the error text (one line per problem).
std::string load_error(const std::string& yaml, const Env& env = {}, const Files& files = {},
                       LoadOptions options = {});

// The canonical JSON of one service of `yaml` (REQUIREs that it loads and has the service).
Json service_json(const std::string& yaml, const std::string& service, const Env& env = {},
                  const Files& files = {});

// Renders p as canonical JSON, loads that JSON again (same working dir and env) and CHECKs that
// the result is the same model: same canonical JSON and equal services, networks, volumes,
// secrets and configs.
// The canonical JSON is written with "$" escaped as `stack config` prints it; `options` may
// carry profiles or other settings the first load used.
void check_round_trip(const Project& p, const Env& env = {}, LoadOptions options = {});

}  // namespace stack::compose::testing
