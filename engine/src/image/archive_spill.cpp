// Spill: blobs whose digest is known only after their last byte, staged under <store>/ingest.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "image/archive_internal.h"

namespace stack::engine::image::archive_detail {

Compression detect_compression(std::string_view head) {
  auto starts = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b")) return Compression::kGzip;
  if (starts("\x28\xb5\x2f\xfd")) return Compression::kZstd;
  if (starts("BZh") || starts("\xfd"
                              "7zXZ"))
    return Compression::kOther;
  return Compression::kNone;
}

Status write_all(int fd, const void* data, size_t size, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write " + what);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

Result<Spill> Spill::create(const ContentStore& store) {
  Spill s;
  s.path_ = store.root() + "/ingest/archive-XXXXXX";
  // The name is not 64 hex digits, so begin_blob never mistakes it for a resumable download.
  int fd = ::mkostemp(s.path_.data(), O_CLOEXEC);
  if (fd < 0) return errno_error("create temporary file in " + store.root() + "/ingest");
  s.fd_.reset(fd);
  s.hash_ = std::make_unique<Sha256>();
  return s;
}

Spill::~Spill() {
  if (!path_.empty() && fd_) ::unlink(path_.c_str());
}

Status Spill::write(const void* data, size_t size) {
  if (head_.size() < 8) {
    head_.append(static_cast<const char*>(data), std::min<size_t>(size, 8 - head_.size()));
  }
  STACK_TRY_VOID(write_all(fd_.get(), data, size, path_));
  hash_->update(data, size);
  size_ += size;
  return {};
}

Result<std::string> Spill::commit(const ContentStore& store) {
  std::string digest = "sha256:" + hash_->hex_digest();
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto writer = store.begin_blob(digest, static_cast<int64_t>(size_), "spill " + digest);
    if (!writer.ok() && writer.error().code == EEXIST) return digest;
    if (!writer.ok()) return std::move(writer).error();
    if (writer->offset() != 0) {
      // A partial copy left by a crashed load: restart rather than trust its bytes.
      writer->abort();
      continue;
    }
    std::vector<char> buf(1 << 17);
    for (uint64_t off = 0; off < size_;) {
      ssize_t n = ::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        writer->abort();
        return n < 0 ? errno_error("read " + path_) : Error(EIO, "read " + path_ + ": short file");
      }
      STACK_TRY_VOID(writer->write(buf.data(), static_cast<size_t>(n)));
      off += static_cast<uint64_t>(n);
    }
    return writer->commit();
  }
  return Error(EAGAIN, "blob " + digest + ": leftover ingest file keeps reappearing");
}

std::string rfc3339_utc(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace stack::engine::image::archive_detail
