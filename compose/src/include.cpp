// `include`: each entry is loaded as a sub-project (by the loader) and its resources imported
// into the including document. Compose refuses a resource defined both by the including file and
// an included project unless both definitions are the same.
#include "include.h"

#include <nlohmann/json.hpp>

#include "convert_util.h"

namespace stack::compose {
namespace {

constexpr const char* kImportedSections[] = {"services", "networks", "volumes", "secrets", "configs"};

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string absolute(const std::string& dir, const std::string& p) {
  if (!p.empty() && p[0] == '/') return lexically_normal(p);
  return lexically_normal(dir + "/" + p);
}

// A string, or a list of strings, each made absolute against dir.
bool read_paths(const Node& n, const std::string& dir, const std::string& path, std::vector<std::string>& out,
                Diagnostics& diags) {
  auto one = [&](const Node& s, const std::string& p) {
    if (!s.is_scalar() || s.value.empty()) {
      std::string what = s.is_scalar() ? std::string("empty") : "a " + s.type_name();
      diags.error(s, p, "must be a non-empty string, not " + what);
      return false;
    }
    out.push_back(absolute(dir, s.value));
    return true;
  };
  if (!n.is_sequence()) return one(n, path);
  bool ok = true;
  for (size_t i = 0; i < n.items.size(); ++i) ok = one(n.items[i], path_index(path, i)) && ok;
  return ok;
}

bool read_request(const Node& item, const std::string& dir, const std::string& path, IncludeRequest& r,
                  Diagnostics& diags) {
  r.at = item.mark;
  if (item.is_scalar()) return read_paths(item, dir, path, r.paths, diags);
  if (!item.is_mapping()) {
    diags.error(item, path, "must be a path or a mapping with path, project_directory and env_file, not a " +
                                item.type_name());
    return false;
  }
  bool ok = true;
  for (const auto& e : item.entries) {
    std::string p = path_join(path, e.key);
    if (e.key == "path") {
      ok = read_paths(e.value, dir, p, r.paths, diags) && ok;
    } else if (e.key == "env_file") {
      ok = read_paths(e.value, dir, p, r.env_files, diags) && ok;
    } else if (e.key == "project_directory") {
      std::vector<std::string> one;
      if (e.value.is_sequence()) {
        diags.error(e.value, p, "must be a string, not a sequence");
        ok = false;
      } else if (read_paths(e.value, dir, p, one, diags)) {
        r.project_directory = one.front();
      } else {
        ok = false;
      }
    } else {
      diags.error(e.key_mark, path, "unknown key \"" + e.key + "\"");
      ok = false;
    }
  }
  if (!item.find("path")) {
    diags.error(item, path, "missing required key \"path\"");
    ok = false;
  }
  return ok;
}

// Definitions compare as data: key order and marks do not matter, and an empty definition
// ("front:") is the empty mapping.
nlohmann::json definition(const Node& n) {
  if (n.is_null()) return nlohmann::json::object();
  return nlohmann::json::parse(node_to_json(n).dump());
}

bool same_definition(const Node& a, const Node& b) { return definition(a) == definition(b); }

void import_resources(Node& doc, const Node& imported, Diagnostics& diags) {
  for (const char* section : kImportedSections) {
    const Node* from = imported.find(section);
    if (!from || !from->is_mapping() || from->entries.empty()) continue;
    Node* to = doc.find(section);
    if (!to || to->is_null()) to = &doc.set(section, Node::mapping(to ? to->mark : from->mark));
    // A malformed section is left for the conversion to report.
    if (!to->is_mapping()) continue;
    for (const auto& e : from->entries) {
      if (const MapEntry* existing = to->find_entry(e.key)) {
        if (!same_definition(existing->value, e.value)) {
          diags.error(existing->key_mark, path_join(section, e.key), "conflicts with imported resource");
        }
        continue;
      }
      to->entries.push_back(e);
    }
  }
}

}  // namespace

void resolve_includes(Node& doc, const std::string& file_path, const IncludeLoader& load, Diagnostics& diags) {
  const MapEntry* entry = doc.is_mapping() ? doc.find_entry("include") : nullptr;
  if (!entry) return;
  Node list = entry->value;
  doc.erase("include");
  if (list.is_null()) return;
  if (!list.is_sequence()) {
    diags.error(list, "include", "must be a list of files to include, not a " + list.type_name());
    return;
  }
  std::string dir = dir_of(file_path);
  for (size_t i = 0; i < list.items.size(); ++i) {
    IncludeRequest request;
    if (!read_request(list.items[i], dir, path_index("include", i), request, diags)) continue;
    if (auto imported = load(request)) import_resources(doc, *imported, diags);
  }
}

}  // namespace stack::compose
