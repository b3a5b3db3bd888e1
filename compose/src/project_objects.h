// Shared pieces of the top-level object conversion (networks, volumes, secrets, configs) and
// the address parsing that networks and services' extra_hosts both need.
#pragma once

#include <array>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>

#include "convert.h"

namespace stack::compose {

// An IPv4 or IPv6 address in network byte order (IPv4 in the first 4 bytes).
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  int bits() const { return v6 ? 128 : 32; }
};
struct IpPrefix {
  IpAddress address;
  int length = 0;
  bool contains(const IpAddress& a) const;
  bool contains(const IpPrefix& p) const { return p.length >= length && contains(p.address); }
};
std::optional<IpAddress> parse_ip(const std::string& text);
std::optional<IpPrefix> parse_cidr(const std::string& text);  // "10.0.0.0/24", "fd00::/64"

// How each top-level section reads an entry's `external` and `name`.
struct ObjectIdentity {
  bool external = false;
  std::string explicit_name;  // from name:, or the legacy external: {name: x}
};

// Reads `external` (a boolean, or the legacy mapping {name: x}) and `name` of one entry;
// reports a conflict between name: and external.name.
ObjectIdentity read_identity(ConvertContext& c, const Node& entry, const std::string& path);
// The real name: name: wins; an external object is named by its key; otherwise
// "<project>_<key>".
std::string object_name(const Project& p, const std::string& key, const ObjectIdentity& id);
// external: true allows only name and x-* beside it (networks and volumes).
void check_external_alone(ConvertContext& c, const Node& entry, const std::string& path);

// Calls f(entry, path) for each entry of a top-level section ("networks" …), after
// checking the section is a mapping and the key is a valid name; x-* keys are skipped.
template <class F>
void for_each_object(ConvertContext& c, const Node& section, const std::string& name, F&& f) {
  if (section.is_null()) return;
  if (!section.is_mapping()) {
    c.error(section, name, "must be a mapping, not a " + section.type_name());
    return;
  }
  for (const auto& e : section.entries) {
    if (e.key.rfind("x-", 0) == 0) continue;
    bool valid = !e.key.empty();
    for (char ch : e.key)
      valid = valid && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-');
    if (!valid) {
      c.diags.error(e.key_mark, name, "invalid name \"" + e.key + "\" (must match [a-zA-Z0-9._-]+)");
      continue;
    }
    f(e, path_join(name, e.key));
  }
}

// Optional JSON members.
void put_string(Json& out, const char* key, const std::string& v);
void put_map(Json& out, const char* key, const Mapping& m);
void put_extensions(Json& out, const Extensions& x);

}  // namespace stack::compose
