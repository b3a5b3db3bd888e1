// push_image: HEAD each blob, mount what a sibling repository has, upload the rest, then PUT
// the manifest.
#include "stack/engine/image/push.h"

#include <fcntl.h>
#include <unistd.h>

#include <mutex>

#include "image/media_types.h"
#include "stack/common/unique_fd.h"
#include "stack/engine/image/unpack.h"

namespace stack::engine::image {

namespace {

// Another repository of the same registry that one of our images came from and that has the
// blob (its manifest lists it): a candidate for a cross-repository mount.
std::string mount_source(const ContentStore& store, const Reference& target,
                         const std::string& digest) {
  for (const auto& entry : store.list()) {
    auto ref = parse_reference(entry.reference);
    if (!ref.ok() || ref->domain != target.domain || ref->path == target.path) continue;
    auto stored = read_stored_image(store, entry);
    if (!stored.ok()) continue;
    if (stored->manifest.config.digest == digest) return ref->path;
    for (const auto& l : stored->manifest.layers)
      if (l.digest == digest) return ref->path;
  }
  return "";
}

Status upload_from_store(const ContentStore& store, RegistryClient& client, const Reference& repo,
                         const Descriptor& blob, size_t chunk_size,
                         const std::function<void(uint64_t)>& on_bytes) {
  const std::string path = store.blob_path(blob.digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open " + path);
  uint64_t sent = 0;
  auto read = [&](char* buf, size_t size) -> Result<size_t> {
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, size);
      if (n >= 0) {
        sent += static_cast<uint64_t>(n);
        if (on_bytes) on_bytes(sent);
        return static_cast<size_t>(n);
      }
      if (errno != EINTR) return errno_error("read " + path);
    }
  };
  auto rewind = [&]() -> Status {
    if (::lseek(fd.get(), 0, SEEK_SET) != 0) return errno_error("seek " + path);
    sent = 0;
    return {};
  };
  return client.upload_blob(repo, blob, read, rewind, chunk_size);
}

}  // namespace

Result<PushResult> push_image(const ContentStore& store, RegistryClient& client,
                              const std::string& source, const Reference& target,
                              const PushOptions& options) {
  const std::string label = "image " + target.string();
  auto fail = [&](Error e) -> Result<PushResult> {
    return without_subject(std::move(e), target.name()).wrap(label);
  };
  auto entry = store.resolve(source);
  if (!entry) return fail(Error(ENOENT, "no such image: " + source));
  auto stored = read_stored_image(store, *entry);
  if (!stored.ok()) return fail(std::move(stored).error());
  auto manifest_json = store.read_blob(entry->manifest_digest);
  if (!manifest_json.ok()) return fail(std::move(manifest_json).error());

  std::mutex mu;
  auto emit = [&](PullEvent::Kind kind, const std::string& id, uint64_t cur, uint64_t total) {
    if (!options.observer) return;
    std::lock_guard lock(mu);
    options.observer->event(PullEvent{kind, id, cur, total});
  };

  PushResult result;
  std::vector<Descriptor> blobs = stored->manifest.layers;
  blobs.push_back(stored->manifest.config);  // config last, as registries expect it before PUT
  // Progress is per layer, as Docker shows it; the config goes up silently.
  const std::string config_digest = stored->manifest.config.digest;
  auto emit_layer = [&](PullEvent::Kind kind, const std::string& id, uint64_t cur, uint64_t total) {
    if (id != config_digest) emit(kind, id, cur, total);
  };
  for (const auto& b : blobs) {
    uint64_t total = b.size > 0 ? static_cast<uint64_t>(b.size) : 0;
    emit_layer(PullEvent::Kind::kWaiting, b.digest, 0, total);
  }
  for (const auto& b : blobs) {
    uint64_t total = b.size > 0 ? static_cast<uint64_t>(b.size) : 0;
    auto exists = client.blob_exists(target, b.digest);
    if (!exists.ok()) return fail(std::move(exists).error().wrap("blob " + b.digest));
    if (*exists) {
      ++result.blobs_present;
      emit_layer(PullEvent::Kind::kAlreadyExists, b.digest, total, total);
      continue;
    }
    if (!store.has_blob(b.digest)) {
      return fail(Error(ENOENT, "blob " + b.digest + " is not in the local store (pulled for "
                                "another platform?) and not in the target repository"));
    }
    if (std::string from = mount_source(store, target, b.digest); !from.empty()) {
      auto mounted = client.mount_blob(target, b.digest, from);
      if (!mounted.ok()) return fail(std::move(mounted).error().wrap("blob " + b.digest));
      if (*mounted) {
        ++result.blobs_mounted;
        emit_layer(PullEvent::Kind::kComplete, b.digest, total, total);
        continue;
      }
    }
    auto st = upload_from_store(store, client, target, b, options.chunk_size,
                                [&](uint64_t n) { emit_layer(PullEvent::Kind::kDownloading, b.digest, n, total); });
    if (!st.ok()) {
      emit_layer(PullEvent::Kind::kFailed, b.digest, 0, total);
      return fail(std::move(st).error().wrap("blob " + b.digest));
    }
    ++result.blobs_uploaded;
    emit_layer(PullEvent::Kind::kComplete, b.digest, total, total);
  }
  // An OCI manifest may omit its mediaType; the shape then says it is one (parse_manifest).
  std::string media_type = stored->manifest.media_type;
  if (media_type.empty()) media_type = std::string(media_types::kOciManifest);
  auto digest = client.put_manifest(target, media_type, *manifest_json);
  if (!digest.ok()) return fail(std::move(digest).error().wrap("manifest"));
  if (*digest != entry->manifest_digest && !digest->empty()) {
    return fail(Error(EILSEQ, "the registry stored the manifest as " + *digest + ", expected " +
                                  entry->manifest_digest));
  }
  result.manifest_digest = entry->manifest_digest;
  result.manifest_size = static_cast<int64_t>(manifest_json->size());
  return result;
}

}  // namespace stack::engine::image
