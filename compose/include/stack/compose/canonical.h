// The canonical form of a loaded project: what `stack config` prints and what the config hash
// is computed over. Loading the canonical JSON again yields an equal Project.
#pragma once

#include <string>

#include "stack/compose/model.h"

namespace stack::compose {

// The whole project as Compose prints it (name, services, networks, volumes, secrets, configs,
// x-* extensions), keys in a stable order.
Json project_to_json(const Project& project);
// One service's canonical JSON (without its name).
Json service_to_json(const Service& service);

// The hash that decides recreation: sha256 (hex) of the service's canonical JSON, compact,
// with keys sorted, after removing deploy.replicas, scale, build, pull_policy, depends_on,
// profiles and every x-* key. Documented in docs/compose.md.
std::string config_hash(const Service& service);

// Doubles every "$" in string values (not in keys, which are never interpolated), as
// `docker compose config` does, so that loading the output again yields the same values.
Json escape_dollars(const Json& value);

// JSON rendered as indented JSON text (invalid UTF-8 replaced, never thrown on).
std::string to_json_text(const Json& value);

// JSON rendered as block-style YAML (strings quoted where YAML would read them otherwise).
std::string to_yaml(const Json& value);

}  // namespace stack::compose
