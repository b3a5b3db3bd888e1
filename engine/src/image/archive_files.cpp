// ArchiveFiles: one streaming pass over an image archive (image load), blobs into the store.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "image/archive_internal.h"
#include "image/libarchive_filters.h"
#include "stack/common/path.h"

namespace stack::engine::image::archive_detail {
namespace {

constexpr size_t kBufferBytes = 128 * 1024;
// Files kept in memory until the whole archive is read: the JSON documents are small, and
// docker-archive configs are named <hex>.json without being content addressed.
constexpr int64_t kSmallFileBytes = 1 << 20;
constexpr size_t kSmallTotalBytes = 64u << 20;
constexpr uint64_t kMaxTextBytes = 16u << 20;
constexpr int kMaxLinkHops = 16;
constexpr std::string_view kBlobPrefix = "blobs/sha256/";

struct Reader {
  ByteSource& source;
  std::vector<char> buf = std::vector<char>(kBufferBytes);
  std::optional<Error> source_error;

  static la_ssize_t read(struct archive* a, void* self, const void** out) {
    auto* r = static_cast<Reader*>(self);
    auto n = r->source.read(r->buf.data(), r->buf.size());
    if (!n.ok()) {
      r->source_error = n.error();
      archive_set_error(a, EIO, "%s", n.error().to_string().c_str());
      return -1;
    }
    *out = r->buf.data();
    return static_cast<la_ssize_t>(*n);
  }
};

// "./a//b/" → "a/b"; "/x" → "x"; "" when the name climbs out of the archive ("../x").
std::string clean_entry_name(std::string_view name) {
  std::string p = clean_path(name);
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (p == ".." || p.rfind("../", 0) == 0) return "";
  return p.empty() ? "." : p;
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

bool is_blob_name(std::string_view path, std::string& digest) {
  if (path.substr(0, kBlobPrefix.size()) != kBlobPrefix) return false;
  std::string d = "sha256:" + std::string(path.substr(kBlobPrefix.size()));
  if (!is_valid_digest(d)) return false;
  digest = std::move(d);
  return true;
}

// Streams the current entry's data into `sink` (a callable taking (data, size) → Status).
template <class Sink>
Status copy_data(struct archive* a, Sink&& sink) {
  char buf[kBufferBytes];
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n < 0) return Error(EIO, archive_error_string(a) ? archive_error_string(a) : "read error");
    if (n == 0) return {};
    STACK_TRY_VOID(sink(buf, static_cast<size_t>(n)));
  }
}

std::string read_head(const ContentStore& store, const std::string& digest) {
  char head[8] = {};
  UniqueFd fd(::open(store.blob_path(digest).c_str(), O_RDONLY | O_CLOEXEC));
  ssize_t n = fd ? ::pread(fd.get(), head, sizeof head, 0) : 0;
  return std::string(head, n > 0 ? static_cast<size_t>(n) : 0);
}

}  // namespace

Status ArchiveFiles::read(ByteSource& tar) {
  Reader reader{tar};
  struct archive* a = archive_read_new();
  if (!a) return Error(ENOMEM, "libarchive: out of memory");
  std::unique_ptr<struct archive, int (*)(struct archive*)> guard(a, archive_read_free);
  enable_builtin_decompression(a);
  archive_read_support_format_tar(a);
  auto fail = [&](const std::string& where) -> Error {
    if (reader.source_error) return Error(*reader.source_error).wrap(where);
    const char* msg = archive_error_string(a);
    std::string text = msg ? msg : "read error";
    // libarchive says "Truncated tar archive" or reports a short read at end of input.
    return Error(EIO, text).wrap(where);
  };
  if (archive_read_open(a, &reader, nullptr, Reader::read, nullptr) != ARCHIVE_OK) {
    return fail("not a tar archive");
  }
  std::string last = "(start of archive)";
  for (;;) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) return {};
    if (r < ARCHIVE_WARN) return fail("after entry \"" + last + "\"");
    const char* raw = archive_entry_pathname(e);
    std::string name = raw ? raw : "";
    std::string path = clean_entry_name(name);
    if (path.empty()) {
      return Error(EPERM, "entry \"" + name + "\": path escapes the archive");
    }
    last = path;
    auto st = read_file(a, e, path);
    if (!st.ok()) {
      if (reader.source_error && st.error().code == EIO) return fail("entry \"" + path + "\"");
      return std::move(st).error().wrap("entry \"" + path + "\"");
    }
  }
}

Status ArchiveFiles::read_file(struct archive* a, struct archive_entry* e,
                               const std::string& path) {
  if (path == ".") return {};
  if (small_.count(path) || stored_.count(path) || links_.count(path)) {
    return Error(EINVAL, "duplicate entry");
  }
  if (const char* target = archive_entry_hardlink(e)) {
    std::string t = clean_entry_name(target);
    if (t.empty()) return Error(EPERM, "hardlink target \"" + std::string(target) + "\" escapes");
    links_[path] = t;
    return {};
  }
  auto type = archive_entry_filetype(e);
  if (type == AE_IFLNK) {
    const char* target = archive_entry_symlink(e);
    std::string t = target ? target : "";
    std::string joined = !t.empty() && t[0] == '/' ? t : parent_of(path) + "/" + t;
    links_[path] = clean_entry_name(joined);  // "" (escapes) fails on lookup
    return {};
  }
  if (type != AE_IFREG) return {};  // directories and others carry nothing we need
  std::string digest;
  if (is_blob_name(path, digest)) return read_named_blob(a, e, path, digest);
  int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
  if (size >= 0 && size <= kSmallFileBytes && small_bytes_ + size <= kSmallTotalBytes) {
    std::string data;
    STACK_TRY_VOID(copy_data(a, [&](const char* p, size_t n) -> Status {
      if (data.size() + n > static_cast<size_t>(kSmallFileBytes)) {
        return Error(EINVAL, "more data than its header declares");
      }
      data.append(p, n);
      return {};
    }));
    small_bytes_ += data.size();
    small_[path] = std::move(data);
    return {};
  }
  STACK_TRY(Spill spill, Spill::create(store_));
  STACK_TRY_VOID(copy_data(a, [&](const char* p, size_t n) { return spill.write(p, n); }));
  StoredFile f{"", spill.size(), detect_compression(spill.head())};
  STACK_TRY(f.digest, spill.commit(store_));
  stored_[path] = std::move(f);
  return {};
}

Status ArchiveFiles::read_named_blob(struct archive* a, struct archive_entry* e,
                                     const std::string& path, const std::string& digest) {
  int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : ContentStore::kUnknownSize;
  StoredFile f{digest, size < 0 ? 0 : static_cast<uint64_t>(size), Compression::kNone};
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto writer = store_.begin_blob(digest, size, "load " + digest);
    if (!writer.ok() && writer.error().code == EEXIST) {
      // Already stored (and verified then): skip the bytes.
      if (archive_read_data_skip(a) != ARCHIVE_OK) {
        return Error(EIO, archive_error_string(a) ? archive_error_string(a) : "read error");
      }
      f.compression = detect_compression(read_head(store_, digest));
      stored_[path] = std::move(f);
      return {};
    }
    if (!writer.ok()) return std::move(writer).error();
    if (writer->offset() != 0) {  // a partial ingest of an earlier, interrupted load
      writer->abort();
      continue;
    }
    std::string head;
    auto st = copy_data(a, [&](const char* p, size_t n) -> Status {
      if (head.size() < 8) head.append(p, std::min<size_t>(n, 8 - head.size()));
      return writer->write(p, n);
    });
    if (!st.ok()) {
      writer->abort();
      return st;
    }
    STACK_TRY_VOID(writer->commit());
    f.compression = detect_compression(head);
    stored_[path] = std::move(f);
    return {};
  }
  return Error(EAGAIN, "leftover ingest file keeps reappearing");
}

Result<std::string> ArchiveFiles::follow(const std::string& path) const {
  std::string p = path;
  for (int hop = 0; hop < kMaxLinkHops; ++hop) {
    if (small_.count(p) || stored_.count(p)) return p;
    auto link = links_.find(p);
    if (link == links_.end()) {
      return Error(ENOENT, "entry \"" + path + "\": not in the archive");
    }
    if (link->second.empty())
      return Error(EPERM, "entry \"" + path + "\": link escapes the archive");
    p = link->second;
  }
  return Error(ELOOP, "entry \"" + path + "\": too many levels of links");
}

bool ArchiveFiles::has(const std::string& path) const { return follow(path).ok(); }

Result<std::string> ArchiveFiles::text(const std::string& path) const {
  STACK_TRY(std::string p, follow(path));
  if (auto it = small_.find(p); it != small_.end()) return it->second;
  const StoredFile& f = stored_.at(p);
  if (f.size > kMaxTextBytes) return Error(EFBIG, "entry \"" + path + "\": too large for JSON");
  auto data = store_.read_blob(f.digest);
  if (!data.ok()) return std::move(data).error().wrap("entry \"" + path + "\"");
  return data;
}

Result<StoredFile> ArchiveFiles::blob(const std::string& path) {
  STACK_TRY(std::string p, follow(path));
  if (auto it = stored_.find(p); it != stored_.end()) return it->second;
  const std::string& data = small_.at(p);
  auto digest = store_.put_blob(data);
  if (!digest.ok()) return std::move(digest).error().wrap("entry \"" + path + "\"");
  StoredFile f{*digest, data.size(), detect_compression(data)};
  stored_[p] = f;
  small_bytes_ -= data.size();
  small_.erase(p);
  return f;
}

std::string ArchiveFiles::entry_of(const std::string& digest) const {
  for (const auto& [path, f] : stored_) {
    if (f.digest == digest) return path;
  }
  return digest;
}

}  // namespace stack::engine::image::archive_detail
