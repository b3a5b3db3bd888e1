// The "runtime" service attributes: what runs in the container and how it is scheduled.
// command, entrypoint and the lifecycle hooks live here; deploy and gpus in
// service_runtime_deploy.cpp, blkio_config in service_runtime_blkio.cpp, develop in
// service_runtime_develop.cpp.
#include "service_runtime.h"

#include "shell_words.h"

namespace stack::compose {
namespace runtime {

bool check_mapping_strict(ConvertContext& c, const Node& n, const std::string& path,
                          const std::vector<std::string>& allowed) {
  if (!check_mapping(c, n, path, allowed)) return false;
  for (const auto& e : n.entries)
    if (e.key.rfind("x-", 0) == 0) c.diags.error(e.key_mark, path, "unknown key \"" + e.key + "\"");
  return true;
}

bool require_key(ConvertContext& c, const Node& n, const std::string& path, const std::string& key) {
  if (n.find(key)) return true;
  c.error(n, path, "missing required key \"" + key + "\"");
  return false;
}

Json extensions_json(const Extensions& ext, Json out) {
  for (const auto& [k, v] : ext) out[k] = v;
  return out;
}

Json string_list_json(const std::vector<std::string>& items) {
  Json a = Json::array();
  for (const auto& s : items) a.push_back(s);
  return a;
}

Json mapping_with_equals_json(const MappingWithEquals& m) {
  Json o = Json::object();
  for (const auto& [k, v] : m) o[k] = v ? Json(*v) : Json(nullptr);
  return o;
}

std::optional<std::vector<std::string>> read_command(ConvertContext& c, const Node& n, const std::string& path,
                                                     bool& ok) {
  ok = true;
  if (n.is_null() || (n.is_scalar() && !n.quoted && scalar_is_null(n))) return std::nullopt;
  if (n.is_sequence()) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n.items.size(); ++i) {
      auto s = read_string(c, n.items[i], path_index(path, i));
      if (s) out.push_back(*s);
      else ok = false;
    }
    if (!ok) return std::nullopt;
    return out;
  }
  bool is_text = n.is_scalar() && (n.quoted || (!scalar_bool(n) && !scalar_int(n) && !scalar_float(n)));
  if (!is_text) {
    c.error(n, path, "must be a string or a list of strings, not a " + n.type_name());
    ok = false;
    return std::nullopt;
  }
  std::string why;
  auto words = split_shell_words(n.value, &why);
  if (!words) {
    c.error(n, path, "invalid command \"" + n.value + "\": " + why);
    ok = false;
  }
  return words;
}

std::optional<ServiceHook> read_hook(ConvertContext& c, const Node& n, const std::string& path) {
  static const std::vector<std::string> kKeys = {"command", "user", "privileged", "working_dir", "environment"};
  ErrorWatch watch(c);
  if (!check_mapping(c, n, path, kKeys)) return std::nullopt;
  ServiceHook h;
  if (require_key(c, n, path, "command")) {
    const Node& cmd = *n.find("command");
    bool ok = true;
    auto words = read_command(c, cmd, path_join(path, "command"), ok);
    if (words) h.command = std::move(*words);
    else if (ok) c.error(cmd, path_join(path, "command"), "must be a string or a list of strings, not null");
  }
  if (const Node* v = n.find("user")) h.user = read_string(c, *v, path_join(path, "user")).value_or("");
  if (const Node* v = n.find("privileged"))
    h.privileged = read_bool(c, *v, path_join(path, "privileged")).value_or(false);
  if (const Node* v = n.find("working_dir"))
    h.working_dir = read_string(c, *v, path_join(path, "working_dir")).value_or("");
  if (const Node* v = n.find("environment"))
    h.environment = read_list_or_dict(c, *v, path_join(path, "environment")).value_or(MappingWithEquals{});
  h.extensions = read_extensions(n);
  if (!watch.ok()) return std::nullopt;
  return h;
}

Json hook_json(const ServiceHook& h) {
  Json o = Json::object();
  o["command"] = string_list_json(h.command);
  if (!h.user.empty()) o["user"] = h.user;
  if (h.privileged) o["privileged"] = true;
  if (!h.working_dir.empty()) o["working_dir"] = h.working_dir;
  if (!h.environment.empty()) o["environment"] = mapping_with_equals_json(h.environment);
  return extensions_json(h.extensions, std::move(o));
}

}  // namespace runtime

namespace {

using namespace runtime;

void parse_command_field(ConvertContext& c, const Node& value, const std::string& path,
                         std::optional<std::vector<std::string>>& field) {
  bool ok = true;
  auto words = read_command(c, value, path, ok);
  if (ok) field = std::move(words);
}

void parse_command(ConvertContext& c, const Node& value, const std::string& path, Service& svc) {
  parse_command_field(c, value, path, svc.command);
}
void command_to_json(const Service& svc, Json& out) {
  // An empty list is kept: it clears the image's CMD.
  if (svc.command) out["command"] = string_list_json(*svc.command);
}

void parse_entrypoint(ConvertContext& c, const Node& value, const std::string& path, Service& svc) {
  parse_command_field(c, value, path, svc.entrypoint);
}
void entrypoint_to_json(const Service& svc, Json& out) {
  if (svc.entrypoint) out["entrypoint"] = string_list_json(*svc.entrypoint);
}

void parse_hooks(ConvertContext& c, const Node& value, const std::string& path, std::vector<ServiceHook>& field) {
  if (!value.is_sequence()) {
    c.error(value, path, "must be a list of hooks, not a " + value.type_name());
    return;
  }
  std::vector<ServiceHook> hooks;
  bool ok = true;
  for (size_t i = 0; i < value.items.size(); ++i) {
    auto h = read_hook(c, value.items[i], path_index(path, i));
    if (h) hooks.push_back(std::move(*h));
    else ok = false;
  }
  if (ok) field = std::move(hooks);
}

Json hooks_json(const std::vector<ServiceHook>& hooks) {
  Json a = Json::array();
  for (const auto& h : hooks) a.push_back(hook_json(h));
  return a;
}

void parse_post_start(ConvertContext& c, const Node& value, const std::string& path, Service& svc) {
  parse_hooks(c, value, path, svc.post_start);
}
void post_start_to_json(const Service& svc, Json& out) {
  if (!svc.post_start.empty()) out["post_start"] = hooks_json(svc.post_start);
}

void parse_pre_stop(ConvertContext& c, const Node& value, const std::string& path, Service& svc) {
  parse_hooks(c, value, path, svc.pre_stop);
}
void pre_stop_to_json(const Service& svc, Json& out) {
  if (!svc.pre_stop.empty()) out["pre_stop"] = hooks_json(svc.pre_stop);
}

}  // namespace

const std::vector<ServiceField>& runtime_service_fields() {
  static const std::vector<ServiceField> kFields = {
      {"blkio_config", parse_blkio_config, blkio_config_to_json},
      {"command", parse_command, command_to_json},
      {"deploy", parse_deploy, deploy_to_json},
      {"develop", parse_develop, develop_to_json},
      {"entrypoint", parse_entrypoint, entrypoint_to_json},
      {"gpus", parse_gpus, gpus_to_json},
      {"post_start", parse_post_start, post_start_to_json},
      {"pre_stop", parse_pre_stop, pre_stop_to_json},
  };
  return kFields;
}

}  // namespace stack::compose
