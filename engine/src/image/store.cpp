// ContentStore: layout, blob lookup and reads, put_blob, chain ids and the GC lease.
#include "stack/engine/image/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "stack/common/atomic_file.h"

namespace stack::engine::image {
namespace {

constexpr std::string_view kSha256Prefix = "sha256:";

// The hex part of a well-formed sha256 digest, or "" (keeps malformed input out of paths).
std::string_view sha256_hex_of(std::string_view digest) {
  if (digest.substr(0, kSha256Prefix.size()) != kSha256Prefix) return {};
  if (!is_valid_digest(digest)) return {};
  return digest.substr(kSha256Prefix.size());
}

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return {};
  return errno_error("create directory " + path);
}

}  // namespace

std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  out.reserve(diff_ids.size());
  for (const auto& diff_id : diff_ids) {
    if (out.empty()) {
      out.push_back(diff_id);
    } else {
      out.push_back("sha256:" + sha256_hex(out.back() + " " + diff_id));
    }
  }
  return out;
}

Result<ContentStore> ContentStore::open(const std::string& root) {
  if (root.empty()) return Error(EINVAL, "content store: empty root path");
  std::string clean = root;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  // The root's parents (/var/lib/stack) may not exist yet on a fresh host.
  for (size_t slash = clean.find('/', 1); slash != std::string::npos;
       slash = clean.find('/', slash + 1)) {
    STACK_TRY_VOID(make_dir(clean.substr(0, slash)));
  }
  for (const char* sub : {"", "/blobs", "/blobs/sha256", "/ingest", "/layers"}) {
    STACK_TRY_VOID(make_dir(clean + sub));
  }
  return ContentStore(std::move(clean));
}

std::string ContentStore::blob_path(std::string_view digest) const {
  auto hex = sha256_hex_of(digest);
  if (hex.empty()) return {};
  return root_ + "/blobs/sha256/" + std::string(hex);
}

std::string ContentStore::layer_dir(std::string_view chain_id) const {
  auto hex = sha256_hex_of(chain_id);
  if (hex.empty()) return {};
  return root_ + "/layers/" + std::string(hex);
}

bool ContentStore::has_layer(std::string_view chain_id) const {
  std::string dir = layer_dir(chain_id);
  struct stat st;
  return !dir.empty() && ::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool ContentStore::has_blob(std::string_view digest) const {
  std::string path = blob_path(digest);
  struct stat st;
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> ContentStore::read_blob(std::string_view digest) const {
  std::string path = blob_path(digest);
  if (path.empty()) {
    if (is_valid_digest(digest)) {
      return Error(ENOTSUP, "unsupported digest algorithm: " + std::string(digest));
    }
    return Error(EINVAL, "invalid digest \"" + std::string(digest) + "\"");
  }
  auto data = read_file(path);
  if (!data) {
    if (data.error().code == ENOENT) {
      return Error(ENOENT, "blob " + std::string(digest) + " not found");
    }
    return std::move(data).error().wrap("blob " + std::string(digest));
  }
  // Blobs are immutable once committed; a mismatch means disk corruption or tampering.
  std::string actual = "sha256:" + sha256_hex(*data);
  if (actual != digest) {
    return Error(EILSEQ, "blob " + std::string(digest) + " is corrupt (content hashes to " +
                             actual + ")");
  }
  return data;
}

Result<std::string> ContentStore::put_blob(std::string_view data) const {
  std::string digest = "sha256:" + sha256_hex(data);
  if (has_blob(digest)) return digest;
  auto writer = begin_blob(digest, static_cast<int64_t>(data.size()), "put " + digest);
  // Another process (or thread) is putting the same bytes: it will publish them shortly.
  for (int waited_ms = 0; !writer && writer.error().code == EAGAIN && waited_ms < 30'000;
       waited_ms += 10) {
    ::usleep(10'000);
    if (has_blob(digest)) return digest;
    writer = begin_blob(digest, static_cast<int64_t>(data.size()), "put " + digest);
  }
  if (!writer) {
    if (writer.error().code == EEXIST) return digest;
    return std::move(writer).error();
  }
  if (writer->offset() != 0) {
    // A leftover partial put: its content was ours too, but restart rather than trust it.
    writer->abort();
    return put_blob(data);
  }
  STACK_TRY_VOID(writer->write(data.data(), data.size()));
  return writer->commit();
}

Result<UniqueFd> ContentStore::lease() const {
  std::string path = root_ + "/gc.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return errno_error("open " + path);
  if (::flock(fd.get(), LOCK_SH) != 0) return errno_error("lock " + path);
  return fd;
}

}  // namespace stack::engine::image
