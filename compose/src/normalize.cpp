#include "normalize.h"

#include <algorithm>
#include <set>

#include "dotenv.h"

namespace stack::compose {
namespace {

std::vector<std::string> split_list(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    std::string item = s.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

Mark service_mark(const NormalizeContext& c, const std::string& svc, std::vector<std::string> rest = {}) {
  std::vector<std::string> path{"services", svc};
  path.insert(path.end(), rest.begin(), rest.end());
  return mark_at(c.merged, path);
}

bool is_enabled(const Service& s, const std::set<std::string>& active, const std::set<std::string>& targeted) {
  if (s.profiles.empty() || targeted.count(s.name) || active.count("*")) return true;
  for (const auto& pr : s.profiles)
    if (active.count(pr)) return true;
  return false;
}

void apply_profiles(Project& p, const NormalizeContext& c) {
  auto list = active_profiles(c.in);
  std::set<std::string> active(list.begin(), list.end());
  // Services named on the command line are enabled with everything they depend on.
  std::set<std::string> targeted;
  std::vector<std::string> todo = c.in.options.services;
  while (!todo.empty()) {
    std::string n = todo.back();
    todo.pop_back();
    if (!targeted.insert(n).second) continue;
    if (const Service* s = p.find_service(n))
      for (const auto& [dep, _] : s->depends_on) todo.push_back(dep);
  }
  std::vector<Service> enabled;
  for (auto& s : p.services) {
    if (is_enabled(s, active, targeted)) enabled.push_back(std::move(s));
    else p.disabled_services.push_back(std::move(s));
  }
  p.services = std::move(enabled);
}

void check_service_refs(Project& p, const NormalizeContext& c) {
  std::set<std::string> disabled;
  for (const auto& s : p.disabled_services) disabled.insert(s.name);
  auto service_exists = [&](const std::string& n) { return p.find_service(n) != nullptr; };
  for (auto& s : p.services) {
    for (auto it = s.depends_on.begin(); it != s.depends_on.end();) {
      const std::string& dep = it->first;
      if (service_exists(dep)) {
        ++it;
        continue;
      }
      if (!it->second.required) {  // an optional dependency on a missing service is dropped
        it = s.depends_on.erase(it);
        continue;
      }
      std::string why = disabled.count(dep) ? "depends on service \"" + dep + "\", which is disabled by profiles"
                                            : "depends on undefined service \"" + dep + "\"";
      c.diags.error(service_mark(c, s.name, {"depends_on", dep}), "services." + s.name + ".depends_on", why);
      ++it;
    }
    auto check_mode = [&](const std::string& value, const std::string& key) {
      if (value.rfind("service:", 0) != 0) return;
      std::string target = value.substr(8);
      if (!service_exists(target))
        c.diags.error(service_mark(c, s.name, {key}), "services." + s.name + "." + key,
                      "refers to undefined service \"" + target + "\"");
    };
    check_mode(s.network_mode, "network_mode");
    check_mode(s.ipc, "ipc");
    check_mode(s.pid, "pid");
    for (size_t i = 0; i < s.links.size(); ++i) {
      std::string target = s.links[i].substr(0, s.links[i].find(':'));
      if (!service_exists(target))
        c.diags.error(service_mark(c, s.name, {"links", "#" + std::to_string(i)}),
                      path_index("services." + s.name + ".links", i), "undefined service \"" + target + "\"");
    }
    for (size_t i = 0; i < s.volumes_from.size(); ++i) {
      const std::string& v = s.volumes_from[i];
      if (v.rfind("container:", 0) == 0) continue;
      std::string target = v.substr(0, v.find(':'));
      if (!service_exists(target))
        c.diags.error(service_mark(c, s.name, {"volumes_from", "#" + std::to_string(i)}),
                      path_index("services." + s.name + ".volumes_from", i), "undefined service \"" + target + "\"");
    }
  }
}

void add_default_network(Project& p) {
  bool used = false;
  for (auto& s : p.services) {
    if (s.network_mode.empty() && s.networks.empty()) s.networks["default"] = std::nullopt;
    used = used || s.networks.count("default") != 0;
  }
  if (used && !p.networks.count("default")) {
    Network n;
    n.key = "default";
    n.name = p.name + "_default";
    p.networks["default"] = n;
  }
}

void check_object_refs(Project& p, const NormalizeContext& c) {
  for (const auto& s : p.services) {
    std::string base = "services." + s.name;
    for (const auto& [net, _] : s.networks) {
      if (!p.networks.count(net))
        c.diags.error(service_mark(c, s.name, {"networks", net}), base + ".networks",
                      "undefined network \"" + net + "\"");
    }
    for (size_t i = 0; i < s.volumes.size(); ++i) {
      const auto& v = s.volumes[i];
      if (v.type != "volume" || v.source.empty() || p.volumes.count(v.source)) continue;
      c.diags.error(service_mark(c, s.name, {"volumes", "#" + std::to_string(i)}), path_index(base + ".volumes", i),
                    "undefined volume \"" + v.source + "\"");
    }
    auto check_files = [&](const std::vector<FileReference>& refs, const std::map<std::string, FileObject>& top,
                           const char* key, const char* what) {
      for (size_t i = 0; i < refs.size(); ++i) {
        if (top.count(refs[i].source)) continue;
        c.diags.error(service_mark(c, s.name, {key, "#" + std::to_string(i)}), path_index(base + "." + key, i),
                      std::string("undefined ") + what + " \"" + refs[i].source + "\"");
      }
    };
    check_files(s.secrets, p.secrets, "secrets", "secret");
    check_files(s.configs, p.configs, "configs", "config");
    if (s.build) check_files(s.build->secrets, p.secrets, "build", "secret");
    if (s.image.empty() && !s.build) {
      c.diags.error(service_mark(c, s.name), base, "has neither an image nor a build context specified");
    }
  }
}

std::optional<DotenvEntries> read_dotenv_file(const NormalizeContext& c, const std::string& path, bool raw,
                                              const Mark& at, const std::string& where) {
  auto text = c.fs.read(path);
  if (!text) {
    c.diags.error(at, where, "cannot read " + path + ": " + text.error().to_string());
    return std::nullopt;
  }
  Lookup lookup = [&](const std::string& k) -> std::optional<std::string> {
    auto it = c.in.env.find(k);
    if (it == c.in.env.end()) return std::nullopt;
    return it->second;
  };
  DotenvError err;
  auto entries = raw ? parse_dotenv_raw(*text, &err) : parse_dotenv(*text, lookup, &err);
  if (!entries) {
    Mark m = at;
    m.file = std::make_shared<const std::string>(path);
    m.line = err.line;
    m.column = 1;
    c.diags.error(m, "", err.message);
  }
  return entries;
}

void fold_environment(Service& s, const NormalizeContext& c) {
  std::string base = "services." + s.name;
  MappingWithEquals env;
  for (size_t i = 0; i < s.env_file.size(); ++i) {
    const EnvFile& f = s.env_file[i];
    Mark at = service_mark(c, s.name, {"env_file"});
    if (!c.fs.is_file(f.path)) {
      if (f.required) c.diags.error(at, base + ".env_file", "env file " + f.path + " not found");
      continue;
    }
    if (auto entries = read_dotenv_file(c, f.path, f.format == "raw", at, base + ".env_file"))
      for (auto& [k, v] : *entries) env[k] = v;
  }
  for (const auto& [k, v] : s.environment) {
    if (v) {
      env[k] = v;
    } else if (auto it = c.in.env.find(k); it != c.in.env.end()) {
      env[k] = it->second;
    } else if (!env.count(k)) {
      env[k] = std::nullopt;
    }
  }
  s.environment = std::move(env);
  s.env_file.clear();

  Mapping labels;
  for (const auto& path : s.label_file) {
    Mark at = service_mark(c, s.name, {"label_file"});
    if (auto entries = read_dotenv_file(c, path, false, at, base + ".label_file"))
      for (auto& [k, v] : *entries) labels[k] = v;
  }
  for (const auto& [k, v] : s.labels) labels[k] = v;
  s.labels = std::move(labels);
  s.label_file.clear();
}

// Compose keeps only the top-level objects that enabled services use.
void drop_unused(Project& p) {
  std::set<std::string> nets, vols, secrets, configs;
  for (const auto& s : p.services) {
    for (const auto& [n, _] : s.networks) nets.insert(n);
    for (const auto& v : s.volumes)
      if (v.type == "volume" && !v.source.empty()) vols.insert(v.source);
    for (const auto& r : s.secrets) secrets.insert(r.source);
    for (const auto& r : s.configs) configs.insert(r.source);
    if (s.build)
      for (const auto& r : s.build->secrets) secrets.insert(r.source);
  }
  std::erase_if(p.networks, [&](const auto& kv) { return !nets.count(kv.first); });
  std::erase_if(p.volumes, [&](const auto& kv) { return !vols.count(kv.first); });
  std::erase_if(p.secrets, [&](const auto& kv) { return !secrets.count(kv.first); });
  std::erase_if(p.configs, [&](const auto& kv) { return !configs.count(kv.first); });
}

}  // namespace

std::vector<std::string> active_profiles(const ProjectInputs& in) {
  std::vector<std::string> out = in.options.profiles;
  if (auto it = in.env.find("COMPOSE_PROFILES"); it != in.env.end()) {
    for (auto& pr : split_list(it->second, ',')) out.push_back(pr);
  }
  return out;
}

void normalize_project(Project& p, const NormalizeContext& c) {
  apply_profiles(p, c);
  check_service_refs(p, c);
  add_default_network(p);
  check_object_refs(p, c);
  if (c.in.options.resolve_environment) {
    for (auto& s : p.services) fold_environment(s, c);
  }
  drop_unused(p);
}

}  // namespace stack::compose
