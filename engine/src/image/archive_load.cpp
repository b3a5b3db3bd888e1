// load_archive: OCI image layouts and docker-archives (`docker save`) into the content store.
#include <ctime>
#include <set>

#include "image/archive_internal.h"
#include "image/media_types.h"
#include "stack/engine/image/archive.h"
#include "stack/engine/image/reference.h"
#include "stack/engine/image/unpack.h"

namespace stack::engine::image {
namespace {

using archive_detail::ArchiveFiles;
using archive_detail::Compression;
using archive_detail::StoredFile;
using nlohmann::json;
namespace mt = media_types;

constexpr const char* kContainerdName = "io.containerd.image.name";
constexpr const char* kOciRefName = "org.opencontainers.image.ref.name";

// One image found in the archive, before it is unpacked and tagged.
struct Candidate {
  std::string where;  // "index.json manifests[0]", "manifest.json[1]"
  std::string target_digest, target_media_type;
  std::string manifest_digest;
  Manifest manifest;
  std::set<std::string> names;  // normalized references
  ImageConfig config;
};

Result<json> parse_json_doc(const std::string& text, const std::string& what) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error(EINVAL, what + ": not valid JSON");
  return doc;
}

Result<std::string> normalize_name(const std::string& name, const std::string& where) {
  auto ref = parse_reference(name);
  if (!ref.ok()) return std::move(ref).error().wrap(where);
  return ref->string();
}

std::string json_string(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

class Loader {
 public:
  Loader(const ContentStore& store) : store_(store), files_(store) {}
  Result<LoadResult> run(ByteSource& tar);

 private:
  Status collect_oci();
  Status collect_docker(bool names_only);
  Result<Manifest> read_manifest(const std::string& digest, const std::string& media_type);
  Status prepare(Candidate& c);
  Status unpack(const Candidate& c);

  const ContentStore& store_;
  ArchiveFiles files_;
  std::vector<Candidate> candidates_;
};

Result<LoadResult> Loader::run(ByteSource& tar) {
  STACK_TRY_VOID(files_.read(tar));
  if (files_.has("index.json")) {
    STACK_TRY_VOID(collect_oci());
    // Docker 25+ writes both layouts; its manifest.json may name images index.json does not.
    if (files_.has("manifest.json")) STACK_TRY_VOID(collect_docker(/*names_only=*/true));
  } else if (files_.has("manifest.json")) {
    STACK_TRY_VOID(collect_docker(/*names_only=*/false));
  } else if (files_.has("repositories")) {
    return Error(ENOTSUP,
                 "legacy docker-archive (repositories without manifest.json) is not "
                 "supported");
  } else {
    return Error(EINVAL,
                 "neither index.json nor manifest.json found: not an OCI image layout "
                 "or docker-archive");
  }
  // Everything is verified and unpacked before the first tag: a failure tags nothing.
  for (auto& c : candidates_) {
    auto st = prepare(c);
    if (!st.ok()) return std::move(st).error().wrap(c.where);
  }
  LoadResult out;
  int64_t now = static_cast<int64_t>(::time(nullptr));
  for (const auto& c : candidates_) {
    IndexEntry e{"",
                 c.target_digest,
                 c.target_media_type,
                 c.manifest_digest,
                 c.manifest.config.digest,
                 normalize_platform({c.config.os, c.config.architecture, c.config.variant, ""}),
                 now};
    if (c.names.empty()) out.images.push_back(e);
    for (const auto& name : c.names) {
      e.reference = name;
      STACK_TRY_VOID(store_.tag(name, e));
      out.images.push_back(e);
    }
  }
  return out;
}

Result<Manifest> Loader::read_manifest(const std::string& digest, const std::string& media_type) {
  if (!store_.has_blob(digest)) {
    return Error(ENOENT, "manifest " + digest + " is not in the archive");
  }
  STACK_TRY(std::string text, store_.read_blob(digest));
  auto m = parse_manifest(text, media_type);
  if (!m.ok()) return std::move(m).error().wrap("manifest " + digest);
  return m;
}

Status Loader::collect_oci() {
  STACK_TRY(std::string text, files_.text("index.json"));
  auto index = parse_index(text);
  if (!index.ok()) return std::move(index).error().wrap("index.json");
  for (size_t i = 0; i < index->size(); ++i) {
    const Descriptor& d = (*index)[i];
    Candidate c;
    c.where = "index.json manifests[" + std::to_string(i) + "]";
    c.target_digest = d.digest;
    c.target_media_type = d.media_type;
    Descriptor manifest = d;
    if (mt::is_index(d.media_type)) {
      if (!store_.has_blob(d.digest)) {
        return Error(ENOENT, "index " + d.digest + " is not in the archive").wrap(c.where);
      }
      STACK_TRY(std::string nested, store_.read_blob(d.digest));
      auto entries = parse_index(nested);
      if (!entries.ok()) return std::move(entries).error().wrap(c.where);
      auto chosen = select_platform(*entries, host_platform());
      if (!chosen.ok()) return std::move(chosen).error().wrap(c.where);
      manifest = *chosen;
    } else if (!mt::is_manifest(d.media_type)) {
      continue;  // artifacts and attestations are not images
    }
    c.manifest_digest = manifest.digest;
    auto m = read_manifest(manifest.digest, manifest.media_type);
    if (!m.ok()) return std::move(m).error().wrap(c.where);
    c.manifest = std::move(*m);
    auto name = d.annotations.find(kContainerdName);
    if (name == d.annotations.end()) name = d.annotations.find(kOciRefName);
    // A bare ref.name is only a tag ("latest"); without a repository it names nothing.
    if (name != d.annotations.end() && name->second.find_first_of("/:") != std::string::npos) {
      STACK_TRY(std::string ref,
                normalize_name(name->second, c.where + ": annotation " + name->first));
      c.names.insert(ref);
    }
    candidates_.push_back(std::move(c));
  }
  return {};
}

// manifest.json: [{"Config": "<path>", "RepoTags": [...], "Layers": ["<path>", ...]}, ...]
Status Loader::collect_docker(bool names_only) {
  STACK_TRY(std::string text, files_.text("manifest.json"));
  STACK_TRY(json doc, parse_json_doc(text, "manifest.json"));
  if (!doc.is_array()) return Error(EINVAL, "manifest.json: expected an array");
  for (size_t i = 0; i < doc.size(); ++i) {
    const json& item = doc[i];
    std::string where = "manifest.json[" + std::to_string(i) + "]";
    if (!item.is_object()) return Error(EINVAL, where + ": expected an object");
    std::string config_path = json_string(item, "Config");
    if (config_path.empty()) return Error(EINVAL, where + ".Config: missing");
    std::set<std::string> names;
    if (auto tags = item.find("RepoTags"); tags != item.end() && !tags->is_null()) {
      if (!tags->is_array()) return Error(EINVAL, where + ".RepoTags: expected an array");
      for (const auto& t : *tags) {
        if (!t.is_string()) return Error(EINVAL, where + ".RepoTags: expected strings");
        STACK_TRY(std::string ref, normalize_name(t.get<std::string>(), where + ".RepoTags"));
        names.insert(ref);
      }
    }
    auto config = files_.blob(config_path);
    if (!config.ok()) return std::move(config).error().wrap(where + ".Config");
    if (names_only) {
      // Only for images index.json leaves unnamed: Docker 25+ names each tag in both files.
      for (auto& c : candidates_) {
        if (c.names.empty() && c.manifest.config.digest == config->digest) c.names = names;
      }
      continue;
    }
    json m = {
        {"schemaVersion", 2},
        {"mediaType", mt::kDockerManifest},
        {"config",
         {{"mediaType", mt::kDockerConfig}, {"size", config->size}, {"digest", config->digest}}},
        {"layers", json::array()}};
    auto layers = item.find("Layers");
    if (layers == item.end() || !layers->is_array()) {
      return Error(EINVAL, where + ".Layers: expected an array");
    }
    for (const auto& l : *layers) {
      if (!l.is_string()) return Error(EINVAL, where + ".Layers: expected strings");
      auto layer = files_.blob(l.get<std::string>());
      if (!layer.ok()) return std::move(layer).error().wrap(where + ".Layers");
      std::string_view type = layer->compression == Compression::kNone
                                  ? archive_detail::kDockerLayerTar
                              : layer->compression == Compression::kGzip ? mt::kDockerLayerGzip
                              : layer->compression == Compression::kZstd ? mt::kOciLayerZstd
                                                                         : std::string_view();
      if (type.empty()) {
        return Error(ENOTSUP, "entry \"" + l.get<std::string>() +
                                  "\": unsupported layer compression (bzip2/xz)")
            .wrap(where);
      }
      m["layers"].push_back(
          {{"mediaType", type}, {"size", layer->size}, {"digest", layer->digest}});
    }
    Candidate c;
    c.where = where;
    c.names = std::move(names);
    STACK_TRY(c.manifest_digest, store_.put_blob(m.dump()));
    c.target_digest = c.manifest_digest;
    c.target_media_type = mt::kDockerManifest;
    STACK_TRY(c.manifest, read_manifest(c.manifest_digest, c.target_media_type));
    candidates_.push_back(std::move(c));
  }
  return {};
}

Status Loader::prepare(Candidate& c) {
  const Descriptor& cd = c.manifest.config;
  std::string config_entry = "config \"" + files_.entry_of(cd.digest) + "\"";
  if (!store_.has_blob(cd.digest)) return Error(ENOENT, config_entry + ": not in the archive");
  STACK_TRY(std::string config_json, store_.read_blob(cd.digest));
  auto config = parse_image_config(config_json);
  if (!config.ok()) return std::move(config).error().wrap(config_entry);
  c.config = std::move(*config);
  if (c.config.diff_ids.size() != c.manifest.layers.size()) {
    return Error(EILSEQ, "the image has " + std::to_string(c.manifest.layers.size()) +
                             " layers but " + config_entry + " lists " +
                             std::to_string(c.config.diff_ids.size()) + " diff ids");
  }
  for (size_t i = 0; i < c.manifest.layers.size(); ++i) {
    const Descriptor& l = c.manifest.layers[i];
    std::string entry = "entry \"" + files_.entry_of(l.digest) + "\"";
    if (!store_.has_blob(l.digest))
      return Error(ENOENT, entry + ": layer " + l.digest + " missing");
    // An uncompressed layer's digest is its DiffID: check before unpacking anything.
    bool plain =
        l.media_type == archive_detail::kDockerLayerTar || l.media_type == mt::kOciLayerTar;
    if (plain && l.digest != c.config.diff_ids[i]) {
      return Error(EILSEQ, entry + ": diff id mismatch: " + config_entry + " expects " +
                               c.config.diff_ids[i] + ", the layer is " + l.digest);
    }
  }
  return unpack(c);
}

// Unpacks one layer at a time (growing prefixes of the image; unpack_image skips layers already
// there) so that an error can name the archive entry of the layer that failed.
Status Loader::unpack(const Candidate& c) {
  for (size_t n = 1; n <= c.manifest.layers.size(); ++n) {
    Manifest m = c.manifest;
    m.layers.resize(n);
    ImageConfig config = c.config;
    config.diff_ids.resize(n);
    auto st = unpack_image(store_, m, config, UnpackLimits{}, 1);
    if (!st.ok()) {
      return std::move(st).error().wrap("entry \"" + files_.entry_of(m.layers.back().digest) +
                                        "\"");
    }
  }
  return {};
}

}  // namespace

Result<LoadResult> load_archive(const ContentStore& store, ByteSource& tar,
                                const std::string& name) {
  auto lease = store.lease();
  if (!lease.ok()) return std::move(lease).error().wrap("image load " + name);
  try {
    Loader loader(store);
    auto r = loader.run(tar);
    if (!r.ok()) return std::move(r).error().wrap("image load " + name);
    return r;
  } catch (const std::exception& e) {  // nlohmann or allocation failures
    return Error(EINVAL, std::string("image load ") + name + ": " + e.what());
  }
}

}  // namespace stack::engine::image
