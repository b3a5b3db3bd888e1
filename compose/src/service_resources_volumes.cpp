// services.*.volumes: the short syntax "[SOURCE:]TARGET[:MODE]" and the long syntax, both into
// the long form with bind sources made absolute.
#include "service_resources.h"

namespace stack::compose {
namespace {

const std::vector<std::string> kVolumeTypes = {"bind", "volume", "tmpfs", "npipe", "cluster", "image"};
const std::vector<std::string> kPropagations = {"shared", "slave", "private", "rshared", "rslave", "rprivate"};

bool contains(const std::vector<std::string>& list, const std::string& s) {
  for (const auto& x : list)
    if (x == s) return true;
  return false;
}

bool is_host_path(const std::string& s) { return !s.empty() && (s[0] == '/' || s[0] == '.' || s[0] == '~'); }

// Applies one MODE option of the short syntax; returns an error text or "".
std::string apply_mode(ServiceVolume& v, const std::string& opt) {
  bool bind = v.type == "bind";
  if (opt == "ro" || opt == "rw") {
    v.read_only = opt == "ro";
  } else if (opt == "z" || opt == "Z" || contains(kPropagations, opt)) {
    if (!bind) return "mode \"" + opt + "\" applies only to bind mounts";
    if (opt == "z" || opt == "Z") v.bind->selinux = opt;
    else v.bind->propagation = opt;
  } else if (opt == "nocopy") {
    if (bind) return "mode \"nocopy\" applies only to volumes";
    if (!v.volume) v.volume = ServiceVolumeVolume{};
    v.volume->nocopy = true;
  } else if (opt == "consistent" || opt == "cached" || opt == "delegated") {
    v.consistency = opt;
  } else {
    return "invalid mode \"" + opt + "\"";
  }
  return "";
}

std::optional<ServiceVolume> parse_short_volume(ConvertContext& c, const Node& n, const std::string& path) {
  auto spec = read_string(c, n, path);
  if (!spec) return std::nullopt;
  auto parts = split_string(*spec, ':');
  auto fail = [&](const std::string& why) {
    c.error(n, path, "invalid volume \"" + *spec + "\": " + why);
    return std::nullopt;
  };
  if (spec->empty()) return fail("empty volume");
  if (parts.size() > 3) return fail("too many colons");
  for (const auto& p : parts)
    if (p.empty()) return fail("empty section between colons");
  ServiceVolume v;
  if (parts.size() == 1) {  // anonymous volume; compose-go gives it empty volume options too
    v.type = "volume";
    v.target = parts[0];
    v.volume = ServiceVolumeVolume{};
  } else if (is_host_path(parts[0])) {
    v.type = "bind";
    v.source = resolve_path(c, parts[0]);
    v.target = parts[1];
    v.bind = ServiceVolumeBind{};
    v.bind->create_host_path = true;
  } else {
    v.type = "volume";
    v.source = parts[0];
    v.target = parts[1];
    v.volume = ServiceVolumeVolume{};
  }
  if (v.target[0] != '/') return fail("the container path \"" + v.target + "\" must be absolute");
  if (parts.size() == 3) {
    for (const auto& opt : split_string(parts[2], ',')) {
      std::string err = apply_mode(v, opt);
      if (!err.empty()) return fail(err);
    }
  }
  return v;
}

std::optional<ServiceVolumeBind> read_bind(ConvertContext& c, const Node& n, const std::string& path) {
  if (!check_mapping(c, n, path, {"propagation", "create_host_path", "selinux", "recursive"})) return std::nullopt;
  ServiceVolumeBind b;
  bool ok = true;
  auto take = [&](const char* key, auto reader) {
    if (const Node* v = n.find(key)) ok = reader(*v, path_join(path, key)) && ok;
  };
  take("propagation", [&](const Node& v, const std::string& p) {
    auto s = read_enum(c, v, p, kPropagations);
    if (s) b.propagation = *s;
    return s.has_value();
  });
  take("create_host_path", [&](const Node& v, const std::string& p) {
    b.create_host_path = read_bool(c, v, p);
    return b.create_host_path.has_value();
  });
  take("selinux", [&](const Node& v, const std::string& p) {
    auto s = read_enum(c, v, p, {"z", "Z"});
    if (s) b.selinux = *s;
    return s.has_value();
  });
  take("recursive", [&](const Node& v, const std::string& p) {
    auto s = read_enum(c, v, p, {"enabled", "disabled", "writable", "readonly"});
    if (s) b.recursive = *s;
    return s.has_value();
  });
  // Compose creates missing host paths unless told otherwise.
  if (!b.create_host_path) b.create_host_path = true;
  if (!ok) return std::nullopt;
  b.extensions = read_extensions(n);
  return b;
}

std::optional<ServiceVolumeVolume> read_volume_options(ConvertContext& c, const Node& n, const std::string& path) {
  if (!check_mapping(c, n, path, {"nocopy", "subpath", "labels"})) return std::nullopt;
  ServiceVolumeVolume o;
  bool ok = true;
  if (const Node* v = n.find("nocopy")) {
    auto b = read_bool(c, *v, path_join(path, "nocopy"));
    if (b) o.nocopy = *b;
    else ok = false;
  }
  if (const Node* v = n.find("subpath")) {
    auto s = read_string(c, *v, path_join(path, "subpath"));
    if (s) o.subpath = *s;
    else ok = false;
  }
  if (const Node* v = n.find("labels")) {
    auto m = read_mapping(c, *v, path_join(path, "labels"));
    if (m) o.labels = *m;
    else ok = false;
  }
  if (!ok) return std::nullopt;
  o.extensions = read_extensions(n);
  return o;
}

std::optional<ServiceVolumeTmpfs> read_tmpfs(ConvertContext& c, const Node& n, const std::string& path) {
  if (!check_mapping(c, n, path, {"size", "mode"})) return std::nullopt;
  ServiceVolumeTmpfs t;
  bool ok = true;
  if (const Node* v = n.find("size")) {
    auto b = read_bytes(c, *v, path_join(path, "size"));
    if (b) t.size = *b;
    else ok = false;
  }
  if (const Node* v = n.find("mode")) {
    auto m = parse_file_mode(*v);
    if (m) {
      t.mode = *m;
    } else {
      std::string shown = v->is_scalar() ? "\"" + v->value + "\"" : "(a " + v->type_name() + ")";
      c.error(*v, path_join(path, "mode"), "invalid file mode " + shown + " (expected an octal number such as 01777)");
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  t.extensions = read_extensions(n);
  return t;
}

std::optional<ServiceVolumeImage> read_image_options(ConvertContext& c, const Node& n, const std::string& path) {
  if (!check_mapping(c, n, path, {"subpath"})) return std::nullopt;
  ServiceVolumeImage o;
  if (const Node* v = n.find("subpath")) {
    auto s = read_string(c, *v, path_join(path, "subpath"));
    if (!s) return std::nullopt;
    o.subpath = *s;
  }
  o.extensions = read_extensions(n);
  return o;
}

// Reads the options block `key` when present; it must belong to the volume's type.
template <typename T, typename Reader>
bool read_block(ConvertContext& c, const Node& n, const std::string& path, const std::string& type, const char* key,
                std::optional<T>& field, Reader reader) {
  const MapEntry* e = n.find_entry(key);
  if (!e) return true;
  if (type != key) {
    c.diags.error(e->key_mark, path, std::string(key) + " options are incompatible with type " + type);
    return false;
  }
  field = reader(c, e->value, path_join(path, key));
  return field.has_value();
}

std::optional<ServiceVolume> parse_long_volume(ConvertContext& c, const Node& n, const std::string& path) {
  check_mapping(c, n, path,
                {"type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image"});
  ServiceVolume v;
  bool ok = true;
  if (const Node* t = n.find("type")) {
    auto s = read_enum(c, *t, path_join(path, "type"), kVolumeTypes);
    if (s) v.type = *s;
    else ok = false;
  } else {
    c.error(n, path, "missing required key \"type\"");
    ok = false;
  }
  for (auto [key, field] : {std::pair{"source", &v.source}, {"target", &v.target}, {"consistency", &v.consistency}}) {
    if (const Node* x = n.find(key)) {
      auto s = read_string(c, *x, path_join(path, key));
      if (s) *field = *s;
      else ok = false;
    }
  }
  if (const Node* x = n.find("read_only")) {
    auto b = read_bool(c, *x, path_join(path, "read_only"));
    if (b) v.read_only = *b;
    else ok = false;
  }
  const Node* target = n.find("target");
  if (!target) {
    c.error(n, path, "missing required key \"target\"");
    ok = false;
  } else if (!v.target.empty() && v.target[0] != '/' && v.type != "npipe") {
    c.error(*target, path_join(path, "target"), "container path \"" + v.target + "\" must be absolute");
    ok = false;
  }
  if (!v.type.empty()) {
    ok = read_block(c, n, path, v.type, "bind", v.bind, read_bind) && ok;
    ok = read_block(c, n, path, v.type, "volume", v.volume, read_volume_options) && ok;
    ok = read_block(c, n, path, v.type, "tmpfs", v.tmpfs, read_tmpfs) && ok;
    ok = read_block(c, n, path, v.type, "image", v.image, read_image_options) && ok;
  }
  if (!ok) return std::nullopt;
  if (v.type == "bind" && !v.source.empty()) v.source = resolve_path(c, v.source);
  v.extensions = read_extensions(n);
  return v;
}

Json volume_to_json(const ServiceVolume& v) {
  Json o = Json::object();
  o["type"] = v.type;
  if (!v.source.empty()) o["source"] = v.source;
  o["target"] = v.target;
  if (v.read_only) o["read_only"] = true;
  if (!v.consistency.empty()) o["consistency"] = v.consistency;
  if (v.bind) {
    Json b = Json::object();
    if (!v.bind->propagation.empty()) b["propagation"] = v.bind->propagation;
    if (v.bind->create_host_path) b["create_host_path"] = *v.bind->create_host_path;
    if (!v.bind->selinux.empty()) b["selinux"] = v.bind->selinux;
    if (!v.bind->recursive.empty()) b["recursive"] = v.bind->recursive;
    put_extensions(v.bind->extensions, b);
    o["bind"] = b;
  }
  if (v.volume) {
    Json b = Json::object();
    if (v.volume->nocopy) b["nocopy"] = true;
    if (!v.volume->subpath.empty()) b["subpath"] = v.volume->subpath;
    if (!v.volume->labels.empty()) b["labels"] = v.volume->labels;
    put_extensions(v.volume->extensions, b);
    o["volume"] = b;
  }
  if (v.tmpfs) {
    Json b = Json::object();
    // compose-go's UnitBytes marshals as a string of digits.
    if (v.tmpfs->size != 0) b["size"] = std::to_string(v.tmpfs->size);
    if (v.tmpfs->mode != 0) b["mode"] = v.tmpfs->mode;
    put_extensions(v.tmpfs->extensions, b);
    o["tmpfs"] = b;
  }
  if (v.image) {
    Json b = Json::object();
    if (!v.image->subpath.empty()) b["subpath"] = v.image->subpath;
    put_extensions(v.image->extensions, b);
    o["image"] = b;
  }
  put_extensions(v.extensions, o);
  return o;
}

}  // namespace

void parse_volumes(ConvertContext& c, const Node& n, const std::string& path, Service& svc) {
  auto volumes = read_list<ServiceVolume>(c, n, path, [&](const Node& item, const std::string& p) {
    return item.is_mapping() ? parse_long_volume(c, item, p) : parse_short_volume(c, item, p);
  });
  if (volumes) svc.volumes = std::move(*volumes);
}

void volumes_to_json(const Service& svc, Json& out) {
  if (svc.volumes.empty()) return;
  Json a = Json::array();
  for (const auto& v : svc.volumes) a.push_back(volume_to_json(v));
  out["volumes"] = a;
}

}  // namespace stack::compose
