// save_archive: one tar that is both an OCI image layout and a docker-archive (as Docker 25+).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <set>

#include "image/archive_internal.h"
#include "image/media_types.h"
#include "stack/engine/image/archive.h"
#include "stack/engine/image/reference.h"
#include "stack/engine/image/unpack.h"

namespace stack::engine::image {
namespace {

using nlohmann::json;
namespace mt = media_types;

std::string blob_entry(const std::string& digest) {
  return "blobs/sha256/" + digest.substr(digest.find(':') + 1);
}

class TarOut {
 public:
  explicit TarOut(int fd) : a_(archive_write_new()) {
    if (!a_) return;
    archive_write_set_format_pax_restricted(a_);  // ustar unless a name needs more
    if (archive_write_open_fd(a_, fd) != ARCHIVE_OK) failed_ = true;
  }
  ~TarOut() {
    if (a_) archive_write_free(a_);
  }
  Status ok() const {
    if (!a_) return Error(ENOMEM, "libarchive: out of memory");
    if (failed_) return error("open output");
    return {};
  }
  Status dir(const std::string& path) { return header(path, AE_IFDIR, 0755, 0); }
  Status file(const std::string& path, std::string_view data) {
    STACK_TRY_VOID(header(path, AE_IFREG, 0644, data.size()));
    return write(data.data(), data.size(), path);
  }
  Status header(const std::string& path, unsigned type, unsigned mode, uint64_t size) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    archive_entry_set_mtime(e, 0, 0);  // reproducible output
    int r = archive_write_header(a_, e);
    archive_entry_free(e);
    if (r < ARCHIVE_WARN) return error("write " + path);
    return {};
  }
  Status write(const void* data, size_t size, const std::string& path) {
    if (archive_write_data(a_, data, size) < 0) return error("write " + path);
    return {};
  }
  Status close() {
    if (archive_write_close(a_) != ARCHIVE_OK) return error("finish the archive");
    return {};
  }

 private:
  Error error(const std::string& what) const {
    const char* msg = archive_error_string(a_);
    return Error(archive_errno(a_) ? archive_errno(a_) : EIO, what + ": " + (msg ? msg : "error"));
  }
  struct archive* a_;
  bool failed_ = false;
};

// Streams a stored blob into the tar, re-hashing it: a blob corrupted on disk must not be
// passed on under its old name.
Status write_blob(TarOut& out, const ContentStore& store, const std::string& digest) {
  const std::string path = store.blob_path(digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("blob " + digest + ": open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + path);
  const std::string entry = blob_entry(digest);
  STACK_TRY_VOID(out.header(entry, AE_IFREG, 0444, static_cast<uint64_t>(st.st_size)));
  Sha256 hash;
  std::vector<char> buf(1 << 17);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + path);
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (total > static_cast<uint64_t>(st.st_size)) return Error(EIO, "blob " + digest + " grew");
    hash.update(buf.data(), static_cast<size_t>(n));
    STACK_TRY_VOID(out.write(buf.data(), static_cast<size_t>(n), entry));
  }
  if (total != static_cast<uint64_t>(st.st_size)) return Error(EIO, "blob " + digest + " shrank");
  if ("sha256:" + hash.hex_digest() != digest) {
    return Error(EILSEQ, "blob " + digest + " is corrupt (its content no longer matches)");
  }
  return {};
}

struct SavedImage {
  Reference ref;
  IndexEntry entry;
  StoredImage stored;
  int64_t manifest_size = 0;
};

Result<SavedImage> find_image(const ContentStore& store, const std::string& text) {
  SavedImage img;
  STACK_TRY(img.ref, parse_reference(text));
  auto entry = store.resolve(img.ref.string());
  if (!entry) return Error(ENOENT, "no such image: " + text);
  img.entry = *entry;
  auto stored = read_stored_image(store, img.entry);
  if (!stored.ok()) return std::move(stored).error().wrap("image " + text);
  img.stored = std::move(*stored);
  struct stat st;
  if (::stat(store.blob_path(img.entry.manifest_digest).c_str(), &st) != 0) {
    return errno_error("image " + text + ": manifest " + img.entry.manifest_digest);
  }
  img.manifest_size = st.st_size;
  return img;
}

// index.json: one descriptor per reference, named as Docker 25+ names them.
std::string oci_index(const std::vector<SavedImage>& images) {
  json manifests = json::array();
  for (const auto& img : images) {
    json annotations = {{"io.containerd.image.name", img.ref.string()}};
    if (!img.ref.tag.empty()) annotations["org.opencontainers.image.ref.name"] = img.ref.tag;
    std::string type = img.stored.manifest.media_type;
    manifests.push_back({{"mediaType", type.empty() ? std::string(mt::kOciManifest) : type},
                         {"digest", img.entry.manifest_digest},
                         {"size", img.manifest_size},
                         {"annotations", annotations}});
  }
  return json{{"schemaVersion", 2}, {"mediaType", mt::kOciIndex}, {"manifests", manifests}}.dump();
}

// manifest.json: one item per distinct config (as `docker save`), tags as Docker prints them.
std::string docker_manifest(const std::vector<SavedImage>& images) {
  json items = json::array();
  std::map<std::string, size_t> by_config;
  for (const auto& img : images) {
    const std::string& config = img.stored.manifest.config.digest;
    auto [it, fresh] = by_config.emplace(config, items.size());
    if (fresh) {
      json layers = json::array();
      for (const auto& l : img.stored.manifest.layers) layers.push_back(blob_entry(l.digest));
      items.push_back(
          {{"Config", blob_entry(config)}, {"RepoTags", json::array()}, {"Layers", layers}});
    }
    if (!img.ref.tag.empty() && img.ref.digest.empty()) {
      items[it->second]["RepoTags"].push_back(img.ref.familiar());
    }
  }
  return items.dump();
}

Status save(const ContentStore& store, const std::vector<std::string>& references, int out_fd) {
  if (references.empty()) return Error(EINVAL, "no image given");
  std::vector<SavedImage> images;
  std::vector<std::string> blobs;
  std::set<std::string> seen;
  auto add_blob = [&](const std::string& d) {
    if (seen.insert(d).second) blobs.push_back(d);
  };
  for (const auto& text : references) {
    STACK_TRY(SavedImage img, find_image(store, text));
    add_blob(img.entry.manifest_digest);
    add_blob(img.stored.manifest.config.digest);
    for (const auto& l : img.stored.manifest.layers) add_blob(l.digest);
    images.push_back(std::move(img));
  }
  TarOut out(out_fd);
  STACK_TRY_VOID(out.ok());
  STACK_TRY_VOID(out.dir("blobs"));
  STACK_TRY_VOID(out.dir("blobs/sha256"));
  for (const auto& d : blobs) STACK_TRY_VOID(write_blob(out, store, d));
  STACK_TRY_VOID(out.file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  STACK_TRY_VOID(out.file("index.json", oci_index(images)));
  STACK_TRY_VOID(out.file("manifest.json", docker_manifest(images)));
  return out.close();
}

}  // namespace

Status save_archive(const ContentStore& store, const std::vector<std::string>& references,
                    int out_fd) {
  std::string what = "image save";
  for (const auto& r : references) what += " " + r;
  // Blobs must not be collected while they are read; the images' tags could be removed meanwhile.
  auto lease = store.lease();
  if (!lease.ok()) return std::move(lease).error().wrap(what);
  try {
    auto st = save(store, references, out_fd);
    if (!st.ok()) return std::move(st).error().wrap(what);
    return {};
  } catch (const std::exception& e) {
    return Error(EIO, what + ": " + e.what());
  }
}

}  // namespace stack::engine::image
