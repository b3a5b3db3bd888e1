// services.*.networks and services.*.depends_on: a list of names or a mapping of per-name
// options, both into the mapping form.
#include "service_resources.h"

namespace stack::compose {
namespace {

bool valid_reference_name(const std::string& s) {
  if (s.empty()) return false;
  for (char ch : s) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

// The names of a list form; false after reporting when an item is not a valid name.
bool read_name_list(ConvertContext& c, const Node& n, const std::string& path, std::vector<std::string>& out) {
  bool ok = true;
  for (size_t i = 0; i < n.items.size(); ++i) {
    auto s = read_string(c, n.items[i], path_index(path, i));
    if (!s) {
      ok = false;
    } else if (!valid_reference_name(*s)) {
      c.error(n.items[i], path_index(path, i), "invalid name \"" + *s + "\"");
      ok = false;
    } else {
      out.push_back(*s);
    }
  }
  return ok;
}

bool read_address(ConvertContext& c, const Node& n, const std::string& path, bool (*valid)(const std::string&),
                  const char* what, std::string& out) {
  auto s = read_string(c, n, path);
  if (!s) return false;
  if (!valid(*s)) {
    c.error(n, path, std::string("invalid ") + what + " address \"" + *s + "\"");
    return false;
  }
  out = *s;
  return true;
}

std::optional<ServiceNetwork> read_service_network(ConvertContext& c, const Node& n, const std::string& path) {
  check_mapping(c, n, path,
                {"aliases", "ipv4_address", "ipv6_address", "link_local_ips", "mac_address", "driver_opts",
                 "priority", "gw_priority", "interface_name"});
  ServiceNetwork net;
  bool ok = true;
  auto at = [&](const char* key) { return path_join(path, key); };
  if (const Node* v = n.find("aliases")) {
    auto l = read_string_list(c, *v, at("aliases"));
    if (l) net.aliases = *l;
    else ok = false;
  }
  if (const Node* v = n.find("ipv4_address"))
    ok = read_address(c, *v, at("ipv4_address"), is_ipv4_address, "IPv4", net.ipv4_address) && ok;
  if (const Node* v = n.find("ipv6_address"))
    ok = read_address(c, *v, at("ipv6_address"), is_ipv6_address, "IPv6", net.ipv6_address) && ok;
  if (const Node* v = n.find("link_local_ips")) {
    if (auto l = read_string_list(c, *v, at("link_local_ips"))) {
      for (size_t i = 0; i < l->size(); ++i) {
        std::string ip;
        if (read_address(c, v->items[i], path_index(at("link_local_ips"), i), is_ip_address, "IP", ip))
          net.link_local_ips.push_back(ip);
        else ok = false;
      }
    } else {
      ok = false;
    }
  }
  for (auto [key, field] : {std::pair{"mac_address", &net.mac_address}, {"interface_name", &net.interface_name}}) {
    if (const Node* v = n.find(key)) {
      auto s = read_string(c, *v, at(key));
      if (s) *field = *s;
      else ok = false;
    }
  }
  if (const Node* v = n.find("driver_opts")) {
    auto m = read_string_map(c, *v, at("driver_opts"));
    if (m) net.driver_opts = *m;
    else ok = false;
  }
  for (auto [key, field] : {std::pair{"priority", &net.priority}, {"gw_priority", &net.gw_priority}}) {
    if (const Node* v = n.find(key)) {
      auto i = read_int(c, *v, at(key));
      if (i) *field = *i;
      else ok = false;
    }
  }
  if (!ok) return std::nullopt;
  net.extensions = read_extensions(n);
  return net;
}

std::optional<DependsOn> read_dependency(ConvertContext& c, const Node& n, const std::string& path) {
  DependsOn d;
  d.condition = "service_started";
  if (n.is_null()) return d;
  if (!check_mapping(c, n, path, {"condition", "required", "restart"})) return std::nullopt;
  bool ok = true;
  if (const Node* v = n.find("condition")) {
    auto s = read_enum(c, *v, path_join(path, "condition"),
                       {"service_started", "service_healthy", "service_completed_successfully"});
    if (s) d.condition = *s;
    else ok = false;
  }
  for (auto [key, field] : {std::pair{"required", &d.required}, {"restart", &d.restart}}) {
    if (const Node* v = n.find(key)) {
      auto b = read_bool(c, *v, path_join(path, key));
      if (b) *field = *b;
      else ok = false;
    }
  }
  if (!ok) return std::nullopt;
  d.extensions = read_extensions(n);
  return d;
}

}  // namespace

void parse_service_networks(ConvertContext& c, const Node& n, const std::string& path, Service& svc) {
  std::map<std::string, std::optional<ServiceNetwork>> out;
  bool ok = true;
  if (n.is_sequence()) {
    std::vector<std::string> names;
    ok = read_name_list(c, n, path, names);
    for (const auto& name : names) out[name] = std::nullopt;
  } else if (n.is_mapping()) {
    for (const auto& e : n.entries) {
      std::string p = path_join(path, e.key);
      if (!valid_reference_name(e.key)) {
        c.diags.error(e.key_mark, path, "invalid network name \"" + e.key + "\"");
        ok = false;
      } else if (e.value.is_null() || (e.value.is_scalar() && scalar_is_null(e.value))) {
        out[e.key] = std::nullopt;
      } else if (auto net = read_service_network(c, e.value, p)) {
        out[e.key] = std::move(*net);
      } else {
        ok = false;
      }
    }
  } else {
    c.error(n, path, "must be a list of network names or a mapping, not a " + n.type_name());
    return;
  }
  if (ok) svc.networks = std::move(out);
}

void service_networks_to_json(const Service& svc, Json& out) {
  if (svc.networks.empty()) return;
  Json o = Json::object();
  for (const auto& [name, net] : svc.networks) {
    if (!net) {
      o[name] = nullptr;
      continue;
    }
    // compose-go's field order, which is alphabetical.
    Json j = Json::object();
    if (!net->aliases.empty()) j["aliases"] = net->aliases;
    if (!net->driver_opts.empty()) j["driver_opts"] = net->driver_opts;
    if (net->gw_priority != 0) j["gw_priority"] = net->gw_priority;
    if (!net->interface_name.empty()) j["interface_name"] = net->interface_name;
    if (!net->ipv4_address.empty()) j["ipv4_address"] = net->ipv4_address;
    if (!net->ipv6_address.empty()) j["ipv6_address"] = net->ipv6_address;
    if (!net->link_local_ips.empty()) j["link_local_ips"] = net->link_local_ips;
    if (!net->mac_address.empty()) j["mac_address"] = net->mac_address;
    if (net->priority != 0) j["priority"] = net->priority;
    put_extensions(net->extensions, j);
    o[name] = j;
  }
  out["networks"] = o;
}

void parse_depends_on(ConvertContext& c, const Node& n, const std::string& path, Service& svc) {
  std::map<std::string, DependsOn> out;
  bool ok = true;
  if (n.is_sequence()) {
    std::vector<std::string> names;
    ok = read_name_list(c, n, path, names);
    for (const auto& name : names) out[name] = DependsOn{"service_started", true, false, {}};
  } else if (n.is_mapping()) {
    for (const auto& e : n.entries) {
      if (!valid_reference_name(e.key)) {
        c.diags.error(e.key_mark, path, "invalid service name \"" + e.key + "\"");
        ok = false;
      } else if (auto d = read_dependency(c, e.value, path_join(path, e.key))) {
        out[e.key] = std::move(*d);
      } else {
        ok = false;
      }
    }
  } else {
    c.error(n, path, "must be a list of service names or a mapping, not a " + n.type_name());
    return;
  }
  if (ok) svc.depends_on = std::move(out);
}

void depends_on_to_json(const Service& svc, Json& out) {
  if (svc.depends_on.empty()) return;
  Json o = Json::object();
  for (const auto& [name, d] : svc.depends_on) {
    Json j = Json::object();
    j["condition"] = d.condition;
    if (d.restart) j["restart"] = true;
    j["required"] = d.required;
    put_extensions(d.extensions, j);
    o[name] = j;
  }
  out["depends_on"] = o;
}

}  // namespace stack::compose
