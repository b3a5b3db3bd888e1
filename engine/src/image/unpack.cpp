// unpack_image / image_lower_dirs: layers from stored blobs into layers/<chain id>.
#include "stack/engine/image/unpack.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <optional>
#include <thread>

#include "stack/common/unique_fd.h"

namespace stack::engine::image {

namespace {

Status check_layer_count(const Manifest& manifest, const ImageConfig& config) {
  if (manifest.layers.size() != config.diff_ids.size()) {
    return Error(EILSEQ, "the manifest has " + std::to_string(manifest.layers.size()) +
                             " layers but the config's rootfs.diff_ids has " +
                             std::to_string(config.diff_ids.size()));
  }
  return {};
}

Status unpack_one(const ContentStore& store, const Descriptor& layer, const std::string& diff_id,
                  const std::string& chain_id, const UnpackLimits& limits) {
  const std::string target = store.layer_dir(chain_id);
  const std::string path = store.blob_path(layer.digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return Error(ENOENT, "layer " + layer.digest + ": blob not in the store");
    return errno_error("open " + path).wrap("layer " + layer.digest);
  }
  FdByteSource source(fd.get());
  auto check_diff_id = [&](const UnpackStats& stats) -> Status {
    if (stats.diff_id != diff_id) {
      return Error(EILSEQ, "diff id mismatch: the image config expects " + diff_id + ", the layer is " +
                               stats.diff_id);
    }
    return {};
  };
  auto r = unpack_layer(source, layer.digest, target, limits, check_diff_id);
  // Another process unpacked the same chain id meanwhile: its directory is as good as ours.
  if (!r.ok() && r.error().code == EEXIST && store.has_layer(chain_id)) return {};
  if (!r.ok()) return std::move(r).error();
  return {};
}

}  // namespace

Status unpack_image(const ContentStore& store, const Manifest& manifest, const ImageConfig& config,
                    const UnpackLimits& limits, size_t max_parallel) {
  STACK_TRY_VOID(check_layer_count(manifest, config));
  const auto chains = chain_ids(config.diff_ids);
  std::vector<size_t> todo;
  for (size_t i = 0; i < chains.size(); ++i) {
    if (!store.has_layer(chains[i])) todo.push_back(i);
  }
  if (todo.empty()) return {};
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::optional<Error> first_error;
  auto worker = [&] {
    for (;;) {
      size_t k = next.fetch_add(1);
      if (k >= todo.size()) return;
      {
        std::lock_guard lock(mu);
        if (first_error) return;
      }
      size_t i = todo[k];
      auto st = unpack_one(store, manifest.layers[i], config.diff_ids[i], chains[i], limits);
      if (!st.ok()) {
        std::lock_guard lock(mu);
        if (!first_error) first_error = std::move(st).error();
      }
    }
  };
  size_t n = std::max<size_t>(1, std::min(max_parallel, todo.size()));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (first_error) return std::move(*first_error);
  return {};
}

Result<StoredImage> read_stored_image(const ContentStore& store, const IndexEntry& image) {
  STACK_TRY(auto manifest_json, store.read_blob(image.manifest_digest));
  StoredImage out;
  STACK_TRY(out.manifest, parse_manifest(manifest_json, ""));
  STACK_TRY(out.config_json, store.read_blob(out.manifest.config.digest));
  STACK_TRY(out.config, parse_image_config(out.config_json));
  STACK_TRY_VOID(check_layer_count(out.manifest, out.config));
  return out;
}

Status unpack_image(const ContentStore& store, const IndexEntry& image, const UnpackLimits& limits,
                    size_t max_parallel) {
  auto stored = read_stored_image(store, image);
  if (!stored.ok()) return std::move(stored).error().wrap("image " + image.reference);
  auto st = unpack_image(store, stored->manifest, stored->config, limits, max_parallel);
  if (!st.ok()) return std::move(st).error().wrap("image " + image.reference);
  return {};
}

Result<std::vector<std::string>> image_lower_dirs(const ContentStore& store,
                                                  const IndexEntry& image) {
  auto stored = read_stored_image(store, image);
  if (!stored.ok()) return std::move(stored).error().wrap("image " + image.reference);
  const auto chains = chain_ids(stored->config.diff_ids);
  std::vector<std::string> dirs;
  for (size_t i = chains.size(); i-- > 0;) {
    if (!store.has_layer(chains[i])) {
      return Error(ENOENT, "layer " + stored->manifest.layers[i].digest + " of " + image.reference +
                               " is not unpacked");
    }
    dirs.push_back(store.layer_dir(chains[i]));
  }
  return dirs;
}

}  // namespace stack::engine::image
