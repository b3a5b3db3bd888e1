// Shared pieces of the "runtime" service attributes (service_runtime*.cpp): the parse and
// to_json functions of each attribute, and readers used by more than one of them.
#pragma once

#include <string>
#include <vector>

#include "convert.h"

namespace stack::compose::runtime {

// Structure checks beyond check_mapping.
// As check_mapping, but x-* keys are errors too (objects whose schema allows no extensions).
bool check_mapping_strict(ConvertContext& c, const Node& n, const std::string& path,
                          const std::vector<std::string>& allowed);
// Reports `missing required key "<key>"` at the mapping when `key` is absent; true when present.
bool require_key(ConvertContext& c, const Node& n, const std::string& path, const std::string& key);
// Counts diagnostics so that a parse can leave the model untouched when anything failed.
class ErrorWatch {
 public:
  explicit ErrorWatch(const ConvertContext& c) : diags_(c.diags), before_(c.diags.size()) {}
  bool ok() const { return diags_.size() == before_; }

 private:
  const Diagnostics& diags_;
  size_t before_;
};

Json extensions_json(const Extensions& ext, Json out);
Json string_list_json(const std::vector<std::string>& items);
Json mapping_with_equals_json(const MappingWithEquals& m);

// A command: a string (shell-split) or a list of strings. Null is "unset" (std::nullopt without
// a diagnostic); errors are reported and also give std::nullopt, with `ok` set to false.
std::optional<std::vector<std::string>> read_command(ConvertContext& c, const Node& n, const std::string& path,
                                                     bool& ok);

// Lifecycle hooks (post_start, pre_stop, develop.watch[].exec).
std::optional<ServiceHook> read_hook(ConvertContext& c, const Node& n, const std::string& path);
Json hook_json(const ServiceHook& h);

// Device requests (gpus, deploy.resources.reservations.devices).
std::optional<DeviceRequest> read_device_request(ConvertContext& c, const Node& n, const std::string& path,
                                                 bool capabilities_required);
Json device_request_json(const DeviceRequest& d);

// Per-attribute entry points for the table in service_runtime.cpp.
void parse_deploy(ConvertContext& c, const Node& value, const std::string& path, Service& svc);
void deploy_to_json(const Service& svc, Json& out);
void parse_gpus(ConvertContext& c, const Node& value, const std::string& path, Service& svc);
void gpus_to_json(const Service& svc, Json& out);
void parse_blkio_config(ConvertContext& c, const Node& value, const std::string& path, Service& svc);
void blkio_config_to_json(const Service& svc, Json& out);
void parse_develop(ConvertContext& c, const Node& value, const std::string& path, Service& svc);
void develop_to_json(const Service& svc, Json& out);

}  // namespace stack::compose::runtime
