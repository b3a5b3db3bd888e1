// Unpacking an image's layers from blobs already in the content store (after `image load`,
// `image import`, or a pull whose layers were stored but not yet unpacked), and the overlayfs
// lower dirs of an image for the engine.
#pragma once

#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/engine/image/image_config.h"
#include "stack/engine/image/layer.h"
#include "stack/engine/image/store.h"

namespace stack::engine::image {

// Makes layers/<chain id> exist for every layer of the image, unpacking each missing one from
// its stored blob, up to `max_parallel` at a time. Layers already unpacked are not touched (one
// directory per chain id, shared by every image that has it). Each layer's DiffID must equal the
// config's rootfs.diff_ids entry, else the layer is rejected before it becomes visible; a layer
// unpacked meanwhile by another process counts as done. Errors name the layer's digest.
Status unpack_image(const ContentStore& store, const Manifest& manifest, const ImageConfig& config,
                    const UnpackLimits& limits = {}, size_t max_parallel = 2);

// The same for an image in the index: reads its manifest and config from the store.
Status unpack_image(const ContentStore& store, const IndexEntry& image,
                    const UnpackLimits& limits = {}, size_t max_parallel = 2);

// The image's layer directories in overlayfs lowerdir= order: top layer first, base last.
// ENOENT "layer sha256:… of <ref> is not unpacked" when one is missing.
Result<std::vector<std::string>> image_lower_dirs(const ContentStore& store,
                                                  const IndexEntry& image);

// The manifest and config of an image in the index, read (and re-verified) from the store.
struct StoredImage {
  Manifest manifest;
  ImageConfig config;
  std::string config_json;
};
Result<StoredImage> read_stored_image(const ContentStore& store, const IndexEntry& image);

}  // namespace stack::engine::image
