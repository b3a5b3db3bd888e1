// Pulling an image from a registry into the content store, ready to run, and Compose's
// pull_policy. See docs/images.md "Pull".
//
// One pass per layer: the bytes of each layer blob, as they arrive, are hashed and written to
// the store's ingest file on the downloading thread and handed to that layer's unpack thread,
// which inflates, hashes the DiffID and untars them into a temporary directory. The directory
// is renamed to layers/<chain id> only after the blob's digest and the DiffID both check out;
// nothing unverified ever becomes visible. Layers already unpacked (shared with another image)
// are not downloaded at all.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stack/common/result.h"
#include "stack/engine/image/layer.h"
#include "stack/engine/image/reference.h"
#include "stack/engine/image/registry.h"
#include "stack/engine/image/store.h"

namespace stack::engine::image {

// What happens to a layer, as Docker's progress display names it.
struct PullEvent {
  enum class Kind {
    kResolved,       // the manifest was fetched: `id` is the manifest digest
    kWaiting,        // "Waiting": queued behind other downloads
    kAlreadyExists,  // "Already exists": the layer is unpacked in the store
    kDownloading,    // "Downloading": `current` of `total` bytes
    kExtracting,     // "Extracting": download done, the unpack is finishing
    kComplete,       // "Pull complete": verified and unpacked
    kFailed,         // the layer failed (the pull's error says why)
  };
  Kind kind;
  std::string id;  // the layer digest (the display shortens it)
  uint64_t current = 0;
  uint64_t total = 0;
};

// Receives progress; calls are serialized by the pull (from several threads).
class PullObserver {
 public:
  virtual ~PullObserver() = default;
  virtual void event(const PullEvent& e) = 0;
};

struct PullOptions {
  std::optional<Platform> platform;  // default: host_platform()
  size_t max_parallel = 4;           // layer downloads at once
  UnpackLimits limits;
  PullObserver* observer = nullptr;
};

struct PullResult {
  IndexEntry image;
  bool downloaded = false;  // false: everything was already in the store ("Image is up to date")
};

// Pulls `ref`: manifest (selecting the platform from an index), config, layers; then tags it in
// the store's index. Errors begin with the reference: "image 127.0.0.1:5000/app:1: …". On any
// failure nothing is tagged and no unverified blob or layer is left (a partly downloaded blob
// stays in ingest/ to be resumed by the next pull); images already in the store are untouched.
Result<PullResult> pull_image(const ContentStore& store, RegistryClient& client,
                              const Reference& ref, const PullOptions& options = {});

// Compose's pull_policy.
struct PullPolicy {
  enum class Kind { kAlways, kMissing, kNever, kBuild, kPeriodic };
  Kind kind = Kind::kMissing;
  std::chrono::seconds period{0};  // kPeriodic: pull when the local copy is older than this
  bool operator==(const PullPolicy&) const = default;
};

// "always", "missing", "if_not_present" (= missing), "never", "build", "daily" (24h),
// "weekly" (7 days), "every_<duration>" with Go-style durations ("every_12h", "every_1h30m",
// "every_90s"). "" is missing. Errors quote the value.
Result<PullPolicy> parse_pull_policy(std::string_view text);

enum class PullDecision { kPull, kUseLocal, kMissingNever };
// Whether a service's image must be pulled, given the local copy (if any) and the time now.
PullDecision decide_pull(const PullPolicy& policy, const std::optional<IndexEntry>& local,
                         int64_t now_unix);

}  // namespace stack::engine::image
