// Shared parts of the top-level objects: identity (external, name), naming, addresses and
// JSON helpers.
#include "project_objects.h"

#include <arpa/inet.h>

namespace stack::compose {

std::optional<IpAddress> parse_ip(const std::string& text) {
  IpAddress a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) return a;
  a.v6 = true;
  if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::optional<IpPrefix> parse_cidr(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto ip = parse_ip(text.substr(0, slash));
  std::string len = text.substr(slash + 1);
  if (!ip || len.empty() || len.size() > 3) return std::nullopt;
  int n = 0;
  for (char ch : len) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + (ch - '0');
  }
  if (n > ip->bits()) return std::nullopt;
  return IpPrefix{*ip, n};
}

bool IpPrefix::contains(const IpAddress& a) const {
  if (a.v6 != address.v6) return false;
  int full = length / 8;
  for (int i = 0; i < full; ++i)
    if (a.bytes[i] != address.bytes[i]) return false;
  int rest = length % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (address.bytes[full] & mask);
}

ObjectIdentity read_identity(ConvertContext& c, const Node& entry, const std::string& path) {
  ObjectIdentity id;
  if (!entry.is_mapping()) return id;
  const Node* name = entry.find("name");
  if (name) {
    if (auto s = read_string(c, *name, path_join(path, "name"))) id.explicit_name = *s;
  }
  const Node* ext = entry.find("external");
  if (!ext) return id;
  std::string ext_path = path_join(path, "external");
  if (!ext->is_mapping()) {
    if (auto b = read_bool(c, *ext, ext_path)) id.external = *b;
    return id;
  }
  // The legacy form external: {name: x}, which Compose still reads as external: true, name: x.
  id.external = true;
  check_mapping(c, *ext, ext_path, {"name"});
  if (const Node* n = ext->find("name")) {
    auto s = read_string(c, *n, path_join(ext_path, "name"));
    if (s && name) {
      c.error(*n, path_join(ext_path, "name"), "conflicts with " + path_join(path, "name") + "; use only name");
    } else if (s) {
      id.explicit_name = *s;
    }
  }
  return id;
}

std::string object_name(const Project& p, const std::string& key, const ObjectIdentity& id) {
  if (!id.explicit_name.empty()) return id.explicit_name;
  if (id.external) return key;
  return p.name + "_" + key;
}

void check_external_alone(ConvertContext& c, const Node& entry, const std::string& path) {
  for (const auto& e : entry.entries) {
    if (e.key == "name" || e.key == "external" || e.key.rfind("x-", 0) == 0) continue;
    c.diags.error(e.key_mark, path, "conflicting parameters \"external\" and \"" + e.key + "\" specified");
  }
}

void put_string(Json& out, const char* key, const std::string& v) {
  if (!v.empty()) out[key] = v;
}

void put_map(Json& out, const char* key, const Mapping& m) {
  if (m.empty()) return;
  Json o = Json::object();
  for (const auto& [k, v] : m) o[k] = v;
  out[key] = std::move(o);
}

void put_extensions(Json& out, const Extensions& x) {
  for (const auto& [k, v] : x) out[k] = v;
}

}  // namespace stack::compose
