// services.*.build: a context path, or the build mapping, with local contexts made absolute.
#include <functional>

#include "service_resources.h"

namespace stack::compose {
namespace {

const std::vector<std::string> kBuildKeys = {
    "context",     "dockerfile", "dockerfile_inline", "entitlements", "args",     "ssh",        "labels",
    "cache_from",  "cache_to",   "no_cache",          "additional_contexts",    "network",  "provenance",
    "sbom",        "pull",       "target",            "shm_size",     "extra_hosts", "isolation", "privileged",
    "secrets",     "tags",       "ulimits",           "platforms"};

// Remote contexts (git repositories, URLs, builder-specific references) are kept verbatim.
bool is_remote_context(const std::string& s) {
  if (s.find("://") != std::string::npos) return true;
  for (const char* prefix : {"github.com/", "git@", "service:", "target:"})
    if (s.rfind(prefix, 0) == 0) return true;
  return false;
}

std::string resolve_context(const ConvertContext& c, const std::string& s) {
  return is_remote_context(s) ? s : resolve_path(c, s);
}

// "id", "id=path" (list) or id: path (mapping) → "id[=path]".
std::optional<std::vector<std::string>> read_ssh(ConvertContext& c, const Node& n, const std::string& path) {
  if (n.is_scalar() && !scalar_is_null(n)) return read_string_list(c, n, path, true);
  auto m = read_list_or_dict(c, n, path);
  if (!m) return std::nullopt;
  std::vector<std::string> out;
  // List order is kept; a mapping comes out ordered by id.
  if (n.is_sequence()) {
    for (const auto& item : n.items) out.push_back(item.value);
    return out;
  }
  for (const auto& [id, p] : *m) out.push_back(p ? id + "=" + *p : id);
  return out;
}

// "host:ip", "host=ip" (list) or host: ip | [ip…] (mapping) → "host=ip", in file order.
std::optional<std::vector<std::string>> read_extra_hosts(ConvertContext& c, const Node& n, const std::string& path) {
  std::vector<std::string> out;
  bool ok = true;
  if (n.is_sequence()) {
    for (size_t i = 0; i < n.items.size(); ++i) {
      auto s = read_string(c, n.items[i], path_index(path, i));
      if (!s) {
        ok = false;
        continue;
      }
      auto pos = s->find('=');
      if (pos == std::string::npos) pos = s->find(':');
      if (pos == std::string::npos || pos == 0 || pos + 1 == s->size()) {
        c.error(n.items[i], path_index(path, i), "invalid extra host \"" + *s + "\" (expected HOST:IP or HOST=IP)");
        ok = false;
        continue;
      }
      out.push_back(s->substr(0, pos) + "=" + s->substr(pos + 1));
    }
  } else if (n.is_mapping()) {
    for (const auto& e : n.entries) {
      std::string p = path_join(path, e.key);
      if (e.value.is_sequence()) {
        auto ips = read_string_list(c, e.value, p);
        if (!ips) ok = false;
        else for (const auto& ip : *ips) out.push_back(e.key + "=" + ip);
      } else if (auto ip = read_string(c, e.value, p)) {
        out.push_back(e.key + "=" + *ip);
      } else {
        ok = false;
      }
    }
  } else {
    c.error(n, path, "must be a list of \"HOST:IP\" strings or a mapping, not a " + n.type_name());
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return out;
}

// provenance / sbom: a string, or a boolean written as "true"/"false".
std::optional<std::string> read_attestation(ConvertContext& c, const Node& n, const std::string& path) {
  if (auto b = scalar_bool(n)) return std::string(*b ? "true" : "false");
  return read_string(c, n, path);
}

// Reads the keys of the build mapping into b, in document order; false when any is invalid.
bool read_build_keys(ConvertContext& c, const Node& n, const std::string& path, Build& b) {
  using Reader = std::function<bool(const Node&, const std::string&)>;
  std::map<std::string, Reader> readers;
  auto set = [](auto& field, auto value) {
    if (value) field = std::move(*value);
    return value.has_value();
  };
  for (auto [key, field] : {std::pair{"context", &b.context}, {"dockerfile", &b.dockerfile},
                            {"dockerfile_inline", &b.dockerfile_inline}, {"network", &b.network},
                            {"target", &b.target}, {"isolation", &b.isolation}})
    readers[key] = [&, f = field](const Node& v, const std::string& p) { return set(*f, read_string(c, v, p)); };
  for (auto [key, field] : {std::pair{"entitlements", &b.entitlements}, {"cache_from", &b.cache_from},
                            {"cache_to", &b.cache_to}, {"tags", &b.tags}, {"platforms", &b.platforms}})
    readers[key] = [&, f = field](const Node& v, const std::string& p) { return set(*f, read_string_list(c, v, p)); };
  for (auto [key, field] : {std::pair{"no_cache", &b.no_cache}, {"pull", &b.pull}, {"privileged", &b.privileged}})
    readers[key] = [&, f = field](const Node& v, const std::string& p) { return set(*f, read_bool(c, v, p)); };
  for (auto [key, field] : {std::pair{"labels", &b.labels}, {"additional_contexts", &b.additional_contexts}})
    readers[key] = [&, f = field](const Node& v, const std::string& p) { return set(*f, read_mapping(c, v, p)); };
  for (auto [key, field] : {std::pair{"provenance", &b.provenance}, {"sbom", &b.sbom}})
    readers[key] = [&, f = field](const Node& v, const std::string& p) {
      auto s = read_attestation(c, v, p);
      if (s) *f = *s;
      return s.has_value();
    };
  readers["args"] = [&](const Node& v, const std::string& p) { return set(b.args, read_list_or_dict(c, v, p)); };
  readers["ssh"] = [&](const Node& v, const std::string& p) { return set(b.ssh, read_ssh(c, v, p)); };
  readers["shm_size"] = [&](const Node& v, const std::string& p) { return set(b.shm_size, read_bytes(c, v, p)); };
  readers["extra_hosts"] = [&](const Node& v, const std::string& p) {
    return set(b.extra_hosts, read_extra_hosts(c, v, p));
  };
  readers["secrets"] = [&](const Node& v, const std::string& p) {
    return set(b.secrets, read_file_references(c, v, p));
  };
  readers["ulimits"] = [&](const Node& v, const std::string& p) { return set(b.ulimits, read_ulimits(c, v, p)); };
  bool ok = true;
  for (const auto& e : n.entries) {
    auto it = readers.find(e.key);
    if (it != readers.end()) ok = it->second(e.value, path_join(path, e.key)) && ok;
  }
  return ok;
}

}  // namespace

void parse_build(ConvertContext& c, const Node& n, const std::string& path, Service& svc) {
  Build b;
  if (!n.is_mapping()) {
    if (!n.is_scalar() || scalar_is_null(n)) {
      c.error(n, path, "must be a context path or a mapping, not a " + n.type_name());
      return;
    }
    auto s = read_string(c, n, path);
    if (!s) return;
    b.context = resolve_context(c, *s);
    b.dockerfile = "Dockerfile";
    svc.build = std::move(b);
    return;
  }
  check_mapping(c, n, path, kBuildKeys);
  bool ok = read_build_keys(c, n, path, b);
  if (n.find("dockerfile") && n.find("dockerfile_inline")) {
    c.diags.error(n.find_entry("dockerfile_inline")->key_mark, path,
                  "dockerfile and dockerfile_inline are mutually exclusive");
    ok = false;
  }
  if (!ok) return;
  b.context = resolve_context(c, n.find("context") ? b.context : ".");
  if (b.dockerfile.empty() && b.dockerfile_inline.empty()) b.dockerfile = "Dockerfile";
  for (auto& [name, ctx] : b.additional_contexts) ctx = resolve_context(c, ctx);
  b.extensions = read_extensions(n);
  svc.build = std::move(b);
}

void build_to_json(const Service& svc, Json& out) {
  if (!svc.build) return;
  const Build& b = *svc.build;
  Json o = Json::object();
  auto str = [&](const char* key, const std::string& v) {
    if (!v.empty()) o[key] = v;
  };
  auto list = [&](const char* key, const std::vector<std::string>& v) {
    if (!v.empty()) o[key] = v;
  };
  str("context", b.context);
  str("dockerfile", b.dockerfile);
  str("dockerfile_inline", b.dockerfile_inline);
  list("entitlements", b.entitlements);
  if (!b.args.empty()) {
    Json args = Json::object();
    for (const auto& [k, v] : b.args) args[k] = v ? Json(*v) : Json(nullptr);
    o["args"] = args;
  }
  list("ssh", b.ssh);
  if (!b.labels.empty()) o["labels"] = b.labels;
  list("cache_from", b.cache_from);
  list("cache_to", b.cache_to);
  if (b.no_cache) o["no_cache"] = true;
  if (!b.additional_contexts.empty()) o["additional_contexts"] = b.additional_contexts;
  str("network", b.network);
  if (b.provenance) o["provenance"] = *b.provenance;
  if (b.sbom) o["sbom"] = *b.sbom;
  if (b.pull) o["pull"] = true;
  str("target", b.target);
  if (b.shm_size != 0) o["shm_size"] = std::to_string(b.shm_size);  // UnitBytes: digits as a string
  list("extra_hosts", b.extra_hosts);
  str("isolation", b.isolation);
  if (b.privileged) o["privileged"] = true;
  if (!b.secrets.empty()) {
    Json a = Json::array();
    for (const auto& r : b.secrets) a.push_back(file_reference_to_json(r));
    o["secrets"] = a;
  }
  list("tags", b.tags);
  if (!b.ulimits.empty()) o["ulimits"] = ulimits_to_json(b.ulimits);
  list("platforms", b.platforms);
  put_extensions(b.extensions, o);
  out["build"] = o;
}

}  // namespace stack::compose
