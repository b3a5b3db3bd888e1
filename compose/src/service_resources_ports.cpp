// services.*.ports: the short syntax "[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]"
// expanded as Docker's nat.ParsePortSpec does, and the long syntax.
#include <algorithm>

#include "service_resources.h"

namespace stack::compose {
namespace {

struct PortRange {
  uint32_t start = 0;
  uint32_t end = 0;
};

std::optional<uint32_t> parse_port_number(const std::string& s) {
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  uint32_t v = static_cast<uint32_t>(std::stoul(s));
  if (v < 1 || v > 65535) return std::nullopt;
  return v;
}

// "8080" or "8080-8090".
std::optional<PortRange> parse_port_range(const std::string& s) {
  auto dash = s.find('-');
  if (dash == std::string::npos) {
    auto p = parse_port_number(s);
    if (!p) return std::nullopt;
    return PortRange{*p, *p};
  }
  auto a = parse_port_number(s.substr(0, dash));
  auto b = parse_port_number(s.substr(dash + 1));
  if (!a || !b || *b < *a) return std::nullopt;
  return PortRange{*a, *b};
}

std::string shown(const Node& n) { return n.is_scalar() ? "\"" + n.value + "\"" : "(a " + n.type_name() + ")"; }

bool valid_protocol(const std::string& p) { return p == "tcp" || p == "udp" || p == "sctp"; }

// Splits "ip:host:container" where ip may be a bracketed IPv6 address.
bool split_port_spec(const std::string& spec, std::string& ip, std::string& host, std::string& container) {
  std::string rest = spec;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') return false;
    ip = rest.substr(1, close - 1);
    rest = rest.substr(close + 2);
    auto colon = rest.find(':');
    if (colon == std::string::npos) return false;
    host = rest.substr(0, colon);
    container = rest.substr(colon + 1);
    return container.find(':') == std::string::npos;
  }
  auto last = rest.rfind(':');
  if (last == std::string::npos) {
    container = rest;
    return true;
  }
  container = rest.substr(last + 1);
  std::string head = rest.substr(0, last);
  auto prev = head.rfind(':');
  if (prev == std::string::npos) {
    host = head;
    return true;
  }
  host = head.substr(prev + 1);
  ip = head.substr(0, prev);
  return true;
}

std::optional<std::vector<ServicePort>> parse_short_port(const std::string& spec) {
  std::string body = spec, protocol = "tcp";
  if (auto slash = spec.rfind('/'); slash != std::string::npos) {
    body = spec.substr(0, slash);
    protocol = spec.substr(slash + 1);
    if (!valid_protocol(protocol)) return std::nullopt;
  }
  std::string ip, host, container;
  if (!split_port_spec(body, ip, host, container)) return std::nullopt;
  if (!ip.empty() && !is_ip_address(ip)) return std::nullopt;
  auto c = parse_port_range(container);
  if (!c) return std::nullopt;
  std::optional<PortRange> h;
  if (!host.empty()) {
    h = parse_port_range(host);
    if (!h) return std::nullopt;
    uint32_t clen = c->end - c->start, hlen = h->end - h->start;
    // A single container port may take any port of a host range; otherwise lengths match.
    if (clen != hlen && clen != 0) return std::nullopt;
  }
  std::vector<ServicePort> out;
  for (uint32_t port = c->start; port <= c->end; ++port) {
    ServicePort p;
    p.mode = "ingress";
    p.host_ip = ip;
    p.target = port;
    p.protocol = protocol;
    if (h && c->start == c->end && h->start != h->end) {
      p.published = std::to_string(h->start) + "-" + std::to_string(h->end);
    } else if (h) {
      p.published = std::to_string(h->start + (port - c->start));
    }
    out.push_back(std::move(p));
  }
  // nat.ParsePortSpec yields a map keyed "port/proto"; compose-go lists it in key order.
  std::stable_sort(out.begin(), out.end(), [](const ServicePort& a, const ServicePort& b) {
    return std::to_string(a.target) < std::to_string(b.target);
  });
  return out;
}

std::optional<ServicePort> parse_long_port(ConvertContext& c, const Node& n, const std::string& path) {
  check_mapping(c, n, path, {"name", "mode", "host_ip", "target", "published", "protocol", "app_protocol"});
  ServicePort p;
  p.mode = "ingress";
  p.protocol = "tcp";
  bool ok = true;
  auto text = [&](const char* key, std::string& field) {
    if (const Node* v = n.find(key)) {
      if (auto s = read_string(c, *v, path_join(path, key))) field = *s;
      else ok = false;
    }
  };
  text("name", p.name);
  text("app_protocol", p.app_protocol);
  if (const Node* v = n.find("mode")) {
    if (auto s = read_enum(c, *v, path_join(path, "mode"), {"ingress", "host"})) p.mode = *s;
    else ok = false;
  }
  if (const Node* v = n.find("protocol")) {
    if (auto s = read_enum(c, *v, path_join(path, "protocol"), {"tcp", "udp", "sctp"})) p.protocol = *s;
    else ok = false;
  }
  if (const Node* v = n.find("host_ip")) {
    auto s = read_string(c, *v, path_join(path, "host_ip"));
    if (s && !is_ip_address(*s)) c.error(*v, path_join(path, "host_ip"), "invalid IP address \"" + *s + "\"");
    if (s && is_ip_address(*s)) p.host_ip = *s;
    else ok = false;
  }
  if (const Node* v = n.find("target")) {
    auto t = v->is_scalar() ? parse_port_number(v->value) : std::nullopt;
    if (t) p.target = *t;
    else {
      c.error(*v, path_join(path, "target"), "invalid port " + shown(*v) + " (expected 1-65535)");
      ok = false;
    }
  } else {
    c.error(n, path, "missing required key \"target\"");
    ok = false;
  }
  if (const Node* v = n.find("published")) {
    if (v->is_scalar() && !scalar_is_null(*v) && parse_port_range(v->value)) {
      p.published = v->value;
    } else if (!(v->is_scalar() && v->quoted && v->value.empty())) {
      c.error(*v, path_join(path, "published"), "invalid published port " + shown(*v));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  p.extensions = read_extensions(n);
  return p;
}

}  // namespace

void parse_ports(ConvertContext& c, const Node& n, const std::string& path, Service& svc) {
  if (!n.is_sequence()) {
    c.error(n, path, "must be a list, not a " + n.type_name());
    return;
  }
  std::vector<ServicePort> out;
  bool ok = true;
  for (size_t i = 0; i < n.items.size(); ++i) {
    const Node& item = n.items[i];
    std::string p = path_index(path, i);
    if (item.is_mapping()) {
      if (auto port = parse_long_port(c, item, p)) out.push_back(std::move(*port));
      else ok = false;
      continue;
    }
    auto ports = item.is_scalar() && !scalar_is_null(item) ? parse_short_port(item.value) : std::nullopt;
    if (!ports) {
      c.error(item, p,
              item.is_scalar() ? "invalid port " + shown(item)
                               : "must be a string, number or mapping, not a " + item.type_name());
      ok = false;
      continue;
    }
    for (auto& port : *ports) out.push_back(std::move(port));
  }
  if (ok) svc.ports = std::move(out);
}

void ports_to_json(const Service& svc, Json& out) {
  if (svc.ports.empty()) return;
  Json a = Json::array();
  for (const auto& p : svc.ports) {
    Json o = Json::object();
    if (!p.name.empty()) o["name"] = p.name;
    o["mode"] = p.mode;
    if (!p.host_ip.empty()) o["host_ip"] = p.host_ip;
    o["target"] = p.target;
    if (!p.published.empty()) o["published"] = p.published;
    o["protocol"] = p.protocol;
    if (!p.app_protocol.empty()) o["app_protocol"] = p.app_protocol;
    put_extensions(p.extensions, o);
    a.push_back(std::move(o));
  }
  out["ports"] = a;
}

}  // namespace stack::compose
