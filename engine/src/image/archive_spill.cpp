// Spill: blobs whose digest is known only after their last byte, written once into the store.
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
  STACK_TRY(BlobWriter w, store.begin_unknown_blob());
  s.writer_.emplace(std::move(w));
  return s;
}

Spill::~Spill() {
  if (writer_) writer_->abort();  // no-op once committed or after a failed write
}

Status Spill::write(const void* data, size_t size) {
  if (head_.size() < 8) {
    head_.append(static_cast<const char*>(data), std::min<size_t>(size, 8 - head_.size()));
  }
  STACK_TRY_VOID(writer_->write(data, size));
  size_ += size;
  return {};
}

Result<std::string> Spill::commit(const ContentStore&) { return writer_->commit(); }

std::string rfc3339_utc(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace stack::engine::image::archive_detail
