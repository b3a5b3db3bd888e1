// The "resources" service attribute table, plus the readers shared by several of them:
// secret/config references (also used by build.secrets), ulimits (also build.ulimits) and IP
// address checks.
#include "service_resources.h"

#include <arpa/inet.h>

namespace stack::compose {
namespace {

std::string octal_text(uint32_t v) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + (v & 7)));
    v >>= 3;
  } while (v != 0);
  return "0" + digits;
}

std::optional<Ulimit> read_ulimit(ConvertContext& c, const Node& n, const std::string& path) {
  Ulimit u;
  if (!n.is_mapping()) {
    if (!n.is_scalar() || scalar_is_null(n)) {
      c.error(n, path, "must be an integer or a mapping with soft and hard, not a " + n.type_name());
      return std::nullopt;
    }
    auto v = read_int(c, n, path);
    if (!v) return std::nullopt;
    u.single = *v;
    return u;
  }
  check_mapping(c, n, path, {"soft", "hard"});
  const Node* soft = n.find("soft");
  const Node* hard = n.find("hard");
  bool ok = true;
  for (const char* key : {"soft", "hard"}) {
    if (!n.find(key)) {
      c.error(n, path, std::string("missing required key \"") + key + "\"");
      ok = false;
    }
  }
  std::optional<int64_t> s = soft ? read_int(c, *soft, path_join(path, "soft")) : std::nullopt;
  std::optional<int64_t> h = hard ? read_int(c, *hard, path_join(path, "hard")) : std::nullopt;
  if (!ok || !s || !h) return std::nullopt;
  if (*h >= 0 && (*s > *h || *s < 0)) {
    c.error(*soft, path, "soft limit " + std::to_string(*s) + " is greater than hard limit " + std::to_string(*h));
    return std::nullopt;
  }
  u.soft = *s;
  u.hard = *h;
  u.extensions = read_extensions(n);
  return u;
}

void parse_ulimits(ConvertContext& c, const Node& n, const std::string& path, Service& svc) {
  if (auto u = read_ulimits(c, n, path)) svc.ulimits = std::move(*u);
}
void ulimits_field_to_json(const Service& svc, Json& out) {
  if (!svc.ulimits.empty()) out["ulimits"] = ulimits_to_json(svc.ulimits);
}

void parse_secrets(ConvertContext& c, const Node& n, const std::string& path, Service& svc) {
  if (auto r = read_file_references(c, n, path)) svc.secrets = std::move(*r);
}
void secrets_to_json(const Service& svc, Json& out) {
  if (svc.secrets.empty()) return;
  Json a = Json::array();
  for (const auto& r : svc.secrets) a.push_back(file_reference_to_json(r));
  out["secrets"] = a;
}

void parse_configs(ConvertContext& c, const Node& n, const std::string& path, Service& svc) {
  if (auto r = read_file_references(c, n, path)) svc.configs = std::move(*r);
}
void configs_to_json(const Service& svc, Json& out) {
  if (svc.configs.empty()) return;
  Json a = Json::array();
  for (const auto& r : svc.configs) a.push_back(file_reference_to_json(r));
  out["configs"] = a;
}

}  // namespace

// File modes are octal: an unquoted 0440 is octal as go-yaml reads it (Go's base-0 integer
// syntax), and a string is always octal ("0440", "440"), as compose-go's FileMode decodes it.
std::optional<uint32_t> parse_file_mode(const Node& n) {
  if (!n.is_scalar() || n.value.empty()) return std::nullopt;
  const std::string& t = n.value;
  bool is_octal = n.quoted || (t.size() > 1 && t[0] == '0' && t.find_first_not_of("01234567") == std::string::npos);
  if (!is_octal) {
    auto v = scalar_int(n);
    if (!v || *v < 0 || *v > 07777) return std::nullopt;
    return static_cast<uint32_t>(*v);
  }
  std::string digits = t;
  if (digits.rfind("0o", 0) == 0 || digits.rfind("0O", 0) == 0) digits = digits.substr(2);
  if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("01234567") != std::string::npos)
    return std::nullopt;
  uint32_t v = 0;
  for (char ch : digits) v = v * 8 + static_cast<uint32_t>(ch - '0');
  if (v > 07777) return std::nullopt;
  return v;
}

bool is_ipv4_address(const std::string& text) {
  in_addr a{};
  return inet_pton(AF_INET, text.c_str(), &a) == 1;
}

bool is_ipv6_address(const std::string& text) {
  in6_addr a{};
  return inet_pton(AF_INET6, text.c_str(), &a) == 1;
}

bool is_ip_address(const std::string& text) { return is_ipv4_address(text) || is_ipv6_address(text); }

void put_extensions(const Extensions& ext, Json& out) {
  for (const auto& [k, v] : ext) out[k] = v;
}

std::optional<FileReference> read_file_reference(ConvertContext& c, const Node& n, const std::string& path) {
  FileReference r;
  if (!n.is_mapping()) {
    if (!n.is_scalar() || scalar_is_null(n)) {
      c.error(n, path, "must be a name or a mapping, not a " + n.type_name());
      return std::nullopt;
    }
    auto s = read_string(c, n, path);
    if (!s) return std::nullopt;
    r.source = *s;
    return r;
  }
  check_mapping(c, n, path, {"source", "target", "uid", "gid", "mode"});
  bool ok = true;
  auto text = [&](const char* key, std::string& field, bool numbers_ok) {
    const Node* v = n.find(key);
    if (!v) return;
    auto s = numbers_ok ? read_scalar_text(c, *v, path_join(path, key)) : read_string(c, *v, path_join(path, key));
    if (s) field = *s;
    else ok = false;
  };
  text("source", r.source, false);
  text("target", r.target, false);
  text("uid", r.uid, true);
  text("gid", r.gid, true);
  if (!n.find("source")) {
    c.error(n, path, "missing required key \"source\"");
    ok = false;
  }
  if (const Node* m = n.find("mode")) {
    r.mode = parse_file_mode(*m);
    if (!r.mode) {
      c.error(*m, path_join(path, "mode"),
              "invalid file mode " + (m->is_scalar() ? "\"" + m->value + "\"" : "(a " + m->type_name() + ")") +
                  " (expected an octal number such as 0440)");
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  r.extensions = read_extensions(n);
  return r;
}

std::optional<std::vector<FileReference>> read_file_references(ConvertContext& c, const Node& n,
                                                               const std::string& path) {
  return read_list<FileReference>(
      c, n, path, [&](const Node& item, const std::string& p) { return read_file_reference(c, item, p); });
}

Json file_reference_to_json(const FileReference& r) {
  Json o = Json::object();
  o["source"] = r.source;
  if (!r.target.empty()) o["target"] = r.target;
  if (!r.uid.empty()) o["uid"] = r.uid;
  if (!r.gid.empty()) o["gid"] = r.gid;
  // compose-go writes modes as octal text ("0440").
  if (r.mode) o["mode"] = octal_text(*r.mode);
  put_extensions(r.extensions, o);
  return o;
}

std::optional<std::map<std::string, Ulimit>> read_ulimits(ConvertContext& c, const Node& n, const std::string& path) {
  if (!n.is_mapping()) {
    c.error(n, path, "must be a mapping, not a " + n.type_name());
    return std::nullopt;
  }
  std::map<std::string, Ulimit> out;
  bool ok = true;
  for (const auto& e : n.entries) {
    std::string p = path_join(path, e.key);
    bool name_ok = !e.key.empty() && e.key.find_first_not_of("abcdefghijklmnopqrstuvwxyz") == std::string::npos;
    if (!name_ok) {
      c.diags.error(e.key_mark, path, "invalid ulimit name \"" + e.key + "\" (expected lower-case letters)");
      ok = false;
      continue;
    }
    if (auto u = read_ulimit(c, e.value, p)) out[e.key] = std::move(*u);
    else ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

Json ulimits_to_json(const std::map<std::string, Ulimit>& u) {
  Json o = Json::object();
  for (const auto& [name, l] : u) {
    if (l.single != 0) {
      o[name] = l.single;
      continue;
    }
    Json v = Json::object();
    v["soft"] = l.soft;
    v["hard"] = l.hard;
    put_extensions(l.extensions, v);
    o[name] = v;
  }
  return o;
}

const std::vector<ServiceField>& resource_service_fields() {
  static const std::vector<ServiceField> fields = {
      {"build", parse_build, build_to_json},
      {"configs", parse_configs, configs_to_json},
      {"depends_on", parse_depends_on, depends_on_to_json},
      {"devices", parse_devices, devices_to_json},
      {"healthcheck", parse_healthcheck, healthcheck_to_json},
      {"logging", parse_logging, logging_to_json},
      {"networks", parse_service_networks, service_networks_to_json},
      {"ports", parse_ports, ports_to_json},
      {"secrets", parse_secrets, secrets_to_json},
      {"ulimits", parse_ulimits, ulimits_field_to_json},
      {"volumes", parse_volumes, volumes_to_json},
  };
  return fields;
}

}  // namespace stack::compose
