// Test helpers for layer unpacking: tar streams built in memory with libarchive's writer, a
// ByteSource over a string, and a self-removing temp directory. Header-only so that both
// layer_test.cpp and layer_root_test.cpp use it without a CMake change.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "stack/engine/image/layer.h"

namespace layer_test {

struct TarEntry {
  std::string path;
  unsigned type = AE_IFREG;  // AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFBLK, AE_IFIFO
  unsigned mode = 0644;
  std::string data;
  std::string symlink;   // target of a symlink
  std::string hardlink;  // target of a hardlink (type stays AE_IFREG)
  int64_t uid = static_cast<int64_t>(::geteuid());
  int64_t gid = static_cast<int64_t>(::getegid());
  time_t mtime = 1'600'000'000;
  long mtime_nsec = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
  unsigned rdev_major = 0, rdev_minor = 0;
};

inline TarEntry file(std::string path, std::string data, unsigned mode = 0644) {
  TarEntry e;
  e.path = std::move(path);
  e.data = std::move(data);
  e.mode = mode;
  return e;
}
inline TarEntry dir(std::string path, unsigned mode = 0755) {
  TarEntry e;
  e.path = std::move(path);
  e.type = AE_IFDIR;
  e.mode = mode;
  return e;
}
inline TarEntry sym(std::string path, std::string target) {
  TarEntry e;
  e.path = std::move(path);
  e.type = AE_IFLNK;
  e.mode = 0777;
  e.symlink = std::move(target);
  return e;
}
inline TarEntry hard(std::string path, std::string target) {
  TarEntry e;
  e.path = std::move(path);
  e.hardlink = std::move(target);
  return e;
}

enum class Compression { kNone, kGzip, kZstd };

inline la_ssize_t append_cb(struct archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

inline void check(int r, struct archive* a) {
  if (r < ARCHIVE_WARN) throw std::runtime_error(archive_error_string(a));
}

// A pax tar stream of `entries` (pax so that xattrs and nanosecond mtimes are kept).
inline std::string make_tar(const std::vector<TarEntry>& entries) {
  std::string out;
  struct archive* a = archive_write_new();
  check(archive_write_set_format_pax(a), a);
  check(archive_write_set_bytes_in_last_block(a, 1), a);
  check(archive_write_open(a, &out, nullptr, append_cb, nullptr), a);
  for (const auto& t : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.path.c_str());
    archive_entry_set_filetype(e, t.type);
    archive_entry_set_perm(e, t.mode);
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, t.mtime, t.mtime_nsec);
    if (!t.symlink.empty()) archive_entry_set_symlink(e, t.symlink.c_str());
    if (!t.hardlink.empty()) archive_entry_set_hardlink(e, t.hardlink.c_str());
    if (t.type == AE_IFCHR || t.type == AE_IFBLK) {
      archive_entry_set_rdevmajor(e, t.rdev_major);
      archive_entry_set_rdevminor(e, t.rdev_minor);
    }
    for (const auto& [k, v] : t.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    archive_entry_set_size(e, t.type == AE_IFREG && t.hardlink.empty() ? t.data.size() : 0);
    check(archive_write_header(a, e), a);
    if (!t.data.empty() && t.hardlink.empty()) archive_write_data(a, t.data.data(), t.data.size());
    archive_entry_free(e);
  }
  check(archive_write_close(a), a);
  archive_write_free(a);
  return out;
}

// Compresses `raw` as a single gzip or zstd stream.
inline std::string compress(const std::string& raw, Compression c) {
  if (c == Compression::kNone) return raw;
  std::string out;
  struct archive* a = archive_write_new();
  check(archive_write_set_format_raw(a), a);
  check(c == Compression::kGzip ? archive_write_add_filter_gzip(a) : archive_write_add_filter_zstd(a), a);
  check(archive_write_set_bytes_in_last_block(a, 1), a);
  check(archive_write_open(a, &out, nullptr, append_cb, nullptr), a);
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_pathname(e, "data");
  check(archive_write_header(a, e), a);
  for (size_t off = 0; off < raw.size(); off += 1 << 20)
    archive_write_data(a, raw.data() + off, std::min<size_t>(1 << 20, raw.size() - off));
  archive_entry_free(e);
  check(archive_write_close(a), a);
  archive_write_free(a);
  return out;
}

// Serves a string in chunks of `chunk` bytes; fails with `fail_message` once `fail_after`
// bytes have been served (simulating a download whose digest check fails).
class StringSource : public stack::engine::image::ByteSource {
 public:
  explicit StringSource(std::string data, size_t chunk = 65536) : data_(std::move(data)), chunk_(chunk) {}
  void fail_after(size_t bytes, std::string message) {
    fail_after_ = bytes;
    fail_message_ = std::move(message);
  }
  stack::Result<size_t> read(void* buffer, size_t size) override {
    if (pos_ >= fail_after_) return stack::Error(EIO, fail_message_);
    size_t n = std::min({size, chunk_, data_.size() - pos_, fail_after_ - pos_});
    std::memcpy(buffer, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t chunk_;
  size_t pos_ = 0;
  size_t fail_after_ = static_cast<size_t>(-1);
  std::string fail_message_;
};

inline stack::Result<stack::engine::image::UnpackStats> unpack(const std::string& data,
                                                       const std::string& target,
                                                       const stack::engine::image::UnpackLimits& limits = {}) {
  StringSource source(data);
  return stack::engine::image::unpack_layer(source, "test", target, limits);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/layer-test-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Sorted names in a directory ("" if it cannot be read), joined by ",".
inline std::string list_dir(const std::string& path) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(path.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline struct stat lstat_or_zero(const std::string& path) {
  struct stat st;
  std::memset(&st, 0, sizeof st);
  ::lstat(path.c_str(), &st);
  return st;
}

}  // namespace layer_test
