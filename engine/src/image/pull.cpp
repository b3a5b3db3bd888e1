// pull_image: manifest → config → layers streamed through download, digest, inflate and untar
// at once (see pull.h and image/pull_stream.h); then the index entry.
#include "stack/engine/image/pull.h"

#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "image/media_types.h"
#include "image/pull_stream.h"
#include "stack/engine/image/unpack.h"

namespace stack::engine::image {

using pull_detail::LayerStream;

namespace {

bool is_supported_layer(std::string_view t) {
  namespace mt = media_types;
  return t == mt::kOciLayerTar || t == mt::kOciLayerGzip || t == mt::kOciLayerZstd ||
         t == mt::kOciLayerNondistTar || t == mt::kOciLayerNondistGzip ||
         t == mt::kOciLayerNondistZstd || t == mt::kDockerLayerTar || t == mt::kDockerLayerGzip ||
         t == mt::kDockerLayerForeignGzip;
}

// Serializes observer calls coming from the download thread and the unpack threads.
class Progress {
 public:
  explicit Progress(PullObserver* observer) : observer_(observer) {}
  void emit(PullEvent::Kind kind, const std::string& id, uint64_t current = 0,
            uint64_t total = 0) {
    if (!observer_) return;
    std::lock_guard lock(mu_);
    observer_->event(PullEvent{kind, id, current, total});
  }

 private:
  PullObserver* observer_;
  std::mutex mu_;
};

// Stores a manifest or index we fetched (the client verified its digest already).
Status store_document(const ContentStore& store, const FetchedManifest& doc) {
  if (store.has_blob(doc.digest)) return {};
  STACK_TRY(std::string digest, store.put_blob(doc.body));
  if (digest != doc.digest) {
    return Error(EILSEQ, "digest mismatch: expected " + doc.digest + ", got " + digest);
  }
  return {};
}

struct Resolved {
  FetchedManifest target;   // what the reference names (index or manifest)
  FetchedManifest manifest; // the platform's image manifest
  Manifest parsed;
  Platform platform;
  bool from_index = false;
};

Result<Resolved> resolve(const ContentStore& store, RegistryClient& client, const Reference& ref,
                         const Platform& wanted) {
  Resolved r;
  STACK_TRY(r.target, client.get_manifest(ref));
  ManifestKind kind = classify_manifest(r.target.body, r.target.media_type);
  if (kind == ManifestKind::kSchema1) {
    return Error(ENOTSUP, "unsupported manifest (Docker schema 1); re-push the image with a current "
                          "client");
  }
  if (kind == ManifestKind::kUnknown) {
    return Error(ENOTSUP, "unsupported manifest media type \"" + r.target.media_type + "\"");
  }
  if (kind == ManifestKind::kIndex) {
    STACK_TRY(auto entries, parse_index(r.target.body));
    STACK_TRY(Descriptor chosen, select_platform(entries, wanted));
    Reference child = ref;
    child.digest = chosen.digest;
    STACK_TRY(r.manifest, client.get_manifest(child));
    if (classify_manifest(r.manifest.body, r.manifest.media_type) != ManifestKind::kManifest) {
      return Error(ENOTSUP, "index entry " + chosen.digest + " for " + wanted.to_string() +
                                " is not an image manifest");
    }
    r.platform = chosen.platform ? normalize_platform(*chosen.platform) : wanted;
    r.from_index = true;
    STACK_TRY_VOID(store_document(store, r.target));
  } else {
    r.manifest = r.target;
  }
  STACK_TRY(r.parsed, parse_manifest(r.manifest.body, r.manifest.media_type));
  if (!media_types::is_config(r.parsed.config.media_type)) {
    return Error(ENOTSUP, "not a container image: config media type \"" +
                              r.parsed.config.media_type + "\"");
  }
  for (const auto& layer : r.parsed.layers) {
    if (!is_supported_layer(layer.media_type)) {
      return Error(ENOTSUP, "layer " + layer.digest + ": unsupported media type \"" +
                                layer.media_type + "\"");
    }
  }
  STACK_TRY_VOID(store_document(store, r.manifest));
  return r;
}

Result<std::string> fetch_config(const ContentStore& store, RegistryClient& client,
                                 const Reference& ref, const Descriptor& config) {
  if (store.has_blob(config.digest)) return store.read_blob(config.digest);
  STACK_TRY(std::string json, client.get_blob(ref, config));
  STACK_TRY_VOID(store_document(store, FetchedManifest{json, config.media_type, config.digest}));
  return json;
}

// begin_blob, waiting while another pull of the same reference writes the same blob.
Result<std::optional<BlobWriter>> begin_layer_blob(const ContentStore& store,
                                                   const Descriptor& layer,
                                                   const std::string& ingest_ref) {
  for (int waited_ms = 0;; waited_ms += 100) {
    auto w = store.begin_blob(layer.digest, layer.size, ingest_ref);
    if (w.ok()) return std::optional<BlobWriter>(std::move(w).value());
    if (w.error().code == EEXIST) return std::optional<BlobWriter>();
    if (w.error().code != EAGAIN || waited_ms > 10 * 60 * 1000) return std::move(w).error();
    ::usleep(100 * 1000);
  }
}

// One layer being streamed: the stream, its unpack thread and the outcome.
struct StreamedLayer {
  size_t layer_index = 0;
  uint64_t resume_offset = 0;  // bytes already in the ingest file (a resumed download)
  std::unique_ptr<LayerStream> stream;
  std::thread unpacker;
  Status unpacked;
};

class LayerPipeline {
 public:
  LayerPipeline(const ContentStore& store, RegistryClient& client, const Reference& ref,
                const Resolved& image, const ImageConfig& config, const PullOptions& options,
                Progress& progress)
      : store_(store), client_(client), ref_(ref), image_(image), config_(config),
        options_(options), progress_(progress), chains_(chain_ids(config.diff_ids)) {}

  // Downloads (streaming into the unpackers) every layer that is neither unpacked nor stored.
  // Returns whether anything was downloaded.
  Result<bool> run();

 private:
  Status start_layer(size_t i, const std::string& ingest_ref);
  void unpack(StreamedLayer& s);

  const ContentStore& store_;
  RegistryClient& client_;
  const Reference& ref_;
  const Resolved& image_;
  const ImageConfig& config_;
  const PullOptions& options_;
  Progress& progress_;
  std::vector<std::string> chains_;
  std::vector<std::unique_ptr<StreamedLayer>> streamed_;
};

void LayerPipeline::unpack(StreamedLayer& s) {
  const Descriptor& layer = image_.parsed.layers[s.layer_index];
  const std::string& diff_id = config_.diff_ids[s.layer_index];
  LayerStream& stream = *s.stream;
  auto before_publish = [&](const UnpackStats& stats) -> Status {
    progress_.emit(PullEvent::Kind::kExtracting, layer.digest);
    STACK_TRY_VOID(stream.drain());  // the blob's digest verdict
    if (stats.diff_id != diff_id) {
      return Error(EILSEQ, "diff id mismatch: the image config expects " + diff_id +
                               ", the layer is " + stats.diff_id);
    }
    return {};
  };
  const std::string target = store_.layer_dir(chains_[s.layer_index]);
  auto r = unpack_layer(stream, layer.digest, target, options_.limits, before_publish);
  if (!r.ok() && r.error().code == EEXIST && store_.has_layer(chains_[s.layer_index])) {
    // Another pull unpacked this chain meanwhile; still let the download finish and verify.
    stream.drain().ok();
    r = UnpackStats{};
  }
  if (!r.ok()) {
    stream.abort(r.error());
    s.unpacked = std::move(r).error();
    progress_.emit(PullEvent::Kind::kFailed, layer.digest);
    return;
  }
  progress_.emit(PullEvent::Kind::kComplete, layer.digest);
}

Status LayerPipeline::start_layer(size_t i, const std::string& ingest_ref) {
  const Descriptor& layer = image_.parsed.layers[i];
  STACK_TRY(auto writer, begin_layer_blob(store_, layer, ingest_ref));
  if (!writer) return {};  // stored meanwhile: unpacked from the store below
  if (writer->offset() > 0) {
    // A resumed download cannot feed the unpacker from byte 0 through the stream; it is
    // finished into the store first and unpacked from there.
    auto s = std::make_unique<StreamedLayer>();
    s->layer_index = i;
    s->resume_offset = writer->offset();
    s->unpacked = Error(EAGAIN, "resumed");  // marker: unpack from the stored blob afterwards
    s->stream = std::make_unique<LayerStream>(std::move(*writer), nullptr);
    streamed_.push_back(std::move(s));
    return {};
  }
  auto s = std::make_unique<StreamedLayer>();
  s->layer_index = i;
  uint64_t total = layer.size > 0 ? static_cast<uint64_t>(layer.size) : 0;
  std::string id = layer.digest;
  s->stream = std::make_unique<LayerStream>(std::move(*writer), [this, id, total](uint64_t n) {
    progress_.emit(PullEvent::Kind::kDownloading, id, n, total);
  });
  streamed_.push_back(std::move(s));
  return {};
}

Result<bool> LayerPipeline::run() {
  const auto& layers = image_.parsed.layers;
  std::set<std::string> seen;
  std::vector<size_t> wanted;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (store_.has_layer(chains_[i])) {
      progress_.emit(PullEvent::Kind::kAlreadyExists, layers[i].digest);
      continue;
    }
    // A blob used twice in one image (empty layers) is downloaded once, unpacked from the
    // store for its second chain.
    if (store_.has_blob(layers[i].digest) || !seen.insert(layers[i].digest).second) continue;
    wanted.push_back(i);
  }
  if (wanted.empty()) return false;

  for (size_t i : wanted) {
    auto st = start_layer(i, ref_.name() + "@" + layers[i].digest);
    if (!st.ok()) return std::move(st).error().wrap("layer " + layers[i].digest);
  }
  if (streamed_.empty()) return false;

  std::vector<BlobTransfer> transfers;
  for (auto& s : streamed_) {
    const Descriptor& layer = layers[s->layer_index];
    transfers.push_back(BlobTransfer{layer, s->resume_offset, s->stream.get()});
    progress_.emit(PullEvent::Kind::kWaiting, layer.digest, 0,
                   layer.size > 0 ? static_cast<uint64_t>(layer.size) : 0);
  }
  // Unpackers start before the fetch so that they consume from the first byte. A resumed
  // download's bytes only go to the store; a thread discards its queue so it never pauses.
  for (auto& s : streamed_) {
    if (s->unpacked.ok()) {
      s->unpacker = std::thread([this, raw = s.get()] { unpack(*raw); });
    } else {
      s->unpacker = std::thread([raw = s.get()] { raw->stream->drain().ok(); });
    }
  }
  Status fetched = client_.fetch_blobs(ref_, transfers, options_.max_parallel, [&](BlobFetch& f) {
    for (size_t t = 0; t < streamed_.size(); ++t) streamed_[t]->stream->attach(&f, t);
  });
  for (auto& s : streamed_) s->unpacker.join();
  // A layer the unpacker rejected (hostile entries, a DiffID not the config's, a full disk)
  // whose download had already been committed: drop the blob this pull stored, so a failed
  // pull adds no layer content to the store.
  for (auto& s : streamed_) {
    auto outcome = s->stream->outcome();
    if (!s->unpacked.ok() && s->unpacked.error().code != EAGAIN && outcome && outcome->ok())
      ::unlink(store_.blob_path(layers[s->layer_index].digest).c_str());
  }

  // The first real cause: a rejected layer explains the cancelled downloads that follow it.
  std::optional<Error> first;
  for (auto& s : streamed_) {
    const Descriptor& layer = layers[s->layer_index];
    auto outcome = s->stream->outcome();
    if (!s->unpacked.ok() && s->unpacked.error().code != EAGAIN) {
      if (!first || first->code == ECANCELED) first = Error(s->unpacked.error());
    } else if (outcome && !outcome->ok()) {
      Error e = without_subject(outcome->error(), ref_.name());
      e.wrap("layer " + layer.digest);
      if (!first || first->code == ECANCELED) first = std::move(e);
    }
  }
  if (first) return std::move(*first);
  if (!fetched.ok()) return std::move(fetched).error();
  return true;
}

}  // namespace

Result<PullResult> pull_image(const ContentStore& store, RegistryClient& client,
                              const Reference& ref, const PullOptions& options) {
  const std::string label = "image " + ref.string();
  auto fail = [&](Error e) -> Result<PullResult> {
    return without_subject(std::move(e), ref.name()).wrap(label);
  };
  Platform wanted = options.platform ? normalize_platform(*options.platform) : host_platform();
  Progress progress(options.observer);

  // Blobs written by this pull are referenced by no tag until the end: keep GC away.
  auto lease = store.lease();
  if (!lease.ok()) return fail(std::move(lease).error());

  auto resolved = resolve(store, client, ref, wanted);
  if (!resolved.ok()) return fail(std::move(resolved).error());
  progress.emit(PullEvent::Kind::kResolved, resolved->manifest.digest);

  auto config_json = fetch_config(store, client, ref, resolved->parsed.config);
  if (!config_json.ok()) return fail(std::move(config_json).error().wrap("config"));
  auto config = parse_image_config(*config_json);
  if (!config.ok()) return fail(std::move(config).error().wrap("config"));
  if (config->diff_ids.size() != resolved->parsed.layers.size()) {
    return fail(Error(EILSEQ, "the manifest has " + std::to_string(resolved->parsed.layers.size()) +
                                  " layers but the config's rootfs.diff_ids has " +
                                  std::to_string(config->diff_ids.size())));
  }

  if (options.platform && !resolved->from_index) {
    // A single-platform image is what it is; asked for another platform, say so (Docker too
    // refuses instead of storing an image that cannot run as requested).
    Platform have =
        normalize_platform(Platform{config->os, config->architecture, config->variant, ""});
    if (have.os != wanted.os || have.architecture != wanted.architecture ||
        (!wanted.variant.empty() && have.variant != wanted.variant)) {
      return fail(Error(ENOENT, "the image is " + have.to_string() + " only, not " +
                                    wanted.to_string()));
    }
  }
  LayerPipeline pipeline(store, client, ref, *resolved, *config, options, progress);
  auto downloaded = pipeline.run();
  if (!downloaded.ok()) return fail(std::move(downloaded).error());
  // Whatever is still not unpacked has its blob in the store (shared, resumed or repeated).
  auto unpacked = unpack_image(store, resolved->parsed, *config, options.limits);
  if (!unpacked.ok()) return fail(std::move(unpacked).error());

  PullResult result;
  result.downloaded = *downloaded;
  IndexEntry& e = result.image;
  e.reference = ref.string();
  e.target_digest = resolved->target.digest;
  e.target_media_type = resolved->target.media_type;
  e.manifest_digest = resolved->manifest.digest;
  e.config_digest = resolved->parsed.config.digest;
  if (resolved->from_index) {
    e.platform = resolved->platform;
  } else {
    e.platform = normalize_platform(Platform{config->os, config->architecture, config->variant, ""});
  }
  e.pulled_at_unix = static_cast<int64_t>(::time(nullptr));
  auto tagged = store.tag(e.reference, e);
  if (!tagged.ok()) return fail(std::move(tagged).error());
  return result;
}

}  // namespace stack::engine::image
