// Shared by archive_load.cpp, archive_save.cpp, archive_import.cpp and archive_changes.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/sha256.h"
#include "stack/common/unique_fd.h"
#include "image/media_types.h"
#include "stack/engine/image/layer.h"
#include "stack/engine/image/store.h"

struct archive;
struct archive_entry;

namespace stack::engine::image::archive_detail {

using media_types::kDockerLayerTar;

enum class Compression { kNone, kGzip, kZstd, kOther };

// From a blob's first bytes (gzip 1f 8b, zstd 28 b5 2f fd, bzip2 "BZh", xz fd "7zXZ").
Compression detect_compression(std::string_view head);

// Content whose digest is known only at its end (a docker-archive layer.tar, an imported layer):
// streamed once into the store through begin_unknown_blob(), which hashes it on the way and
// publishes it under that digest at commit(). Keeps the first bytes for detect_compression. An
// uncommitted Spill removes its ingest file when destroyed.
class Spill {
 public:
  static Result<Spill> create(const ContentStore& store);
  Spill(Spill&&) noexcept = default;
  Spill& operator=(Spill&&) noexcept = default;
  ~Spill();

  Status write(const void* data, size_t size);
  uint64_t size() const { return size_; }
  // The first bytes written (for detect_compression).
  const std::string& head() const { return head_; }
  // Publishes the content as a blob (of the store given to create()); returns its digest.
  Result<std::string> commit(const ContentStore& store);

 private:
  Spill() = default;
  std::optional<BlobWriter> writer_;
  uint64_t size_ = 0;
  std::string head_;
};

// A file of a loaded archive once it is in the store.
struct StoredFile {
  std::string digest;
  uint64_t size = 0;
  Compression compression = Compression::kNone;
};

// The regular files of an archive read in one pass (archive_files.cpp). Files named
// blobs/sha256/<hex> stream into the store verified against their name; other small files stay
// in memory (manifest.json, configs, index.json); other large ones are spilled and stored under
// their computed digest. Symlinks and hardlinks between entries are followed on lookup. Paths are
// cleaned ("./a//b" → "a/b"). Errors name the entry: `entry "x": …`.
class ArchiveFiles {
 public:
  explicit ArchiveFiles(const ContentStore& store) : store_(store) {}
  Status read(ByteSource& tar);

  bool has(const std::string& path) const;
  // A JSON document: an in-memory file, or a stored one of at most 16 MiB.
  Result<std::string> text(const std::string& path) const;
  // The file as a stored blob (an in-memory file is stored now).
  Result<StoredFile> blob(const std::string& path);
  // The entry a stored blob came from ("blobs/sha256/…", "abc/layer.tar"), or the digest.
  std::string entry_of(const std::string& digest) const;

 private:
  Result<std::string> follow(const std::string& path) const;
  Status read_file(struct archive* a, struct archive_entry* e, const std::string& path);
  Status read_named_blob(struct archive* a, struct archive_entry* e, const std::string& path,
                         const std::string& digest);

  const ContentStore& store_;
  std::map<std::string, std::string> small_;
  std::map<std::string, StoredFile> stored_;
  std::map<std::string, std::string> links_;
  size_t small_bytes_ = 0;
};

// Writes `data` fully to `fd` (retrying EINTR and short writes).
Status write_all(int fd, const void* data, size_t size, const std::string& what);

// A layer blob written by write_layer (archive_layer.cpp), stored.
struct LayerBlob {
  std::string digest;   // of the gzip stream, as stored
  std::string diff_id;  // of the tar inside
  uint64_t size = 0;
};

// Archives `source` (a directory, a tar file, or "-" for stdin) as a gzip'ed pax layer into the
// store; see import_image() in archive.h for the normalization. Errors name the entry.
Result<LayerBlob> write_layer(const ContentStore& store, const std::string& source);

// Applies `docker import --change` instructions to an image config document
// (its "config" object is created as needed). Errors: `--change "…": …`.
Status apply_changes(nlohmann::json& config, const std::vector<std::string>& changes);

// "2024-05-01T12:00:00Z" for a Unix time (UTC, as image configs' "created").
std::string rfc3339_utc(int64_t unix_seconds);

}  // namespace stack::engine::image::archive_detail
