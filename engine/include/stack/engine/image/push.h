// Pushing an image from the content store to a registry: the blobs the registry lacks (checked
// with HEAD, mounted from another repository of the same registry when one of our images came
// from there, else uploaded), then the manifest. See docs/images.md "Push".
#pragma once

#include <cstdint>
#include <string>

#include "stack/common/result.h"
#include "stack/engine/image/pull.h"
#include "stack/engine/image/reference.h"
#include "stack/engine/image/registry.h"
#include "stack/engine/image/store.h"

namespace stack::engine::image {

struct PushOptions {
  // 0: each blob in one PUT (monolithic); else PATCH chunks of this many bytes.
  size_t chunk_size = 0;
  // Reuses PullEvent: kWaiting, kAlreadyExists ("Layer already exists"), kDownloading (read as
  // "Pushing" current/total), kComplete ("Pushed"; also for a mounted blob), kFailed.
  PullObserver* observer = nullptr;
};

struct PushResult {
  std::string manifest_digest;
  int64_t manifest_size = 0;
  int blobs_uploaded = 0;
  int blobs_mounted = 0;
  int blobs_present = 0;
};

// Pushes the image stored under `source` (a reference in the store's index) as `target`
// (a tag or a digest reference). The platform's image manifest is pushed as stored, byte for
// byte, so its digest is unchanged. Errors begin with "image <target>: ".
Result<PushResult> push_image(const ContentStore& store, RegistryClient& client,
                              const std::string& source, const Reference& target,
                              const PushOptions& options = {});

}  // namespace stack::engine::image
