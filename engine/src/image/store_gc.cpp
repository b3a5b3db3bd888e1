// Mark-and-sweep garbage collection of blobs and unpacked layers (std::filesystem adapter:
// error_code overloads only).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "stack/common/atomic_file.h"
#include "stack/engine/image/store.h"

namespace stack::engine::image {
namespace {

enum class Role { kDocument, kConfig, kLayer };

bool is_hex64(const std::string& name) {
  return name.size() == 64 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Names in `dir` that look like finished entries (64 hex chars). Anything else (temporary
// unpack dirs, stray files) is left alone: we cannot tell whether someone is still using it.
Result<std::vector<std::string>> hex_entries(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return errno_error("open directory " + dir);
  std::vector<std::string> out;
  while (dirent* e = ::readdir(d.get())) {
    std::string name = e->d_name;
    if (is_hex64(name)) out.push_back(std::move(name));
  }
  return out;
}

struct Marks {
  std::set<std::string> blobs;       // "sha256:<hex>"
  std::set<std::string> layer_hex;   // chain ids without the prefix
};

void mark_document(const std::string& text,
                   std::deque<std::pair<std::string, Role>>& queue) {
  switch (classify_manifest(text, "")) {
    case ManifestKind::kIndex:
      if (auto index = parse_index(text)) {
        for (const auto& d : *index) queue.emplace_back(d.digest, Role::kDocument);
      }
      break;
    case ManifestKind::kManifest:
      if (auto m = parse_manifest(text, "")) {
        queue.emplace_back(m->config.digest, Role::kConfig);
        for (const auto& d : m->layers) queue.emplace_back(d.digest, Role::kLayer);
      }
      break;
    default:
      break;
  }
}

Marks mark(const ContentStore& store, const std::vector<IndexEntry>& entries) {
  Marks marks;
  std::deque<std::pair<std::string, Role>> queue;
  for (const auto& e : entries) {
    queue.emplace_back(e.target_digest, Role::kDocument);
    queue.emplace_back(e.manifest_digest, Role::kDocument);
    queue.emplace_back(e.config_digest, Role::kConfig);
  }
  while (!queue.empty()) {
    auto [digest, role] = std::move(queue.front());
    queue.pop_front();
    if (digest.empty() || !marks.blobs.insert(digest).second) continue;
    // Layers are never parsed; other platforms' manifests of an index are usually absent.
    if (role == Role::kLayer || !store.has_blob(digest)) continue;
    auto text = store.read_blob(digest);
    if (!text) continue;  // corrupt: kept for inspection, and its children stay unmarked
    if (role == Role::kDocument) {
      mark_document(*text, queue);
    } else if (auto config = parse_image_config(*text)) {
      for (const auto& id : chain_ids(config->diff_ids)) {
        marks.layer_hex.insert(id.substr(id.find(':') + 1));
      }
    }
  }
  return marks;
}

// Refuses to collect when index.json exists but cannot be parsed: list() would be empty and
// everything would look unreferenced.
Status check_index_readable(const std::string& root) {
  const std::string path = root + "/index.json";
  auto text = read_file(path);
  if (!text) return text.error().code == ENOENT ? Status{} : Status(std::move(text).error());
  nlohmann::json doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("images") ||
      !doc["images"].is_object()) {
    return Error(EINVAL, path + ": not a valid image index; not collecting garbage");
  }
  return {};
}

void sweep_leftovers(const std::string& root, GcStats& stats, std::vector<std::string>& failures) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root + "/ingest", ec)) {
    const std::string path = e.path().string();
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // in use
    struct stat st {};
    ::fstat(fd.get(), &st);
    if (::unlink(path.c_str()) != 0) {
      failures.push_back(errno_error("remove " + path).message);
      continue;
    }
    stats.bytes_removed += static_cast<uint64_t>(st.st_size);
  }
  for (const auto& e : std::filesystem::directory_iterator(root + "/layers", ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() != 64 + 11 || name.compare(64, 5, ".tmp-") != 0) continue;
    std::error_code rm;
    std::filesystem::remove_all(e.path(), rm);
    if (rm) failures.push_back("remove " + e.path().string() + ": " + rm.message());
  }
}

}  // namespace

Result<GcStats> ContentStore::collect_garbage() const {
  std::string lock_path = root_ + "/gc.lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return errno_error("open " + lock_path);
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return Error(EBUSY, "content store " + root_ + " is busy (pull in progress)");
    return errno_error("lock " + lock_path);
  }
  STACK_TRY_VOID(check_index_readable(root_));
  Marks marks = mark(*this, list());

  GcStats stats;
  std::vector<std::string> failures;
  const std::string blobs_dir = root_ + "/blobs/sha256";
  STACK_TRY(auto blobs, hex_entries(blobs_dir));
  for (const auto& hex : blobs) {
    if (marks.blobs.count("sha256:" + hex)) continue;
    std::string path = blobs_dir + "/" + hex;
    struct stat st {};
    ::lstat(path.c_str(), &st);
    if (::unlink(path.c_str()) != 0) {
      failures.push_back(errno_error("remove " + path).message);
      continue;
    }
    stats.blobs_removed++;
    stats.bytes_removed += static_cast<uint64_t>(st.st_size);
  }
  STACK_TRY(auto layers, hex_entries(root_ + "/layers"));
  for (const auto& hex : layers) {
    if (marks.layer_hex.count(hex)) continue;
    std::error_code ec;
    // remove_all does not follow symlinks, so hostile layer content cannot redirect it.
    std::filesystem::remove_all(root_ + "/layers/" + hex, ec);
    if (ec) {
      failures.push_back("remove layer " + hex + ": " + ec.message());
      continue;
    }
    stats.layers_removed++;
  }
  // Leftovers of writers that died (no lease is held, so nobody is writing): partial downloads
  // in ingest/ (unless a writer still holds its flock) and unpack temp trees in layers/.
  sweep_leftovers(root_, stats, failures);
  if (!failures.empty()) {
    std::string all;
    for (const auto& f : failures) all += (all.empty() ? "" : "; ") + f;
    return Error(EIO, "garbage collection: " + all);
  }
  return stats;
}

}  // namespace stack::engine::image
