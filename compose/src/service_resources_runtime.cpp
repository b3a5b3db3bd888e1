// services.*.healthcheck, services.*.logging and services.*.devices.
#include <limits>

#include "service_resources.h"

namespace stack::compose {
namespace {

std::optional<std::vector<std::string>> read_health_test(ConvertContext& c, const Node& n, const std::string& path) {
  if (n.is_scalar() && !scalar_is_null(n)) {
    auto s = read_string(c, n, path);
    if (!s) return std::nullopt;
    return std::vector<std::string>{"CMD-SHELL", *s};
  }
  auto l = read_string_list(c, n, path);
  if (!l) return std::nullopt;
  if (l->empty() || ((*l)[0] != "NONE" && (*l)[0] != "CMD" && (*l)[0] != "CMD-SHELL")) {
    c.error(n, path, "must start with \"NONE\", \"CMD\" or \"CMD-SHELL\"");
    return std::nullopt;
  }
  return l;
}

bool valid_permissions(const std::string& p) {
  return !p.empty() && p.size() <= 3 && p.find_first_not_of("rwm") == std::string::npos;
}

std::optional<DeviceMapping> read_device(ConvertContext& c, const Node& n, const std::string& path) {
  DeviceMapping d;
  const Node* perms_node = nullptr;
  std::string perms_path = path;
  if (n.is_mapping()) {
    check_mapping(c, n, path, {"source", "target", "permissions"});
    bool ok = true;
    for (auto [key, field] :
         {std::pair{"source", &d.source}, {"target", &d.target}, {"permissions", &d.permissions}}) {
      if (const Node* v = n.find(key)) {
        auto s = read_string(c, *v, path_join(path, key));
        if (s) *field = *s;
        else ok = false;
      }
    }
    if (!n.find("source")) {
      c.error(n, path, "missing required key \"source\"");
      ok = false;
    }
    if (!ok) return std::nullopt;
    perms_node = n.find("permissions");
    perms_path = path_join(path, "permissions");
    d.extensions = read_extensions(n);
  } else {
    auto s = read_string(c, n, path);
    if (!s) return std::nullopt;
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
      auto pos = s->find(':', start);
      parts.push_back(s->substr(start, pos == std::string::npos ? std::string::npos : pos - start));
      if (pos == std::string::npos) break;
      start = pos + 1;
    }
    if (parts.size() > 3 || parts[0].empty()) {
      c.error(n, path, "invalid device \"" + *s + "\" (expected HOST[:CONTAINER[:PERMISSIONS]])");
      return std::nullopt;
    }
    d.source = parts[0];
    if (parts.size() > 1) d.target = parts[1];
    if (parts.size() > 2) {
      d.permissions = parts[2];
      perms_node = &n;
    }
  }
  if (d.target.empty()) d.target = d.source;
  if (!perms_node) d.permissions = "rwm";
  if (!valid_permissions(d.permissions)) {
    c.error(*perms_node, perms_path,
            "invalid device permissions \"" + d.permissions + "\" (expected a combination of r, w and m)");
    return std::nullopt;
  }
  return d;
}

}  // namespace

void parse_healthcheck(ConvertContext& c, const Node& n, const std::string& path, Service& svc) {
  if (!check_mapping(c, n, path,
                     {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}))
    return;
  Healthcheck h;
  bool ok = true;
  if (const Node* v = n.find("test")) {
    h.test = read_health_test(c, *v, path_join(path, "test"));
    ok = h.test.has_value();
  }
  for (auto [key, field] : {std::pair{"interval", &h.interval}, {"timeout", &h.timeout},
                            {"start_period", &h.start_period}, {"start_interval", &h.start_interval}}) {
    if (const Node* v = n.find(key)) {
      *field = read_duration(c, *v, path_join(path, key));
      ok = field->has_value() && ok;
    }
  }
  if (const Node* v = n.find("retries")) {
    auto r = read_int_range(c, *v, path_join(path, "retries"), 0, std::numeric_limits<int64_t>::max());
    if (r) h.retries = static_cast<uint64_t>(*r);
    else ok = false;
  }
  if (const Node* v = n.find("disable")) {
    auto b = read_bool(c, *v, path_join(path, "disable"));
    if (b) h.disable = *b;
    else ok = false;
  }
  if (!ok) return;
  h.extensions = read_extensions(n);
  svc.healthcheck = std::move(h);
}

void healthcheck_to_json(const Service& svc, Json& out) {
  if (!svc.healthcheck) return;
  const Healthcheck& h = *svc.healthcheck;
  Json o = Json::object();
  if (h.test) o["test"] = *h.test;
  if (h.timeout) o["timeout"] = format_duration(*h.timeout);
  if (h.interval) o["interval"] = format_duration(*h.interval);
  if (h.retries) o["retries"] = *h.retries;
  if (h.start_period) o["start_period"] = format_duration(*h.start_period);
  if (h.start_interval) o["start_interval"] = format_duration(*h.start_interval);
  if (h.disable) o["disable"] = true;
  put_extensions(h.extensions, o);
  out["healthcheck"] = o;
}

void parse_logging(ConvertContext& c, const Node& n, const std::string& path, Service& svc) {
  if (!check_mapping(c, n, path, {"driver", "options"})) return;
  Logging l;
  bool ok = true;
  if (const Node* v = n.find("driver")) {
    auto s = read_string(c, *v, path_join(path, "driver"));
    if (s) l.driver = *s;
    else ok = false;
  }
  if (const Node* v = n.find("options")) {
    std::string p = path_join(path, "options");
    if (!v->is_mapping()) {
      c.error(*v, p, "must be a mapping, not a " + v->type_name());
      ok = false;
    } else {
      for (const auto& e : v->entries) {
        const Node& x = e.value;
        if (x.is_null() || (x.is_scalar() && scalar_is_null(x))) {
          l.options[e.key] = "";
        } else if (x.is_scalar() && !scalar_bool(x)) {
          l.options[e.key] = x.value;
        } else {
          c.error(x, path_join(p, e.key), "must be a string, number or null, not a " + x.type_name());
          ok = false;
        }
      }
    }
  }
  if (!ok) return;
  l.extensions = read_extensions(n);
  svc.logging = std::move(l);
}

void logging_to_json(const Service& svc, Json& out) {
  if (!svc.logging) return;
  Json o = Json::object();
  if (!svc.logging->driver.empty()) o["driver"] = svc.logging->driver;
  if (!svc.logging->options.empty()) o["options"] = svc.logging->options;
  put_extensions(svc.logging->extensions, o);
  out["logging"] = o;
}

void parse_devices(ConvertContext& c, const Node& n, const std::string& path, Service& svc) {
  auto devices = read_list<DeviceMapping>(
      c, n, path, [&](const Node& item, const std::string& p) { return read_device(c, item, p); });
  if (devices) svc.devices = std::move(*devices);
}

void devices_to_json(const Service& svc, Json& out) {
  if (svc.devices.empty()) return;
  Json a = Json::array();
  for (const auto& d : svc.devices) {
    Json o = Json::object();
    o["source"] = d.source;
    o["target"] = d.target;
    o["permissions"] = d.permissions;
    put_extensions(d.extensions, o);
    a.push_back(std::move(o));
  }
  out["devices"] = a;
}

}  // namespace stack::compose
