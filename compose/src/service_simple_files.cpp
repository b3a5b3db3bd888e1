// env_file and label_file: paths only, made absolute. Reading the files into environment and
// labels is the normalisation pass's job.
#include "service_simple.h"

namespace stack::compose::simple {
namespace {

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

const std::vector<ServiceField>& file_fields() {
  static const std::vector<ServiceField> fields = {
      {"env_file", parse_env_file, env_file_to_json},
      {"label_file", parse_label_file, label_file_to_json},
  };
  return fields;
}

}  // namespace stack::compose::simple
