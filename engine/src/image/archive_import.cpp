// import_image: a rootfs directory or tarball as a one-layer image (`stack image import`).
#include <ctime>

#include "image/archive_internal.h"
#include "image/media_types.h"
#include "stack/engine/image/archive.h"
#include "stack/engine/image/reference.h"
#include "stack/engine/image/unpack.h"

namespace stack::engine::image {
namespace {

using nlohmann::json;
namespace mt = media_types;

// The OCI image config (config.md) of an imported image, with `changes` applied.
Result<std::string> make_config(const archive_detail::LayerBlob& layer, const Platform& platform,
                                const std::string& comment,
                                const std::vector<std::string>& changes) {
  const std::string created = archive_detail::rfc3339_utc(static_cast<int64_t>(::time(nullptr)));
  json config = {{"created", created},
                 {"architecture", platform.architecture},
                 {"os", platform.os},
                 {"config", json::object()},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", {layer.diff_id}}}},
                 {"history", {{{"created", created}, {"comment", comment}}}}};
  if (!platform.variant.empty()) config["variant"] = platform.variant;
  STACK_TRY_VOID(archive_detail::apply_changes(config, changes));
  return config.dump();
}

Result<IndexEntry> import(const ContentStore& store, const std::string& source,
                          const std::string& reference, const ImportOptions& options) {
  STACK_TRY(Reference ref, parse_reference(reference));
  Platform platform = normalize_platform(options.platform.value_or(host_platform()));
  std::string comment = options.message.empty() ? "imported from " + source : options.message;
  // Fail on a bad --change before reading the whole source.
  STACK_TRY_VOID(make_config({}, platform, comment, options.changes));

  STACK_TRY(UniqueFd lease, store.lease());
  STACK_TRY(archive_detail::LayerBlob layer, archive_detail::write_layer(store, source));
  STACK_TRY(std::string config_json, make_config(layer, platform, comment, options.changes));
  STACK_TRY(std::string config_digest, store.put_blob(config_json));
  json manifest = {
      {"schemaVersion", 2},
      {"mediaType", mt::kOciManifest},
      {"config",
       {{"mediaType", mt::kOciConfig}, {"digest", config_digest}, {"size", config_json.size()}}},
      {"layers",
       {{{"mediaType", mt::kOciLayerGzip}, {"digest", layer.digest}, {"size", layer.size}}}}};
  const std::string manifest_json = manifest.dump();
  STACK_TRY(std::string manifest_digest, store.put_blob(manifest_json));

  STACK_TRY(Manifest parsed, parse_manifest(manifest_json, mt::kOciManifest));
  STACK_TRY(ImageConfig config, parse_image_config(config_json));
  STACK_TRY_VOID(unpack_image(store, parsed, config));

  IndexEntry entry{
      ref.string(),  manifest_digest, std::string(mt::kOciManifest),        manifest_digest,
      config_digest, platform,        static_cast<int64_t>(::time(nullptr))};
  STACK_TRY_VOID(store.tag(entry.reference, entry));
  return entry;
}

}  // namespace

Result<IndexEntry> import_image(const ContentStore& store, const std::string& source,
                                const std::string& reference, const ImportOptions& options) {
  try {
    auto r = import(store, source, reference, options);
    if (!r.ok()) return std::move(r).error().wrap("image import " + source);
    return r;
  } catch (const std::exception& e) {
    return Error(EINVAL, "image import " + source + ": " + e.what());
  }
}

}  // namespace stack::engine::image
