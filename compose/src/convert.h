// Node → typed model. Validation happens here: every key is known or rejected, every value
// type-checked, and short syntax turned into the canonical long form.
#pragma once

#include <string>
#include <vector>

#include "convert_util.h"
#include "stack/compose/loader.h"

namespace stack::compose {

// One service attribute: how to read it and how to write its canonical form.
struct ServiceField {
  const char* key;
  // Parses `value` (found at `path`, e.g. "services.web.ports") into `svc`; reports problems
  // through c and leaves svc's field untouched on error.
  void (*parse)(ConvertContext& c, const Node& value, const std::string& path, Service& svc);
  // Writes the attribute under `key` into the service object `out` when it is set.
  void (*to_json)(const Service& svc, Json& out);
};

// The attribute tables, each defined in its own file; together they cover every service key
// that stack models.
// resources: ports, volumes, networks, depends_on, healthcheck, logging, ulimits, devices,
//            secrets, configs, build                                  (service_resources*.cpp)
// runtime:   deploy, gpus, blkio_config, develop, post_start, pre_stop, command, entrypoint
//                                                                      (service_runtime*.cpp)
// simple:    every other attribute: scalars, lists, mappings           (service_simple*.cpp)
const std::vector<ServiceField>& resource_service_fields();
const std::vector<ServiceField>& runtime_service_fields();
const std::vector<ServiceField>& simple_service_fields();
// Keys of the Compose spec that stack rejects with "not supported yet: services.<name>.<key>".
const std::vector<std::string>& unsupported_service_keys();

// Converts one service definition (after merge). `path` is "services.<name>".
Service convert_service(ConvertContext& c, const std::string& name, const Node& node, const std::string& path);

// Top-level objects (networks, volumes, secrets, configs): project_objects.cpp.
void convert_networks(ConvertContext& c, const Node& node, Project& p);
void convert_volumes(ConvertContext& c, const Node& node, Project& p);
void convert_secrets(ConvertContext& c, const Node& node, Project& p);
void convert_configs(ConvertContext& c, const Node& node, Project& p);
Json networks_to_json(const Project& p);
Json volumes_to_json(const Project& p);
Json secrets_to_json(const Project& p);
Json configs_to_json(const Project& p);

}  // namespace stack::compose
