// deploy and gpus. Compose prints deploy.resources and deploy.placement even when empty (Go's
// encoding/json never omits struct fields), so the canonical JSON does too.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "service_runtime.h"

namespace stack::compose::runtime {
namespace {

const char kSpreadPrefix[] = "spread=";

std::optional<uint64_t> read_uint(ConvertContext& c, const Node& n, const std::string& path) {
  auto v = read_int(c, n, path);
  if (!v) return std::nullopt;
  if (*v < 0) {
    c.error(n, path, "must be a non-negative integer, not " + std::to_string(*v));
    return std::nullopt;
  }
  return static_cast<uint64_t>(*v);
}

// Integral values print as integers, as Go prints float32 2 as "2".
Json number_json(double v) {
  if (v == std::floor(v) && std::fabs(v) < 9e15) return static_cast<int64_t>(v);
  return v;
}

std::optional<int64_t> read_device_count(ConvertContext& c, const Node& n, const std::string& path) {
  if (auto i = loose_int(n)) {
    if (*i >= -1) return i;
  } else if (n.is_scalar()) {
    std::string lower = n.value;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (lower == "all") return -1;
  }
  c.error(n, path, "invalid count " + (n.is_scalar() ? "\"" + n.value + "\"" : "(a " + n.type_name() + ")") +
                       " (expected a number or \"all\")");
  return std::nullopt;
}

std::optional<UpdateConfig> read_update_config(ConvertContext& c, const Node& n, const std::string& path) {
  static const std::vector<std::string> kKeys = {"parallelism",       "delay", "failure_action", "monitor",
                                                 "max_failure_ratio", "order"};
  ErrorWatch watch(c);
  if (!check_mapping(c, n, path, kKeys)) return std::nullopt;
  UpdateConfig u;
  if (const Node* v = n.find("parallelism")) u.parallelism = read_uint(c, *v, path_join(path, "parallelism"));
  if (const Node* v = n.find("delay")) u.delay = read_duration(c, *v, path_join(path, "delay"));
  if (const Node* v = n.find("failure_action"))
    u.failure_action =
        read_enum(c, *v, path_join(path, "failure_action"), {"continue", "rollback", "pause"}).value_or("");
  if (const Node* v = n.find("monitor")) u.monitor = read_duration(c, *v, path_join(path, "monitor"));
  if (const Node* v = n.find("max_failure_ratio"))
    u.max_failure_ratio = read_float(c, *v, path_join(path, "max_failure_ratio"));
  if (const Node* v = n.find("order"))
    u.order = read_enum(c, *v, path_join(path, "order"), {"start-first", "stop-first"}).value_or("");
  u.extensions = read_extensions(n);
  if (!watch.ok()) return std::nullopt;
  return u;
}

Json update_config_json(const UpdateConfig& u) {
  Json o = Json::object();
  if (u.parallelism) o["parallelism"] = *u.parallelism;
  if (u.delay) o["delay"] = format_duration(*u.delay);
  if (!u.failure_action.empty()) o["failure_action"] = u.failure_action;
  if (u.monitor) o["monitor"] = format_duration(*u.monitor);
  if (u.max_failure_ratio) o["max_failure_ratio"] = number_json(*u.max_failure_ratio);
  if (!u.order.empty()) o["order"] = u.order;
  return extensions_json(u.extensions, std::move(o));
}

std::vector<GenericResource> read_generic_resources(ConvertContext& c, const Node& n, const std::string& path) {
  auto read = [&](const Node& item, const std::string& p) -> std::optional<GenericResource> {
    if (!check_mapping(c, item, p, {"discrete_resource_spec"}) || !require_key(c, item, p, "discrete_resource_spec"))
      return std::nullopt;
    const Node& spec = *item.find("discrete_resource_spec");
    std::string sp = path_join(p, "discrete_resource_spec");
    if (!check_mapping(c, spec, sp, {"kind", "value"})) return std::nullopt;
    GenericResource g;
    if (const Node* v = spec.find("kind")) g.kind = read_string(c, *v, path_join(sp, "kind")).value_or("");
    if (const Node* v = spec.find("value")) g.value = read_int(c, *v, path_join(sp, "value")).value_or(0);
    return g;
  };
  return read_list<GenericResource>(c, n, path, read).value_or(std::vector<GenericResource>{});
}

std::vector<DeviceRequest> read_devices(ConvertContext& c, const Node& n, const std::string& path,
                                        bool capabilities_required) {
  std::vector<DeviceRequest> out;
  for (size_t i = 0; i < n.items.size(); ++i) {
    auto d = read_device_request(c, n.items[i], path_index(path, i), capabilities_required);
    if (d) out.push_back(std::move(*d));
  }
  return out;
}

std::optional<Resource> read_resource(ConvertContext& c, const Node& n, const std::string& path, bool reservation) {
  static const std::vector<std::string> kLimitKeys = {"cpus", "memory", "pids"};
  static const std::vector<std::string> kReservationKeys = {"cpus", "memory", "generic_resources", "devices"};
  ErrorWatch watch(c);
  if (!check_mapping(c, n, path, reservation ? kReservationKeys : kLimitKeys)) return std::nullopt;
  Resource r;
  if (const Node* v = n.find("cpus")) r.cpus = read_cpus(c, *v, path_join(path, "cpus"));
  if (const Node* v = n.find("memory")) r.memory = read_bytes(c, *v, path_join(path, "memory")).value_or(0);
  if (const Node* v = n.find("pids")) r.pids = read_int(c, *v, path_join(path, "pids"));
  if (const Node* v = n.find("devices")) {
    if (v->is_sequence()) r.devices = read_devices(c, *v, path_join(path, "devices"), true);
    else c.error(*v, path_join(path, "devices"), "must be a list of device requests, not a " + v->type_name());
  }
  if (const Node* v = n.find("generic_resources"))
    r.generic_resources = read_generic_resources(c, *v, path_join(path, "generic_resources"));
  r.extensions = read_extensions(n);
  if (!watch.ok()) return std::nullopt;
  return r;
}

Json resource_json(const Resource& r) {
  Json o = Json::object();
  if (r.cpus) o["cpus"] = number_json(*r.cpus);
  // Compose writes byte sizes as strings of digits.
  if (r.memory != 0) o["memory"] = std::to_string(r.memory);
  if (r.pids) o["pids"] = *r.pids;
  if (!r.devices.empty()) {
    Json a = Json::array();
    for (const auto& d : r.devices) a.push_back(device_request_json(d));
    o["devices"] = std::move(a);
  }
  if (!r.generic_resources.empty()) {
    Json a = Json::array();
    for (const auto& g : r.generic_resources)
      a.push_back(Json{{"discrete_resource_spec", Json{{"kind", g.kind}, {"value", g.value}}}});
    o["generic_resources"] = std::move(a);
  }
  return extensions_json(r.extensions, std::move(o));
}

void read_resources(ConvertContext& c, const Node& n, const std::string& path, Deploy& d) {
  if (!check_mapping(c, n, path, {"limits", "reservations"})) return;
  if (const Node* v = n.find("limits")) d.limits = read_resource(c, *v, path_join(path, "limits"), false);
  if (const Node* v = n.find("reservations"))
    d.reservations = read_resource(c, *v, path_join(path, "reservations"), true);
}

std::optional<RestartPolicy> read_restart_policy(ConvertContext& c, const Node& n, const std::string& path) {
  ErrorWatch watch(c);
  if (!check_mapping(c, n, path, {"condition", "delay", "max_attempts", "window"})) return std::nullopt;
  RestartPolicy r;
  if (const Node* v = n.find("condition"))
    r.condition = read_enum(c, *v, path_join(path, "condition"), {"none", "on-failure", "any"}).value_or("");
  if (const Node* v = n.find("delay")) r.delay = read_duration(c, *v, path_join(path, "delay"));
  if (const Node* v = n.find("max_attempts")) r.max_attempts = read_uint(c, *v, path_join(path, "max_attempts"));
  if (const Node* v = n.find("window")) r.window = read_duration(c, *v, path_join(path, "window"));
  r.extensions = read_extensions(n);
  if (!watch.ok()) return std::nullopt;
  return r;
}

Json restart_policy_json(const RestartPolicy& r) {
  Json o = Json::object();
  if (!r.condition.empty()) o["condition"] = r.condition;
  if (r.delay) o["delay"] = format_duration(*r.delay);
  if (r.max_attempts) o["max_attempts"] = *r.max_attempts;
  if (r.window) o["window"] = format_duration(*r.window);
  return extensions_json(r.extensions, std::move(o));
}

std::vector<std::string> read_preferences(ConvertContext& c, const Node& n, const std::string& path) {
  auto read = [&](const Node& item, const std::string& p) -> std::optional<std::string> {
    if (!check_mapping(c, item, p, {"spread"})) return std::nullopt;
    std::string spread;
    if (const Node* v = item.find("spread")) spread = read_string(c, *v, path_join(p, "spread")).value_or("");
    return kSpreadPrefix + spread;
  };
  return read_list<std::string>(c, n, path, read).value_or(std::vector<std::string>{});
}

std::optional<Placement> read_placement(ConvertContext& c, const Node& n, const std::string& path) {
  ErrorWatch watch(c);
  if (!check_mapping(c, n, path, {"constraints", "preferences", "max_replicas_per_node"})) return std::nullopt;
  Placement p;
  if (const Node* v = n.find("constraints"))
    p.constraints = read_string_list(c, *v, path_join(path, "constraints")).value_or(std::vector<std::string>{});
  if (const Node* v = n.find("preferences")) p.preferences = read_preferences(c, *v, path_join(path, "preferences"));
  if (const Node* v = n.find("max_replicas_per_node"))
    p.max_replicas_per_node = read_uint(c, *v, path_join(path, "max_replicas_per_node")).value_or(0);
  p.extensions = read_extensions(n);
  // An empty placement is the same as none: both print as {}.
  if (!watch.ok() || p == Placement{}) return std::nullopt;
  return p;
}

Json placement_json(const std::optional<Placement>& placement) {
  Json o = Json::object();
  if (!placement) return o;
  const Placement& p = *placement;
  if (!p.constraints.empty()) o["constraints"] = string_list_json(p.constraints);
  if (!p.preferences.empty()) {
    Json a = Json::array();
    for (const auto& pref : p.preferences) {
      std::string spread = pref.substr(std::min(pref.size(), sizeof(kSpreadPrefix) - 1));
      a.push_back(spread.empty() ? Json::object() : Json{{"spread", spread}});
    }
    o["preferences"] = std::move(a);
  }
  if (p.max_replicas_per_node != 0) o["max_replicas_per_node"] = p.max_replicas_per_node;
  return extensions_json(p.extensions, std::move(o));
}

void read_deploy_fields(ConvertContext& c, const Node& n, const std::string& path, Deploy& d) {
  auto at = [&](const char* key) { return path_join(path, key); };
  if (const Node* v = n.find("mode"))
    d.mode = read_enum(c, *v, at("mode"), {"replicated", "global", "replicated-job", "global-job"}).value_or("");
  if (const Node* v = n.find("replicas")) {
    if (auto r = read_uint(c, *v, at("replicas"))) d.replicas = static_cast<int64_t>(*r);
  }
  if (const Node* v = n.find("labels")) d.labels = read_mapping(c, *v, at("labels")).value_or(Mapping{});
  if (const Node* v = n.find("update_config")) d.update_config = read_update_config(c, *v, at("update_config"));
  if (const Node* v = n.find("rollback_config")) d.rollback_config = read_update_config(c, *v, at("rollback_config"));
  if (const Node* v = n.find("resources")) read_resources(c, *v, at("resources"), d);
  if (const Node* v = n.find("restart_policy")) d.restart_policy = read_restart_policy(c, *v, at("restart_policy"));
  if (const Node* v = n.find("placement")) d.placement = read_placement(c, *v, at("placement"));
  if (const Node* v = n.find("endpoint_mode"))
    d.endpoint_mode = read_enum(c, *v, at("endpoint_mode"), {"vip", "dnsrr"}).value_or("");
  d.extensions = read_extensions(n);
}

}  // namespace

std::optional<DeviceRequest> read_device_request(ConvertContext& c, const Node& n, const std::string& path,
                                                 bool capabilities_required) {
  static const std::vector<std::string> kKeys = {"capabilities", "count", "device_ids", "driver", "options"};
  ErrorWatch watch(c);
  if (!check_mapping(c, n, path, kKeys)) return std::nullopt;
  if (capabilities_required) require_key(c, n, path, "capabilities");
  DeviceRequest d;
  if (const Node* v = n.find("capabilities"))
    d.capabilities = read_string_list(c, *v, path_join(path, "capabilities")).value_or(std::vector<std::string>{});
  if (const Node* v = n.find("count")) d.count = read_device_count(c, *v, path_join(path, "count"));
  if (const Node* v = n.find("device_ids"))
    d.device_ids = read_string_list(c, *v, path_join(path, "device_ids")).value_or(std::vector<std::string>{});
  if (const Node* v = n.find("driver")) d.driver = read_string(c, *v, path_join(path, "driver")).value_or("");
  if (const Node* v = n.find("options"))
    d.options = read_mapping(c, *v, path_join(path, "options")).value_or(Mapping{});
  if (n.find("count") && n.find("device_ids")) c.error(n, path, "\"count\" and \"device_ids\" are mutually exclusive");
  d.extensions = read_extensions(n);
  if (!watch.ok()) return std::nullopt;
  return d;
}

Json device_request_json(const DeviceRequest& d) {
  Json o = Json::object();
  if (!d.capabilities.empty()) o["capabilities"] = string_list_json(d.capabilities);
  if (d.count) o["count"] = *d.count;
  if (!d.device_ids.empty()) o["device_ids"] = string_list_json(d.device_ids);
  if (!d.driver.empty()) o["driver"] = d.driver;
  if (!d.options.empty()) o["options"] = Json(d.options);
  return extensions_json(d.extensions, std::move(o));
}

void parse_deploy(ConvertContext& c, const Node& value, const std::string& path, Service& svc) {
  if (value.is_null() || (value.is_scalar() && !value.quoted && scalar_is_null(value))) return;
  ErrorWatch watch(c);
  if (!check_mapping(c, value, path,
                     {"mode", "endpoint_mode", "replicas", "labels", "rollback_config", "update_config", "resources",
                      "restart_policy", "placement"}))
    return;
  Deploy d;
  read_deploy_fields(c, value, path, d);
  if (watch.ok()) svc.deploy = std::move(d);
}

void deploy_to_json(const Service& svc, Json& out) {
  if (!svc.deploy) return;
  const Deploy& d = *svc.deploy;
  Json o = Json::object();
  if (!d.mode.empty()) o["mode"] = d.mode;
  if (d.replicas) o["replicas"] = *d.replicas;
  if (!d.labels.empty()) o["labels"] = Json(d.labels);
  if (d.update_config) o["update_config"] = update_config_json(*d.update_config);
  if (d.rollback_config) o["rollback_config"] = update_config_json(*d.rollback_config);
  Json resources = Json::object();
  if (d.limits) resources["limits"] = resource_json(*d.limits);
  if (d.reservations) resources["reservations"] = resource_json(*d.reservations);
  o["resources"] = std::move(resources);
  if (d.restart_policy) o["restart_policy"] = restart_policy_json(*d.restart_policy);
  o["placement"] = placement_json(d.placement);
  if (!d.endpoint_mode.empty()) o["endpoint_mode"] = d.endpoint_mode;
  out["deploy"] = extensions_json(d.extensions, std::move(o));
}

void parse_gpus(ConvertContext& c, const Node& value, const std::string& path, Service& svc) {
  if (value.is_scalar() && value.value == "all" && !scalar_is_null(value)) {
    DeviceRequest all;
    all.count = -1;
    svc.gpus = {all};
    return;
  }
  if (!value.is_sequence()) {
    std::string what =
        value.is_scalar() && !scalar_is_null(value) ? "\"" + value.value + "\"" : "a " + value.type_name();
    c.error(value, path, "must be \"all\" or a list of device requests, not " + what);
    return;
  }
  ErrorWatch watch(c);
  auto devices = read_devices(c, value, path, false);
  if (watch.ok()) svc.gpus = std::move(devices);
}

void gpus_to_json(const Service& svc, Json& out) {
  if (svc.gpus.empty()) return;
  Json a = Json::array();
  for (const auto& d : svc.gpus) a.push_back(device_request_json(d));
  out["gpus"] = std::move(a);
}

}  // namespace stack::compose::runtime
