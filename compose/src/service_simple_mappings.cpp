// Mapping-valued service attributes: labels, annotations, sysctls, storage_opt, environment,
// extra_hosts, and the env_file / label_file paths (made absolute; reading the files into
// environment and labels is the normalisation pass's job).
#include "project_objects.h"
#include "service_simple.h"

namespace stack::compose::simple {
namespace {

template <FieldKey K, Mapping Service::*M>
ServiceField mapping_field() {
  return {K.text,
          [](ConvertContext& c, const Node& v, const std::string& path, Service& s) {
            if (auto m = read_mapping(c, v, path)) s.*M = std::move(*m);
          },
          [](const Service& s, Json& out) { put_mapping(out, K.text, s.*M); }};
}

void parse_storage_opt(ConvertContext& c, const Node& v, const std::string& path, Service& s) {
  if (auto m = read_string_map(c, v, path)) s.storage_opt = std::move(*m);
}
void storage_opt_to_json(const Service& s, Json& out) { put_mapping(out, "storage_opt", s.storage_opt); }

void parse_environment(ConvertContext& c, const Node& v, const std::string& path, Service& s) {
  if (auto m = read_list_or_dict(c, v, path)) s.environment = std::move(*m);
}
void environment_to_json(const Service& s, Json& out) {
  if (s.environment.empty()) return;
  Json o = Json::object();
  for (const auto& [k, v] : s.environment) o[k] = v ? Json(*v) : Json(nullptr);
  out["environment"] = std::move(o);
}

// One host=ip entry; "[::1]" is accepted for IPv6 and stored without brackets. host-gateway
// is Docker's name for the host's address.
bool add_host(ConvertContext& c, const Node& at, const std::string& path, const std::string& host, std::string ip,
              std::vector<std::string>& out) {
  if (host.empty() || host.find_first_of(":=") != std::string::npos) {
    c.error(at, path, "invalid host name \"" + host + "\"");
    return false;
  }
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (ip != "host-gateway" && !parse_ip(ip)) {
    c.error(at, path, "invalid IP address \"" + ip + "\" for host \"" + host + "\"");
    return false;
  }
  out.push_back(host + "=" + ip);
  return true;
}

// "host=ip" or "host:ip" (the first '=' wins, so IPv6 can follow a '='); several IPs may be
// separated by commas.
bool add_host_entry(ConvertContext& c, const Node& item, const std::string& path, std::vector<std::string>& out) {
  auto text = read_string(c, item, path);
  if (!text) return false;
  auto sep = text->find('=');
  if (sep == std::string::npos) sep = text->find(':');
  if (sep == std::string::npos) {
    c.error(item, path, "invalid extra host \"" + *text + "\" (expected HOST=IP or HOST:IP)");
    return false;
  }
  std::string host = text->substr(0, sep);
  std::string ips = text->substr(sep + 1);
  bool ok = true;
  size_t start = 0;
  for (;;) {
    auto comma = ips.find(',', start);
    ok = add_host(c, item, path, host, ips.substr(start, comma - start), out) && ok;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return ok;
}

void parse_extra_hosts(ConvertContext& c, const Node& v, const std::string& path, Service& s) {
  std::vector<std::string> out;
  bool ok = true;
  if (v.is_sequence()) {
    for (size_t i = 0; i < v.items.size(); ++i) ok = add_host_entry(c, v.items[i], path_index(path, i), out) && ok;
  } else if (v.is_mapping()) {
    for (const auto& e : v.entries) {
      std::string p = path_join(path, e.key);
      if (e.value.is_sequence()) {
        auto ips = read_string_list(c, e.value, p);
        if (!ips) ok = false;
        for (size_t i = 0; ips && i < ips->size(); ++i)
          ok = add_host(c, e.value.items[i], path_index(p, i), e.key, (*ips)[i], out) && ok;
      } else if (auto ip = read_string(c, e.value, p)) {
        ok = add_host(c, e.value, p, e.key, *ip, out) && ok;
      } else {
        ok = false;
      }
    }
  } else {
    c.error(v, path, "must be a mapping or a list of \"HOST=IP\" strings, not a " + v.type_name());
    return;
  }
  if (ok) s.extra_hosts = std::move(out);
}
void extra_hosts_to_json(const Service& s, Json& out) { put_list(out, "extra_hosts", s.extra_hosts); }

std::optional<EnvFile> read_env_file_item(ConvertContext& c, const Node& item, const std::string& path) {
  if (!item.is_mapping()) {
    auto p = read_string(c, item, path);
    if (!p) return std::nullopt;
    return EnvFile{resolve_path(c, *p), true, ""};
  }
  check_mapping(c, item, path, {"path", "required", "format"});
  EnvFile f;
  bool ok = true;
  if (const Node* p = item.find("path")) {
    auto s = read_string(c, *p, path_join(path, "path"));
    if (s) f.path = resolve_path(c, *s);
    ok = s.has_value();
  } else {
    c.error(item, path, "missing required key \"path\"");
    ok = false;
  }
  if (const Node* r = item.find("required")) {
    auto b = read_bool(c, *r, path_join(path, "required"));
    if (b) f.required = *b;
    ok = ok && b.has_value();
  }
  // "raw" is the one alternative format Compose knows: values taken literally.
  if (const Node* fmt = item.find("format")) {
    auto s = read_enum(c, *fmt, path_join(path, "format"), {"raw"});
    if (s) f.format = *s;
    ok = ok && s.has_value();
  }
  if (!ok) return std::nullopt;
  return f;
}

void parse_env_file(ConvertContext& c, const Node& v, const std::string& path, Service& s) {
  if (v.is_mapping() || (!v.is_sequence() && !v.is_scalar())) {
    c.error(v, path, "must be a string or a list, not a " + v.type_name());
    return;
  }
  std::vector<EnvFile> files;
  bool ok = true;
  if (v.is_scalar()) {
    auto f = read_env_file_item(c, v, path);
    if (f) files.push_back(*f);
    ok = f.has_value();
  }
  for (size_t i = 0; i < v.items.size(); ++i) {
    auto f = read_env_file_item(c, v.items[i], path_index(path, i));
    if (f) files.push_back(*f);
    ok = ok && f.has_value();
  }
  if (ok) s.env_file = std::move(files);
}

void env_file_to_json(const Service& s, Json& out) {
  if (s.env_file.empty()) return;
  Json a = Json::array();
  for (const auto& f : s.env_file) {
    Json o = {{"path", f.path}, {"required", f.required}};
    if (!f.format.empty()) o["format"] = f.format;
    a.push_back(std::move(o));
  }
  out["env_file"] = std::move(a);
}

void parse_label_file(ConvertContext& c, const Node& v, const std::string& path, Service& s) {
  auto paths = read_string_list(c, v, path, true);
  if (!paths) return;
  s.label_file.clear();
  for (const auto& p : *paths) s.label_file.push_back(resolve_path(c, p));
}
void label_file_to_json(const Service& s, Json& out) { put_list(out, "label_file", s.label_file); }

}  // namespace

const std::vector<ServiceField>& mapping_fields() {
  static const std::vector<ServiceField> fields = {
      mapping_field<"annotations", &Service::annotations>(),
      {"env_file", parse_env_file, env_file_to_json},
      {"environment", parse_environment, environment_to_json},
      {"extra_hosts", parse_extra_hosts, extra_hosts_to_json},
      {"label_file", parse_label_file, label_file_to_json},
      mapping_field<"labels", &Service::labels>(),
      {"storage_opt", parse_storage_opt, storage_opt_to_json},
      mapping_field<"sysctls", &Service::sysctls>(),
  };
  return fields;
}

}  // namespace stack::compose::simple
