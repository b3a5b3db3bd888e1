// The local image content store, content-addressed like containerd's:
//   <root>/blobs/sha256/<hex>   verified blobs (read-only files; never visible unverified)
//   <root>/ingest/<name>        blobs being written, flock'ed by their writer (downloads resumable)
//   <root>/index.json           image reference → IndexEntry (updated under <root>/index.lock)
//   <root>/layers/<hex>/        unpacked layers, named by chain id (written by the unpacker)
//   <root>/gc.lock              shared by pulls (lease()), exclusive for collect_garbage()
// Several processes may use one root at once. Digests are "sha256:<hex>"; other algorithms are
// refused with ENOTSUP.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/sha256.h"
#include "stack/common/unique_fd.h"
#include "stack/engine/image/image_config.h"

namespace stack::engine::image {

// ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))
// (OCI image-spec config.md). Returns one chain id per layer, base first.
std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids);

// What a reference resolves to locally.
struct IndexEntry {
  std::string reference;          // normalized, e.g. "docker.io/library/alpine:3.19"
  std::string target_digest;      // what the reference pointed at: an index or a manifest
  std::string target_media_type;
  std::string manifest_digest;    // the platform's image manifest (== target for single images)
  std::string config_digest;
  Platform platform;
  int64_t pulled_at_unix = 0;     // seconds
  bool operator==(const IndexEntry&) const = default;
};

struct GcStats {
  int blobs_removed = 0;
  uint64_t bytes_removed = 0;
  int layers_removed = 0;
};

// Streams one blob into the ingest area and publishes it only after verification. Holds an
// exclusive flock on its ingest file for its lifetime. Destroying it without commit() or abort()
// keeps the partial file so that a later begin_blob with the same ingest ref resumes. Move-only;
// not thread-safe.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) noexcept;
  ~BlobWriter();

  // Appends data (the next bytes after offset()). Errors (ENOSPC, more bytes than expected)
  // remove the ingest file; the writer is then unusable.
  Status write(const void* data, size_t size);
  // Bytes held so far, including those found when resuming.
  uint64_t offset() const { return offset_; }
  // Verifies size and digest, fsyncs, renames into blobs/ and returns the digest. On a
  // mismatch the ingest file is deleted: "digest mismatch: expected sha256:…, got sha256:…"
  // or "size mismatch: expected N bytes, got M" (EILSEQ).
  Result<std::string> commit();
  // Deletes the ingest file.
  void abort();

 private:
  friend class ContentStore;
  BlobWriter() = default;
  Status fail_and_remove();

  UniqueFd fd_;
  std::string ingest_path_, blob_path_, blobs_dir_, digest_;
  int64_t expected_size_ = -1;
  uint64_t offset_ = 0;
  std::unique_ptr<Sha256> hash_;  // boxed: Sha256 is not movable
};

class ContentStore {
 public:
  static constexpr int64_t kUnknownSize = -1;

  // Creates the directory layout below `root` if needed. Errors name the path.
  static Result<ContentStore> open(const std::string& root);

  const std::string& root() const { return root_; }
  bool has_blob(std::string_view digest) const;
  // <root>/blobs/sha256/<hex>, or "" for a malformed or non-sha256 digest.
  std::string blob_path(std::string_view digest) const;
  // Reads a whole blob (meant for manifests and configs) and re-verifies its digest.
  // ENOENT "blob sha256:… not found"; EILSEQ when the file no longer matches.
  Result<std::string> read_blob(std::string_view digest) const;

  // Starts (or resumes) writing the blob `expected_digest`. `ingest_ref` names the download
  // stably (e.g. "docker.io/library/alpine@sha256:…") so that a retry finds its partial file.
  // EEXIST if the blob is already stored; EAGAIN if another writer (any process) holds it.
  Result<BlobWriter> begin_blob(std::string_view expected_digest, int64_t expected_size,
                                std::string_view ingest_ref) const;
  // Starts a blob whose digest is known only at its end (import, docker-archive layers):
  // commit() hashes what was written and publishes it under that digest (when that blob already
  // exists, the ingest file is dropped and commit() still returns the digest). Not resumable:
  // the ingest file is named uniquely and removed by abort(), by a failed write, or by GC once
  // its writer is gone (collect_garbage sweeps unlocked ingest files).
  Result<BlobWriter> begin_unknown_blob() const;
  // Stores bytes we produced (manifests, configs); returns their digest. Idempotent.
  Result<std::string> put_blob(std::string_view data) const;

  // Index of references (atomic replacement of index.json under an flock; safe across
  // processes). tag() overwrites; untag() of an unknown reference is ENOENT "no such image: …".
  Status tag(const std::string& reference, const IndexEntry& entry) const;
  std::optional<IndexEntry> resolve(const std::string& reference) const;
  std::vector<IndexEntry> list() const;  // sorted by reference; empty if index.json is unreadable
  Status untag(const std::string& reference) const;

  // A shared lock that keeps collect_garbage() away while a pull writes blobs that no
  // reference names yet. Release it (drop the fd) after tag().
  Result<UniqueFd> lease() const;
  // Removes blobs and layer dirs not reachable from the index (index → manifests → config and
  // layers; config diff_ids → chain ids). EBUSY while any lease is held. Also removes
  // partial downloads in ingest/ whose writer is gone (no flock) and unpack temp trees.
  Result<GcStats> collect_garbage() const;

  // <root>/layers/<hex of chain id>: without "sha256:" because overlayfs lowerdir= separates
  // directories with ':'. "" for a malformed chain id.
  std::string layer_dir(std::string_view chain_id) const;
  // Whether layers/<chain id> exists (a published, complete unpack).
  bool has_layer(std::string_view chain_id) const;

 private:
  explicit ContentStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace stack::engine::image
