#include "project.h"

#include <algorithm>

#include "convert.h"
#include "normalize.h"

namespace stack::compose {
namespace {

const std::vector<std::string> kTopLevelKeys = {"version", "name", "include", "services", "networks",
                                                "volumes", "secrets", "configs"};

std::string project_name(const Node& merged, const ProjectInputs& in, Diagnostics& diags) {
  auto check = [&](const std::string& n, const Mark& at, const std::string& what) {
    if (!is_valid_project_name(n)) {
      diags.error(at, "", "invalid project name \"" + n + "\" (from " + what +
                              "): it must contain only lower-case letters, digits, dashes and underscores, "
                              "and start with a letter or digit");
    }
    return n;
  };
  if (!in.options.project_name.empty()) return check(in.options.project_name, Mark{}, "-p");
  if (auto it = in.env.find("COMPOSE_PROJECT_NAME"); it != in.env.end() && !it->second.empty())
    return check(it->second, Mark{}, "COMPOSE_PROJECT_NAME");
  if (const Node* n = merged.find("name"); n && n->is_scalar() && !n->value.empty())
    return check(n->value, n->mark, "the name: attribute");
  std::string dir = in.project_dir;
  auto slash = dir.rfind('/');
  std::string base = slash == std::string::npos ? dir : dir.substr(slash + 1);
  std::string n = normalize_project_name(base);
  if (n.empty()) {
    diags.error(Mark{}, "", "cannot derive a project name from directory \"" + base + "\"; use -p or name:");
  }
  return n;
}

}  // namespace

Mark mark_at(const Node& root, const std::vector<std::string>& path) {
  const Node* cur = &root;
  Mark best = root.mark;
  for (const auto& key : path) {
    if (!key.empty() && key[0] == '#' && cur->is_sequence()) {
      size_t i = std::stoul(key.substr(1));
      if (i >= cur->items.size()) break;
      cur = &cur->items[i];
      best = cur->mark;
      continue;
    }
    const MapEntry* e = cur->find_entry(key);
    if (!e) break;
    best = e->key_mark;
    cur = &e->value;
  }
  return best;
}

Project build_project(const Node& merged, const ProjectInputs& in, const FileSource& fs, Diagnostics& diags) {
  Project p;
  p.working_dir = in.project_dir;
  p.config_files = in.files;
  ConvertContext c{diags, in.project_dir, in.env};
  for (const auto& e : merged.entries) {
    if (e.key.rfind("x-", 0) == 0) {
      p.extensions[e.key] = node_to_json(e.value);
    } else if (std::find(kTopLevelKeys.begin(), kTopLevelKeys.end(), e.key) == kTopLevelKeys.end()) {
      if (e.key == "models") diags.error(e.key_mark, "", "not supported yet: models");
      else diags.error(e.key_mark, "", "unknown top-level key \"" + e.key + "\"");
    }
  }
  if (const Node* n = merged.find("name"); n && !n->is_scalar()) c.error(*n, "name", "must be a string");
  p.name = project_name(merged, in, diags);

  if (const Node* s = merged.find("services")) {
    if (s->is_mapping()) {
      for (const auto& e : s->entries) {
        if (e.key.rfind("x-", 0) == 0) continue;
        p.services.push_back(convert_service(c, e.key, e.value, path_join("services", e.key)));
      }
    } else if (!s->is_null()) {
      c.error(*s, "services", "must be a mapping, not a " + s->type_name());
    }
  }
  if (const Node* n = merged.find("networks")) convert_networks(c, *n, p);
  if (const Node* n = merged.find("volumes")) convert_volumes(c, *n, p);
  if (const Node* n = merged.find("secrets")) convert_secrets(c, *n, p);
  if (const Node* n = merged.find("configs")) convert_configs(c, *n, p);
  std::sort(p.services.begin(), p.services.end(),
            [](const Service& a, const Service& b) { return a.name < b.name; });
  if (!diags.empty()) return p;
  NormalizeContext n{merged, in, fs, diags};
  normalize_project(p, n);
  return p;
}

}  // namespace stack::compose
