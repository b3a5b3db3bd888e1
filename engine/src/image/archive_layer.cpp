// write_layer (image import): a rootfs directory or tarball as one gzip'ed layer blob.
//
// The layer is produced by two chained libarchive writers: a pax tar writer whose output is
// hashed (the DiffID) and handed to a "raw" writer with the gzip filter, whose output is hashed
// (the digest) and written once into the store (begin_unknown_blob). One pass over the source.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>
#include <optional>

#include "image/archive_internal.h"
#include "image/libarchive_filters.h"
#include "stack/common/path.h"

namespace stack::engine::image::archive_detail {
namespace {

constexpr size_t kBufferBytes = 128 * 1024;

using EntryPtr = std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)>;
EntryPtr new_entry() { return EntryPtr(archive_entry_new(), archive_entry_free); }

class LayerWriter {
 public:
  explicit LayerWriter(Spill& spill) : spill_(spill) {}
  ~LayerWriter() {
    if (tar_) archive_write_free(tar_);
    if (gz_) archive_write_free(gz_);
  }
  Status open();
  Status header(struct archive_entry* e, const std::string& path);
  Status data(const void* p, size_t n, const std::string& path);
  // Finishes both streams; returns the DiffID.
  Result<std::string> close();

 private:
  static la_ssize_t to_gzip(struct archive*, void* self, const void* buf, size_t n);
  static la_ssize_t to_spill(struct archive*, void* self, const void* buf, size_t n);
  Error error(struct archive* a, const std::string& what) const {
    if (sink_error_) return Error(*sink_error_).wrap(what);
    const char* msg = archive_error_string(a);
    return Error(EIO, what + ": " + (msg ? msg : "libarchive error"));
  }

  Spill& spill_;
  struct archive* tar_ = nullptr;
  struct archive* gz_ = nullptr;
  Sha256 diff_hash_;
  std::optional<Error> sink_error_;
};

la_ssize_t LayerWriter::to_gzip(struct archive* a, void* self, const void* buf, size_t n) {
  auto* w = static_cast<LayerWriter*>(self);
  w->diff_hash_.update(buf, n);
  if (archive_write_data(w->gz_, buf, n) < 0) {
    archive_set_error(a, EIO, "gzip: %s", archive_error_string(w->gz_));
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

la_ssize_t LayerWriter::to_spill(struct archive* a, void* self, const void* buf, size_t n) {
  auto* w = static_cast<LayerWriter*>(self);
  auto st = w->spill_.write(buf, n);
  if (!st.ok()) {
    w->sink_error_ = st.error();
    archive_set_error(a, EIO, "%s", st.error().to_string().c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

Status LayerWriter::open() {
  gz_ = archive_write_new();
  tar_ = archive_write_new();
  if (!gz_ || !tar_) return Error(ENOMEM, "libarchive: out of memory");
  if (archive_write_set_format_raw(gz_) != ARCHIVE_OK ||
      archive_write_add_filter_gzip(gz_) != ARCHIVE_OK ||
      // No mtime in the gzip header: the same tree must give the same digest.
      archive_write_set_filter_option(gz_, "gzip", "timestamp", nullptr) < ARCHIVE_WARN ||
      archive_write_set_bytes_in_last_block(gz_, 1) != ARCHIVE_OK ||
      archive_write_open(gz_, this, nullptr, to_spill, nullptr) != ARCHIVE_OK) {
    return error(gz_, "gzip writer");
  }
  auto raw = new_entry();
  archive_entry_set_pathname(raw.get(), "layer");
  archive_entry_set_filetype(raw.get(), AE_IFREG);
  if (archive_write_header(gz_, raw.get()) != ARCHIVE_OK) return error(gz_, "gzip writer");
  if (archive_write_set_format_pax(tar_) != ARCHIVE_OK ||
      archive_write_open(tar_, this, nullptr, to_gzip, nullptr) != ARCHIVE_OK) {
    return error(tar_, "tar writer");
  }
  return {};
}

Status LayerWriter::header(struct archive_entry* e, const std::string& path) {
  if (archive_write_header(tar_, e) < ARCHIVE_WARN) return error(tar_, "entry \"" + path + "\"");
  return {};
}

Status LayerWriter::data(const void* p, size_t n, const std::string& path) {
  if (archive_write_data(tar_, p, n) < 0) return error(tar_, "entry \"" + path + "\"");
  return {};
}

Result<std::string> LayerWriter::close() {
  if (archive_write_close(tar_) != ARCHIVE_OK) return error(tar_, "finish tar");
  if (archive_write_close(gz_) != ARCHIVE_OK) return error(gz_, "finish gzip");
  return "sha256:" + diff_hash_.hex_digest();
}

// Copies `size` bytes of `fd` into the layer; a file that changed size meanwhile is an error
// (the header already declared the size).
Status copy_fd(LayerWriter& w, int fd, uint64_t size, const std::string& path) {
  std::vector<char> buf(kBufferBytes);
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, buf.data(), std::min<uint64_t>(buf.size(), size - done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + path);
    if (n == 0) return Error(EIO, path + ": file shrank while being read");
    STACK_TRY_VOID(w.data(buf.data(), static_cast<size_t>(n), path));
    done += static_cast<uint64_t>(n);
  }
  return {};
}

// A directory tree, sorted by name, never following symlinks (fd-relative throughout).
class DirWalker {
 public:
  explicit DirWalker(LayerWriter& w) : w_(w) {}
  Status walk(int dir_fd, const std::string& rel);

 private:
  Status entry(int dir_fd, const std::string& name, const std::string& path);
  LayerWriter& w_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // first path of each hardlinked inode
};

Result<std::vector<std::string>> sorted_names(int dir_fd, const std::string& rel) {
  int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return errno_error("dup");
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return errno_error("open directory " + rel);
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return errno_error("read directory " + rel, err);
  std::sort(names.begin(), names.end());
  return names;
}

Status DirWalker::walk(int dir_fd, const std::string& rel) {
  STACK_TRY(auto names, sorted_names(dir_fd, rel.empty() ? "." : rel));
  for (const auto& name : names) {
    STACK_TRY_VOID(entry(dir_fd, name, rel.empty() ? name : rel + "/" + name));
  }
  return {};
}

Status DirWalker::entry(int dir_fd, const std::string& name, const std::string& path) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno_error("stat " + path);
  }
  if (S_ISSOCK(st.st_mode)) return {};  // tar cannot hold sockets (Docker skips them too)
  auto e = new_entry();
  archive_entry_set_pathname(e.get(), path.c_str());
  archive_entry_set_mode(e.get(), st.st_mode);
  archive_entry_set_uid(e.get(), st.st_uid);
  archive_entry_set_gid(e.get(), st.st_gid);
  archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
    if (n < 0) return errno_error("readlink " + path);
    target.resize(static_cast<size_t>(n));
    archive_entry_set_symlink(e.get(), target.c_str());
    return w_.header(e.get(), path);
  }
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
    archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
  }
  if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    return w_.header(e.get(), path);
  }
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    auto [it, first] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), path);
    if (!first) {
      archive_entry_set_hardlink(e.get(), it->second.c_str());
      archive_entry_set_size(e.get(), 0);
      return w_.header(e.get(), path);
    }
  }
  int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0);
  UniqueFd fd(::openat(dir_fd, name.c_str(), flags));
  if (!fd) return errno_error("open " + path);
  // Docker keeps only this xattr from a build context; file capabilities matter to programs.
  char cap[256];
  ssize_t cap_len = ::fgetxattr(fd.get(), "security.capability", cap, sizeof cap);
  if (cap_len > 0) archive_entry_xattr_add_entry(e.get(), "security.capability", cap, cap_len);
  if (S_ISDIR(st.st_mode)) {
    STACK_TRY_VOID(w_.header(e.get(), path));
    return walk(fd.get(), path);
  }
  archive_entry_set_size(e.get(), st.st_size);
  STACK_TRY_VOID(w_.header(e.get(), path));
  return copy_fd(w_, fd.get(), static_cast<uint64_t>(st.st_size), path);
}

// "a/./b" → "a/b"; "" for names that climb out ("../x"); "." for the root itself.
std::string clean_name(const char* raw) {
  std::string p = clean_path(raw ? raw : "");
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (p == ".." || p.rfind("../", 0) == 0) return "";
  return p.empty() ? "." : p;
}

// Re-writes the entries of a tar (any format and compression libarchive reads in-process).
Status copy_tarball(LayerWriter& w, int fd) {
  struct archive* a = archive_read_new();
  if (!a) return Error(ENOMEM, "libarchive: out of memory");
  std::unique_ptr<struct archive, int (*)(struct archive*)> guard(a, archive_read_free);
  enable_builtin_decompression(a);
  archive_read_support_format_all(a);
  auto fail = [&](const std::string& where) {
    const char* msg = archive_error_string(a);
    return Error(EIO, where + ": " + (msg ? msg : "read error"));
  };
  if (archive_read_open_fd(a, fd, kBufferBytes) != ARCHIVE_OK) return fail("open");
  std::string last = "(start)";
  for (;;) {
    struct archive_entry* in = nullptr;
    int r = archive_read_next_header(a, &in);
    if (r == ARCHIVE_EOF) return {};
    if (r < ARCHIVE_WARN) return fail("after entry \"" + last + "\"");
    const char* raw = archive_entry_pathname(in);
    std::string path = clean_name(raw);
    if (path.empty())
      return Error(EPERM, "entry \"" + std::string(raw) + "\": path escapes the root");
    last = path;
    if (path == ".") continue;
    auto e = new_entry();
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_mode(e.get(), archive_entry_mode(in));
    archive_entry_set_uid(e.get(), archive_entry_uid(in));
    archive_entry_set_gid(e.get(), archive_entry_gid(in));
    archive_entry_set_mtime(e.get(), archive_entry_mtime(in), archive_entry_mtime_nsec(in));
    archive_entry_set_rdev(e.get(), archive_entry_rdev(in));
    if (const char* link = archive_entry_symlink(in)) archive_entry_set_symlink(e.get(), link);
    const char* hard = archive_entry_hardlink(in);
    if (hard) {
      std::string target = clean_name(hard);
      if (target.empty() || target == ".") {
        return Error(EPERM, "entry \"" + path + "\": hardlink target \"" + hard + "\" escapes");
      }
      archive_entry_set_hardlink(e.get(), target.c_str());
    }
    const char* xname;
    const void* xvalue;
    size_t xsize;
    archive_entry_xattr_reset(in);
    while (archive_entry_xattr_next(in, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
      archive_entry_xattr_add_entry(e.get(), xname, xvalue, xsize);
    }
    bool has_data = !hard && archive_entry_filetype(in) == AE_IFREG;
    archive_entry_set_size(e.get(), has_data ? archive_entry_size(in) : 0);
    STACK_TRY_VOID(w.header(e.get(), path));
    if (!has_data) continue;
    const void* block;
    size_t size;
    la_int64_t offset;
    int64_t written = 0;
    while ((r = archive_read_data_block(a, &block, &size, &offset)) == ARCHIVE_OK) {
      // Sparse files arrive as blocks with holes between them: write the holes as zeros.
      static const std::vector<char> zeros(kBufferBytes);
      while (written < offset) {
        size_t gap = static_cast<size_t>(std::min<int64_t>(offset - written, kBufferBytes));
        STACK_TRY_VOID(w.data(zeros.data(), gap, path));
        written += static_cast<int64_t>(gap);
      }
      STACK_TRY_VOID(w.data(block, size, path));
      written += static_cast<int64_t>(size);
    }
    if (r != ARCHIVE_EOF) return fail("entry \"" + path + "\"");
    static const std::vector<char> zeros(kBufferBytes);
    for (int64_t want = archive_entry_size(in); written < want;) {  // a trailing hole
      size_t gap = static_cast<size_t>(std::min<int64_t>(want - written, kBufferBytes));
      STACK_TRY_VOID(w.data(zeros.data(), gap, path));
      written += static_cast<int64_t>(gap);
    }
  }
}

}  // namespace

Result<LayerBlob> write_layer(const ContentStore& store, const std::string& source) {
  UniqueFd owned;
  int fd = STDIN_FILENO;
  if (source != "-") {
    owned.reset(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned) return errno_error("open " + source);
    fd = owned.get();
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) return errno_error("stat " + source);
  STACK_TRY(Spill spill, Spill::create(store));
  LayerWriter w(spill);
  STACK_TRY_VOID(w.open());
  if (S_ISDIR(st.st_mode)) {
    DirWalker walker(w);
    STACK_TRY_VOID(walker.walk(fd, ""));
  } else {
    STACK_TRY_VOID(copy_tarball(w, fd));
  }
  LayerBlob out;
  STACK_TRY(out.diff_id, w.close());
  out.size = spill.size();
  STACK_TRY(out.digest, spill.commit(store));
  return out;
}

}  // namespace stack::engine::image::archive_detail
