// unpack_layer: drives a two-stage libarchive pipeline and the temp-dir/rename protocol.
//
// Why two stages: the DiffID is the sha256 of the *uncompressed* tar, and libarchive's tar
// reader never hands out the bytes its decompression filter produced. So an outer reader
// (filters gzip/bzip2/xz/zstd + the "raw" format) only decompresses; its output is hashed and
// fed through a read callback to an inner reader that parses tar with no filter. One pass over
// the source, no temporary copy, and the hash covers exactly what the tar parser saw plus any
// bytes after the end-of-archive marker (drained at the end).
#include "stack/engine/image/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <vector>

#include "image/layer_internal.h"
#include "image/libarchive_filters.h"
#include "stack/common/log.h"
#include "stack/common/sha256.h"

namespace stack::engine::image {

Result<size_t> FdByteSource::read(void* buffer, size_t size) {
  for (;;) {
    ssize_t n = ::read(fd_, buffer, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return errno_error("read");
  }
}

namespace {

constexpr size_t kBufferBytes = 128 * 1024;

class Pipeline {
 public:
  explicit Pipeline(ByteSource& source) : source_(source), in_(kBufferBytes), mid_(kBufferBytes) {}
  ~Pipeline() {
    if (inner_) archive_read_free(inner_);
    if (outer_) archive_read_free(outer_);
  }
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  Status open();
  struct archive* tar() { return inner_; }
  // Hashes what follows the tar's end marker so the DiffID covers the whole stream.
  Status drain();
  std::string diff_id() { return "sha256:" + hash_.hex_digest(); }
  // Turns a failure seen by the tar reader into the error the user should see: the source's
  // own error, a decompression error, "truncated: …" when the stream ended early, or a
  // malformed tar.
  Error stream_error(const std::string& what) const;
  // Records the decompressing reader's error and returns stream_error() for it.
  Error outer_failed();

 private:
  static la_ssize_t read_source(struct archive* a, void* self, const void** buffer);
  static la_ssize_t read_decompressed(struct archive* a, void* self, const void** buffer);

  ByteSource& source_;
  std::vector<char> in_;
  std::vector<char> mid_;
  struct archive* outer_ = nullptr;
  struct archive* inner_ = nullptr;
  Sha256 hash_;
  std::optional<Error> source_error_;
  std::string outer_error_;
  bool saw_eof_ = false;
};

la_ssize_t Pipeline::read_source(struct archive* a, void* self, const void** buffer) {
  auto* p = static_cast<Pipeline*>(self);
  auto n = p->source_.read(p->in_.data(), p->in_.size());
  if (!n.ok()) {
    p->source_error_ = n.error();
    archive_set_error(a, EIO, "%s", n.error().to_string().c_str());
    return -1;
  }
  *buffer = p->in_.data();
  return static_cast<la_ssize_t>(*n);
}

la_ssize_t Pipeline::read_decompressed(struct archive* a, void* self, const void** buffer) {
  auto* p = static_cast<Pipeline*>(self);
  la_ssize_t n = archive_read_data(p->outer_, p->mid_.data(), p->mid_.size());
  if (n < 0) {
    p->outer_failed();
    archive_set_error(a, EIO, "%s", p->outer_error_.c_str());
    return -1;
  }
  if (n == 0) p->saw_eof_ = true;
  p->hash_.update(p->mid_.data(), static_cast<size_t>(n));
  *buffer = p->mid_.data();
  return n;
}

Status Pipeline::open() {
  outer_ = archive_read_new();
  inner_ = archive_read_new();
  if (!outer_ || !inner_) return Error(ENOMEM, "libarchive: out of memory");
  enable_builtin_decompression(outer_);
  archive_read_support_format_raw(outer_);
  // Both calls already read ahead and decompress, so their errors are decompression errors.
  struct archive_entry* raw = nullptr;
  if (archive_read_open(outer_, this, nullptr, read_source, nullptr) != ARCHIVE_OK ||
      archive_read_next_header(outer_, &raw) != ARCHIVE_OK) {
    return outer_failed();
  }
  archive_read_support_format_tar(inner_);
  if (archive_read_open(inner_, this, nullptr, read_decompressed, nullptr) != ARCHIVE_OK)
    return stream_error(archive_error_string(inner_));
  return {};
}

Status Pipeline::drain() {
  for (;;) {
    la_ssize_t n = archive_read_data(outer_, mid_.data(), mid_.size());
    if (n < 0) return outer_failed();
    if (n == 0) return {};
    hash_.update(mid_.data(), static_cast<size_t>(n));
  }
}

Error Pipeline::outer_failed() {
  const char* msg = archive_error_string(outer_);
  outer_error_ = msg ? msg : "read error";
  return stream_error(outer_error_);
}

Error Pipeline::stream_error(const std::string& what) const {
  if (source_error_) return *source_error_;
  if (!outer_error_.empty()) {
    if (outer_error_.find("runcated") != std::string::npos)
      return Error(EPROTO, "truncated: " + outer_error_);
    return Error(EPROTO, "decompress: " + outer_error_);
  }
  if (saw_eof_) return Error(EPROTO, "truncated: " + what);
  return Error(EPROTO, "invalid tar: " + what);
}

Result<UnpackStats> unpack_into(ByteSource& source, int root_fd, const UnpackLimits& limits) {
  Pipeline pipeline(source);
  STACK_TRY_VOID(pipeline.open());
  layer_detail::EntryWriter writer(root_fd, limits);
  for (;;) {
    struct archive_entry* entry = nullptr;
    int r = archive_read_next_header(pipeline.tar(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      const char* msg = archive_error_string(pipeline.tar());
      return pipeline.stream_error(msg ? msg : "read error");
    }
    auto st = writer.write(pipeline.tar(), entry);
    if (!st.ok()) {
      if (st.error().code == EPROTO) return pipeline.stream_error(st.error().to_string());
      return std::move(st).error();
    }
  }
  STACK_TRY_VOID(pipeline.drain());
  STACK_TRY_VOID(writer.finish());
  // Without a "./" entry the root keeps mkdtemp's 0700, which would lock non-root container
  // users out of the merged rootfs.
  if (!writer.root_seen() && ::fchmod(root_fd, 0755) != 0) return errno_error("chmod layer root");
  UnpackStats stats;
  stats.entries = writer.entries();
  stats.bytes = writer.bytes();
  stats.diff_id = pipeline.diff_id();
  return stats;
}

}  // namespace

Result<UnpackStats> unpack_layer(ByteSource& source, const std::string& name,
                                 const std::string& target_dir, const UnpackLimits& limits,
                                 const BeforePublish& before_publish) {
  const std::string label = name.empty() ? "layer" : "layer " + name;
  struct stat st;
  if (::lstat(target_dir.c_str(), &st) == 0)
    return Error(EEXIST, "target " + target_dir + " already exists").wrap(label);
  std::string tmp = target_dir + ".tmp-XXXXXX";
  if (!::mkdtemp(tmp.data())) return errno_error("create " + tmp).wrap(label);

  Result<UnpackStats> result = Error(EINVAL, "not run");
  {
    UniqueFd root(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root) result = errno_error("open " + tmp);
    else result = unpack_into(source, root.get(), limits);
  }
  if (result.ok() && before_publish) {
    if (auto st = before_publish(*result); !st.ok()) result = std::move(st).error();
  }
  if (result.ok() && ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target_dir.c_str(),
                                 RENAME_NOREPLACE) != 0) {
    result = errno_error("rename to " + target_dir);
  }
  if (result.ok()) return result;
  // A rejected layer leaves nothing behind: the temp tree goes, whatever it holds.
  if (auto removed = layer_detail::remove_at(AT_FDCWD, tmp); !removed.ok())
    log::warn("removing " + tmp + ": " + removed.error().to_string());
  return std::move(result).error().wrap(label);
}

}  // namespace stack::engine::image
