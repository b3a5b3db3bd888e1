// JsonLogWriter: log.json with Docker json-file rotation (shim_protocol.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "stack/engine/shim_protocol.h"

namespace stack::engine {

JsonLogWriter::JsonLogWriter(std::string path, ShimLogConfig config)
    : path_(std::move(path)), config_(config) {}

Status JsonLogWriter::open() {
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd_) return errno_error("opening " + path_);
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return errno_error("stat " + path_);
  size_ = st.st_size;
  return {};
}

// As Docker's json-file: the newest rotated file is .1; the oldest beyond max_file-1 goes.
Status JsonLogWriter::rotate() {
  if (config_.max_file <= 1) {
    if (::ftruncate(fd_.get(), 0) != 0) return errno_error("truncating " + path_);
    size_ = 0;
    return {};
  }
  const std::string oldest = rotated_log_name(path_, config_.max_file - 1);
  if (::unlink(oldest.c_str()) != 0 && errno != ENOENT) return errno_error("removing " + oldest);
  for (int i = config_.max_file - 2; i >= 0; --i) {
    const std::string from = rotated_log_name(path_, i), to = rotated_log_name(path_, i + 1);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
      return errno_error("rotating " + from + " to " + to);
  }
  return open();
}

Status JsonLogWriter::write_line(std::string_view line) {
  if (!fd_) STACK_TRY_VOID(open());
  if (config_.max_size > 0 && size_ >= config_.max_size) STACK_TRY_VOID(rotate());
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_.get(), line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("writing " + path_);
    done += static_cast<size_t>(n);
  }
  size_ += static_cast<int64_t>(line.size());
  return {};
}

}  // namespace stack::engine
