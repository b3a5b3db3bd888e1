// Top-level volumes, secrets and configs.
#include <algorithm>

#include "project_objects.h"

namespace stack::compose {
namespace {

void read_volume(ConvertContext& c, const Node& v, const std::string& path, Volume& vol) {
  if (const Node* x = v.find("driver")) vol.driver = read_string(c, *x, path_join(path, "driver")).value_or("");
  if (const Node* x = v.find("driver_opts")) {
    if (auto m = read_string_map(c, *x, path_join(path, "driver_opts"))) vol.driver_opts = std::move(*m);
  }
  // A local volume with o=bind mounts a host directory: its device is a path on the host and,
  // as for bind mounts, relative to the project directory.
  if (auto o = vol.driver_opts.find("o"); o != vol.driver_opts.end() && o->second == "bind") {
    if (auto d = vol.driver_opts.find("device"); d != vol.driver_opts.end()) d->second = resolve_path(c, d->second);
  }
  if (const Node* x = v.find("labels")) {
    if (auto m = read_mapping(c, *x, path_join(path, "labels"))) vol.labels = std::move(*m);
  }
  vol.extensions = read_extensions(v);
}

// Secrets and configs take their content from exactly one source, unless they are external or
// a driver provides it.
std::string join_sources(const std::vector<std::string>& sources) {
  std::string names;
  for (const auto& s : sources) names += (names.empty() ? "" : "|") + s;
  return names;
}

void check_sources(ConvertContext& c, const Node& v, const std::string& path, const std::vector<std::string>& sources) {
  std::string names = join_sources(sources);
  bool found = false;
  for (const auto& e : v.entries) {
    if (std::find(sources.begin(), sources.end(), e.key) == sources.end()) continue;
    if (found) {
      c.diags.error(e.key_mark, path, names + " attributes are mutually exclusive");
      return;
    }
    found = true;
  }
  if (!found && !v.find("external") && !v.find("driver")) c.error(v, path, "one of " + names + " must be set");
}

// The attributes secrets and configs share (external and name are read by the caller).
void read_file_object(ConvertContext& c, const Node& v, const std::string& path, FileObject& f) {
  if (const Node* x = v.find("file")) {
    if (auto s = read_string(c, *x, path_join(path, "file"))) f.file = resolve_path(c, *s);
  }
  if (const Node* x = v.find("environment"))
    f.environment = read_string(c, *x, path_join(path, "environment")).value_or("");
  if (const Node* x = v.find("content")) f.content = read_string(c, *x, path_join(path, "content")).value_or("");
  if (const Node* x = v.find("labels")) {
    if (auto m = read_mapping(c, *x, path_join(path, "labels"))) f.labels = std::move(*m);
  }
  if (const Node* x = v.find("driver")) f.driver = read_string(c, *x, path_join(path, "driver")).value_or("");
  if (const Node* x = v.find("driver_opts")) {
    if (auto m = read_string_map(c, *x, path_join(path, "driver_opts"))) f.driver_opts = std::move(*m);
  }
  if (const Node* x = v.find("template_driver"))
    f.template_driver = read_string(c, *x, path_join(path, "template_driver")).value_or("");
  f.extensions = read_extensions(v);
}

void convert_file_objects(ConvertContext& c, const Node& node, Project& p, const std::string& section,
                          const std::vector<std::string>& keys, const std::vector<std::string>& sources,
                          std::map<std::string, FileObject>& out) {
  for_each_object(c, node, section, [&](const MapEntry& e, const std::string& path) {
    const std::string& key = e.key;
    const Node& v = e.value;
    FileObject f;
    f.key = key;
    ObjectIdentity id;
    if (scalar_is_null(v)) {
      c.diags.error(e.key_mark, path, "one of " + join_sources(sources) + " must be set");
    } else if (check_mapping(c, v, path, keys)) {
      id = read_identity(c, v, path);
      check_sources(c, v, path, sources);
      read_file_object(c, v, path, f);
    } else {
      return;
    }
    f.external = id.external;
    f.name = object_name(p, key, id);
    out[key] = std::move(f);
  });
}

Json file_objects_to_json(const std::map<std::string, FileObject>& objects) {
  Json out = Json::object();
  for (const auto& [key, f] : objects) {
    Json o = Json::object();
    o["name"] = f.name;
    put_string(o, "file", f.file);
    put_string(o, "environment", f.environment);
    put_string(o, "content", f.content);
    if (f.external) o["external"] = true;
    put_map(o, "labels", f.labels);
    put_string(o, "driver", f.driver);
    put_map(o, "driver_opts", f.driver_opts);
    put_string(o, "template_driver", f.template_driver);
    put_extensions(o, f.extensions);
    out[key] = std::move(o);
  }
  return out;
}

}  // namespace

void convert_volumes(ConvertContext& c, const Node& node, Project& p) {
  for_each_object(c, node, "volumes", [&](const MapEntry& e, const std::string& path) {
    const std::string& key = e.key;
    const Node& v = e.value;
    Volume vol;
    vol.key = key;
    ObjectIdentity id;
    if (!scalar_is_null(v)) {
      if (!check_mapping(c, v, path, {"name", "driver", "driver_opts", "external", "labels"})) return;
      id = read_identity(c, v, path);
      if (id.external) check_external_alone(c, v, path);
      read_volume(c, v, path, vol);
    }
    vol.external = id.external;
    vol.name = object_name(p, key, id);
    p.volumes[key] = std::move(vol);
  });
}

void convert_secrets(ConvertContext& c, const Node& node, Project& p) {
  convert_file_objects(
      c, node, p, "secrets",
      {"name", "environment", "file", "external", "labels", "driver", "driver_opts", "template_driver"},
      {"file", "environment"}, p.secrets);
}

void convert_configs(ConvertContext& c, const Node& node, Project& p) {
  convert_file_objects(c, node, p, "configs",
                       {"name", "content", "environment", "file", "external", "labels", "template_driver"},
                       {"file", "environment", "content"}, p.configs);
}

Json volumes_to_json(const Project& p) {
  Json out = Json::object();
  for (const auto& [key, v] : p.volumes) {
    Json o = Json::object();
    o["name"] = v.name;
    put_string(o, "driver", v.driver);
    put_map(o, "driver_opts", v.driver_opts);
    if (v.external) o["external"] = true;
    put_map(o, "labels", v.labels);
    put_extensions(o, v.extensions);
    out[key] = std::move(o);
  }
  return out;
}

Json secrets_to_json(const Project& p) { return file_objects_to_json(p.secrets); }
Json configs_to_json(const Project& p) { return file_objects_to_json(p.configs); }

}  // namespace stack::compose
