// Top-level networks, with their IPAM configuration.
#include "project_objects.h"

namespace stack::compose {
namespace {

const std::vector<std::string> kNetworkKeys = {"name",     "driver",     "driver_opts", "ipam",        "external",
                                               "internal", "attachable", "enable_ipv4", "enable_ipv6", "labels"};

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

// subnet, ip_range and gateway of one pool: well-formed, and the latter two inside the subnet
// (the engine's default IPAM refuses them otherwise).
void read_pool_addresses(ConvertContext& c, const Node& item, const std::string& path, IpamPool& pool) {
  std::optional<IpPrefix> subnet;
  if (const Node* n = item.find("subnet")) {
    std::string p = path_join(path, "subnet");
    if (auto s = read_string(c, *n, p)) {
      subnet = parse_cidr(*s);
      if (subnet) {
        pool.subnet = *s;
      } else {
        c.error(*n, p, "invalid subnet " + in_quotes(*s) + " (expected CIDR notation, e.g. 172.28.0.0/16)");
      }
    }
  }
  if (const Node* n = item.find("ip_range")) {
    std::string p = path_join(path, "ip_range");
    auto s = read_string(c, *n, p);
    auto range = s ? parse_cidr(*s) : std::nullopt;
    if (s && !range) {
      c.error(*n, p, "invalid ip_range " + in_quotes(*s) + " (expected CIDR notation, e.g. 172.28.5.0/24)");
    } else if (range && subnet && !subnet->contains(*range)) {
      c.error(*n, p, "ip_range " + in_quotes(*s) + " is not within subnet " + in_quotes(pool.subnet));
    } else if (range) {
      pool.ip_range = *s;
    }
  }
  if (const Node* n = item.find("gateway")) {
    std::string p = path_join(path, "gateway");
    auto s = read_string(c, *n, p);
    auto ip = s ? parse_ip(*s) : std::nullopt;
    if (s && !ip) {
      c.error(*n, p, "invalid gateway address " + in_quotes(*s));
    } else if (ip && subnet && !subnet->contains(*ip)) {
      c.error(*n, p, "gateway " + in_quotes(*s) + " is not in subnet " + in_quotes(pool.subnet));
    } else if (ip) {
      pool.gateway = *s;
    }
  }
}

IpamPool read_pool(ConvertContext& c, const Node& item, const std::string& path) {
  IpamPool pool;
  if (!check_mapping(c, item, path, {"subnet", "ip_range", "gateway", "aux_addresses"})) return pool;
  read_pool_addresses(c, item, path, pool);
  if (const Node* n = item.find("aux_addresses")) {
    std::string p = path_join(path, "aux_addresses");
    if (auto m = read_string_map(c, *n, p)) {
      for (const auto& e : n->entries) {
        if (!parse_ip(e.value.value))
          c.error(e.value, path_join(p, e.key), "invalid IP address " + in_quotes(e.value.value));
      }
      pool.aux_addresses = std::move(*m);
    }
  }
  pool.extensions = read_extensions(item);
  return pool;
}

std::optional<Ipam> read_ipam(ConvertContext& c, const Node& v, const std::string& path) {
  if (scalar_is_null(v)) return std::nullopt;
  if (!check_mapping(c, v, path, {"driver", "config", "options"})) return std::nullopt;
  Ipam ipam;
  if (const Node* n = v.find("driver")) ipam.driver = read_string(c, *n, path_join(path, "driver")).value_or("");
  if (const Node* n = v.find("config")) {
    std::string p = path_join(path, "config");
    if (n->is_sequence()) {
      for (size_t i = 0; i < n->items.size(); ++i) ipam.config.push_back(read_pool(c, n->items[i], path_index(p, i)));
    } else if (!scalar_is_null(*n)) {
      c.error(*n, p, "must be a list of mappings, not a " + n->type_name());
    }
  }
  if (const Node* n = v.find("options")) {
    if (auto m = read_string_map(c, *n, path_join(path, "options"))) ipam.options = std::move(*m);
  }
  ipam.extensions = read_extensions(v);
  return ipam;
}

void read_network(ConvertContext& c, const Node& v, const std::string& path, Network& n) {
  if (const Node* x = v.find("driver")) n.driver = read_string(c, *x, path_join(path, "driver")).value_or("");
  if (const Node* x = v.find("driver_opts")) {
    if (auto m = read_string_map(c, *x, path_join(path, "driver_opts"))) n.driver_opts = std::move(*m);
  }
  if (const Node* x = v.find("ipam")) n.ipam = read_ipam(c, *x, path_join(path, "ipam"));
  if (const Node* x = v.find("internal")) n.internal = read_bool(c, *x, path_join(path, "internal")).value_or(false);
  if (const Node* x = v.find("attachable"))
    n.attachable = read_bool(c, *x, path_join(path, "attachable")).value_or(false);
  if (const Node* x = v.find("enable_ipv4")) n.enable_ipv4 = read_bool(c, *x, path_join(path, "enable_ipv4"));
  if (const Node* x = v.find("enable_ipv6")) n.enable_ipv6 = read_bool(c, *x, path_join(path, "enable_ipv6"));
  if (const Node* x = v.find("labels")) {
    if (auto m = read_mapping(c, *x, path_join(path, "labels"))) n.labels = std::move(*m);
  }
  n.extensions = read_extensions(v);
}

Json ipam_to_json(const Ipam& ipam) {
  Json out = Json::object();
  put_string(out, "driver", ipam.driver);
  if (!ipam.config.empty()) {
    Json pools = Json::array();
    for (const auto& pool : ipam.config) {
      Json o = Json::object();
      put_string(o, "subnet", pool.subnet);
      put_string(o, "ip_range", pool.ip_range);
      put_string(o, "gateway", pool.gateway);
      put_map(o, "aux_addresses", pool.aux_addresses);
      put_extensions(o, pool.extensions);
      pools.push_back(std::move(o));
    }
    out["config"] = std::move(pools);
  }
  put_map(out, "options", ipam.options);
  put_extensions(out, ipam.extensions);
  return out;
}

}  // namespace

void convert_networks(ConvertContext& c, const Node& node, Project& p) {
  for_each_object(c, node, "networks", [&](const MapEntry& e, const std::string& path) {
    const std::string& key = e.key;
    const Node& v = e.value;
    Network n;
    n.key = key;
    ObjectIdentity id;
    if (!scalar_is_null(v)) {
      if (!check_mapping(c, v, path, kNetworkKeys)) return;
      id = read_identity(c, v, path);
      if (id.external) check_external_alone(c, v, path);
      read_network(c, v, path, n);
    }
    n.external = id.external;
    n.name = object_name(p, key, id);
    p.networks[key] = std::move(n);
  });
}

Json networks_to_json(const Project& p) {
  Json out = Json::object();
  for (const auto& [key, n] : p.networks) {
    Json o = Json::object();
    o["name"] = n.name;
    put_string(o, "driver", n.driver);
    put_map(o, "driver_opts", n.driver_opts);
    if (n.ipam) o["ipam"] = ipam_to_json(*n.ipam);
    if (n.external) o["external"] = true;
    if (n.internal) o["internal"] = true;
    if (n.attachable) o["attachable"] = true;
    if (n.enable_ipv4) o["enable_ipv4"] = *n.enable_ipv4;
    if (n.enable_ipv6) o["enable_ipv6"] = *n.enable_ipv6;
    put_map(o, "labels", n.labels);
    put_extensions(o, n.extensions);
    out[key] = std::move(o);
  }
  return out;
}

}  // namespace stack::compose
