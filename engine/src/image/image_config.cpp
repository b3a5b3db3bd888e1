// nlohmann/json adapter for image documents: every exception from the library is caught here.
#include "stack/engine/image/image_config.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "image/media_types.h"

namespace stack::engine::image {
namespace {

using nlohmann::json;
namespace mt = media_types;

Error field_error(const std::string& field, const std::string& what) {
  return Error(EINVAL, field + ": " + what);
}

Result<json> parse_json(std::string_view text, const char* what) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error(EINVAL, std::string(what) + ": not valid JSON");
  if (!doc.is_object()) return Error(EINVAL, std::string(what) + ": expected a JSON object");
  return doc;
}

// Reads an optional string member; null counts as absent (Docker writes nulls freely).
Status get_string(const json& obj, const char* key, const std::string& path, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) return field_error(path + key, "expected a string");
  out = it->get<std::string>();
  return {};
}

Status get_strings(const json& obj, const char* key, const std::string& path,
                   std::vector<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  bool ok = it->is_array() && std::all_of(it->begin(), it->end(), [](const json& v) {
              return v.is_string();
            });
  if (!ok) return field_error(path + key, "expected an array of strings");
  for (const auto& v : *it) out.push_back(v.get<std::string>());
  return {};
}

// {"80/tcp": {}, …} → the key set.
Status get_key_set(const json& obj, const char* key, const std::string& path,
                   std::set<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_object()) return field_error(path + key, "expected an object");
  for (const auto& item : it->items()) out.insert(item.key());
  return {};
}

Status get_string_map(const json& obj, const char* key, const std::string& path,
                      std::map<std::string, std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_object()) return field_error(path + key, "expected an object of strings");
  for (const auto& item : it->items()) {
    if (!item.value().is_string()) {
      return field_error(path + key + "." + item.key(), "expected a string");
    }
    out[item.key()] = item.value().get<std::string>();
  }
  return {};
}

Status get_int(const json& obj, const char* key, const std::string& path, int64_t& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_number_integer()) return field_error(path + key, "expected an integer");
  out = it->get<int64_t>();
  return {};
}

Result<Healthcheck> parse_healthcheck(const json& hc) {
  const std::string path = "config.Healthcheck.";
  if (!hc.is_object()) return field_error("config.Healthcheck", "expected an object");
  Healthcheck out;
  int64_t retries = 0;
  STACK_TRY_VOID(get_strings(hc, "Test", path, out.test));
  STACK_TRY_VOID(get_int(hc, "Interval", path, out.interval_ns));
  STACK_TRY_VOID(get_int(hc, "Timeout", path, out.timeout_ns));
  STACK_TRY_VOID(get_int(hc, "StartPeriod", path, out.start_period_ns));
  STACK_TRY_VOID(get_int(hc, "StartInterval", path, out.start_interval_ns));
  STACK_TRY_VOID(get_int(hc, "Retries", path, retries));
  if (retries < 0 || retries > INT32_MAX) return field_error(path + "Retries", "out of range");
  out.retries = static_cast<int>(retries);
  return out;
}

Status parse_runtime_config(const json& c, ImageConfig& out) {
  const std::string path = "config.";
  if (!c.is_object()) return field_error("config", "expected an object");
  STACK_TRY_VOID(get_strings(c, "Entrypoint", path, out.entrypoint));
  STACK_TRY_VOID(get_strings(c, "Cmd", path, out.cmd));
  STACK_TRY_VOID(get_strings(c, "Env", path, out.env));
  STACK_TRY_VOID(get_string(c, "WorkingDir", path, out.working_dir));
  STACK_TRY_VOID(get_string(c, "User", path, out.user));
  STACK_TRY_VOID(get_string(c, "StopSignal", path, out.stop_signal));
  STACK_TRY_VOID(get_key_set(c, "ExposedPorts", path, out.exposed_ports));
  STACK_TRY_VOID(get_key_set(c, "Volumes", path, out.volumes));
  STACK_TRY_VOID(get_string_map(c, "Labels", path, out.labels));
  if (auto hc = c.find("Healthcheck"); hc != c.end() && !hc->is_null()) {
    STACK_TRY(out.healthcheck, parse_healthcheck(*hc));
  }
  return {};
}

Result<ImageConfig> parse_image_config_doc(const json& doc) {
  ImageConfig out;
  STACK_TRY_VOID(get_string(doc, "architecture", "", out.architecture));
  STACK_TRY_VOID(get_string(doc, "os", "", out.os));
  STACK_TRY_VOID(get_string(doc, "variant", "", out.variant));
  if (auto c = doc.find("config"); c != doc.end() && !c->is_null()) {
    STACK_TRY_VOID(parse_runtime_config(*c, out));
  }
  auto rootfs = doc.find("rootfs");
  if (rootfs == doc.end() || !rootfs->is_object()) return field_error("rootfs", "missing");
  std::string type;
  STACK_TRY_VOID(get_string(*rootfs, "type", "rootfs.", type));
  if (type != "layers") return field_error("rootfs.type", "expected \"layers\", got \"" + type + "\"");
  STACK_TRY_VOID(get_strings(*rootfs, "diff_ids", "rootfs.", out.diff_ids));
  for (size_t i = 0; i < out.diff_ids.size(); ++i) {
    if (!is_valid_digest(out.diff_ids[i])) {
      return field_error("rootfs.diff_ids[" + std::to_string(i) + "]",
                         "invalid digest \"" + out.diff_ids[i] + "\"");
    }
  }
  return out;
}

Result<Platform> parse_platform_object(const json& p, const std::string& path) {
  if (!p.is_object()) return field_error(path, "expected an object");
  Platform out;
  STACK_TRY_VOID(get_string(p, "os", path + ".", out.os));
  STACK_TRY_VOID(get_string(p, "architecture", path + ".", out.architecture));
  STACK_TRY_VOID(get_string(p, "variant", path + ".", out.variant));
  STACK_TRY_VOID(get_string(p, "os.version", path + ".", out.os_version));
  return out;
}

Result<Descriptor> parse_descriptor(const json& d, const std::string& path) {
  if (!d.is_object()) return field_error(path, "expected an object");
  Descriptor out;
  STACK_TRY_VOID(get_string(d, "mediaType", path + ".", out.media_type));
  STACK_TRY_VOID(get_string(d, "digest", path + ".", out.digest));
  if (out.media_type.empty()) return field_error(path + ".mediaType", "missing");
  if (!is_valid_digest(out.digest)) {
    return field_error(path + ".digest", "invalid digest \"" + out.digest + "\"");
  }
  auto size = d.find("size");
  if (size == d.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return field_error(path + ".size", "expected a non-negative integer");
  }
  out.size = size->get<int64_t>();
  if (auto p = d.find("platform"); p != d.end() && !p->is_null()) {
    STACK_TRY(out.platform, parse_platform_object(*p, path + ".platform"));
  }
  STACK_TRY_VOID(get_string_map(d, "annotations", path + ".", out.annotations));
  STACK_TRY_VOID(get_strings(d, "urls", path + ".", out.urls));
  return out;
}

ManifestKind classify_doc(const json& doc, std::string_view media_type) {
  std::string own = doc.value("mediaType", json()).is_string() ? doc["mediaType"].get<std::string>()
                                                               : std::string();
  for (std::string_view t : {std::string_view(own), media_type}) {
    if (mt::is_index(t)) return ManifestKind::kIndex;
    if (mt::is_manifest(t)) return ManifestKind::kManifest;
    if (mt::is_schema1(t)) return ManifestKind::kSchema1;
  }
  auto version = doc.find("schemaVersion");
  if (version != doc.end() && *version == 1) return ManifestKind::kSchema1;
  if (doc.contains("manifests")) return ManifestKind::kIndex;
  if (doc.contains("config") && doc.contains("layers")) return ManifestKind::kManifest;
  return ManifestKind::kUnknown;
}

Result<Manifest> parse_manifest_doc(const json& doc, std::string_view media_type) {
  switch (classify_doc(doc, media_type)) {
    case ManifestKind::kSchema1: return Error(ENOTSUP, "unsupported manifest (Docker schema 1)");
    case ManifestKind::kIndex: return Error(EINVAL, "expected an image manifest, got an image index");
    case ManifestKind::kUnknown: return Error(EINVAL, "not an image manifest");
    case ManifestKind::kManifest: break;
  }
  Manifest out;
  STACK_TRY_VOID(get_string(doc, "mediaType", "", out.media_type));
  if (out.media_type.empty()) out.media_type = std::string(media_type);
  if (!doc.contains("config")) return field_error("config", "missing");
  STACK_TRY(out.config, parse_descriptor(doc["config"], "config"));
  auto layers = doc.find("layers");
  if (layers == doc.end() || !layers->is_array()) return field_error("layers", "expected an array");
  for (size_t i = 0; i < layers->size(); ++i) {
    STACK_TRY(auto d, parse_descriptor((*layers)[i], "layers[" + std::to_string(i) + "]"));
    out.layers.push_back(std::move(d));
  }
  STACK_TRY_VOID(get_string_map(doc, "annotations", "", out.annotations));
  return out;
}

Result<std::vector<Descriptor>> parse_index_doc(const json& doc) {
  auto kind = classify_doc(doc, "");
  if (kind == ManifestKind::kSchema1) return Error(ENOTSUP, "unsupported manifest (Docker schema 1)");
  if (kind != ManifestKind::kIndex) return Error(EINVAL, "expected an image index");
  auto list = doc.find("manifests");
  if (list == doc.end() || !list->is_array()) return field_error("manifests", "expected an array");
  std::vector<Descriptor> out;
  for (size_t i = 0; i < list->size(); ++i) {
    STACK_TRY(auto d, parse_descriptor((*list)[i], "manifests[" + std::to_string(i) + "]"));
    out.push_back(std::move(d));
  }
  return out;
}

// Runs `fn` and turns any exception from nlohmann (which should not occur after the type
// checks above, but must never escape) into an Error.
template <class Fn>
auto guarded(const char* what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Error(EINVAL, std::string(what) + ": " + e.what());
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Fallbacks after the exact platform, best first (containerd platforms.Only's platformVector).
std::vector<Platform> platform_vector(const Platform& p) {
  std::vector<Platform> out{p};
  auto version = [](const std::string& v) {
    return v.size() >= 2 && v[0] == 'v' && std::isdigit(static_cast<unsigned char>(v[1]))
               ? std::atoi(v.c_str() + 1)
               : 0;
  };
  if (p.architecture == "amd64") {
    for (int v = version(p.variant) - 1; v >= 1; --v) {
      out.push_back({p.os, "amd64", v == 1 ? "" : "v" + std::to_string(v), p.os_version});
    }
    out.push_back({p.os, "386", "", p.os_version});
  } else if (p.architecture == "arm") {
    for (int v = version(p.variant) - 1; v >= 5; --v) {
      out.push_back({p.os, "arm", "v" + std::to_string(v), p.os_version});
    }
  } else if (p.architecture == "arm64") {
    auto arm = platform_vector({p.os, "arm", p.variant.empty() ? "v8" : p.variant, p.os_version});
    out.insert(out.end(), arm.begin(), arm.end());
  }
  return out;
}

// Build attestations and other non-image entries carry "unknown/unknown" or no platform.
bool is_image_entry(const Descriptor& d) {
  return d.platform && d.platform->os != "unknown" && d.platform->architecture != "unknown" &&
         (mt::is_manifest(d.media_type) || mt::is_index(d.media_type));
}

}  // namespace

bool is_valid_digest(std::string_view digest) {
  auto colon = digest.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view algo = digest.substr(0, colon), hex = digest.substr(colon + 1);
  size_t want = algo == "sha256" ? 64 : algo == "sha512" ? 128 : 0;
  return want != 0 && hex.size() == want && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<ImageConfig> parse_image_config(std::string_view text) {
  return guarded("image config", [&]() -> Result<ImageConfig> {
    STACK_TRY(auto doc, parse_json(text, "image config"));
    return parse_image_config_doc(doc);
  });
}

ManifestKind classify_manifest(std::string_view text, std::string_view media_type) {
  try {
    json doc = json::parse(text.begin(), text.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return ManifestKind::kUnknown;
    return classify_doc(doc, media_type);
  } catch (const std::exception&) {
    return ManifestKind::kUnknown;
  }
}

Result<Manifest> parse_manifest(std::string_view text, std::string_view media_type) {
  if (mt::is_schema1(media_type)) return Error(ENOTSUP, "unsupported manifest (Docker schema 1)");
  return guarded("manifest", [&]() -> Result<Manifest> {
    STACK_TRY(auto doc, parse_json(text, "manifest"));
    return parse_manifest_doc(doc, media_type);
  });
}

Result<std::vector<Descriptor>> parse_index(std::string_view text) {
  return guarded("image index", [&]() -> Result<std::vector<Descriptor>> {
    STACK_TRY(auto doc, parse_json(text, "image index"));
    return parse_index_doc(doc);
  });
}

}  // namespace stack::engine::image

namespace stack::engine::image {

std::string Platform::to_string() const {
  std::string out = os + "/" + architecture;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

Platform normalize_platform(Platform p) {
  p.os = lower(std::move(p.os));
  p.architecture = lower(std::move(p.architecture));
  p.variant = lower(std::move(p.variant));
  auto& arch = p.architecture;
  auto& var = p.variant;
  if (arch == "i386") {
    arch = "386";
    var.clear();
  } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (var == "v1") var.clear();
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (var == "8" || var == "v8" || var == "v8.0") var.clear();
  } else if (arch == "armhf") {
    arch = "arm";
    var = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    var = "v6";
  } else if (arch == "arm") {
    if (var.empty() || var == "7") var = "v7";
    else if (var == "5" || var == "6" || var == "8") var = "v" + var;
  }
  return p;
}

Result<Platform> parse_platform(std::string_view text) {
  Platform p;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  bool empty_part = std::any_of(parts.begin(), parts.end(), [](auto& s) { return s.empty(); });
  if (parts.size() < 2 || parts.size() > 3 || empty_part) {
    return Error(EINVAL, "platform \"" + std::string(text) +
                             "\": expected os/architecture[/variant]");
  }
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return normalize_platform(std::move(p));
}

Platform host_platform() {
#if defined(__x86_64__)
  return {"linux", "amd64", "", ""};
#elif defined(__aarch64__)
  return {"linux", "arm64", "", ""};
#elif defined(__arm__)
  return {"linux", "arm", "v7", ""};
#elif defined(__i386__)
  return {"linux", "386", "", ""};
#else
  return {"linux", "unknown", "", ""};
#endif
}

Result<Descriptor> select_platform(const std::vector<Descriptor>& index, const Platform& wanted) {
  const Platform want = normalize_platform(wanted);
  for (const Platform& candidate : platform_vector(want)) {
    for (const Descriptor& d : index) {
      if (!is_image_entry(d)) continue;
      Platform have = normalize_platform(*d.platform);
      if (have.os == candidate.os && have.architecture == candidate.architecture &&
          have.variant == candidate.variant) {
        return d;
      }
    }
  }
  std::string available;
  for (const Descriptor& d : index) {
    if (!is_image_entry(d)) continue;
    available += (available.empty() ? "" : ", ") + normalize_platform(*d.platform).to_string();
  }
  if (available.empty()) available = "none";
  return Error(ENOENT, "no matching manifest for " + want.to_string() +
                           " in the image index (available: " + available + ")");
}

}  // namespace stack::engine::image
