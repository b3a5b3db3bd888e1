// The reference index (index.json): nlohmann/json adapter; exceptions stop here.
//   {"schemaVersion": 1, "images": {"<reference>": {"digest": …, "mediaType": …,
//    "manifest": …, "config": …, "platform": {"os", "architecture", "variant"}, "pulledAt": N}}}
#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <nlohmann/json.hpp>

#include "stack/common/atomic_file.h"
#include "stack/engine/image/store.h"

namespace stack::engine::image {
namespace {

using nlohmann::json;
using Index = std::map<std::string, IndexEntry>;

json to_json(const IndexEntry& e) {
  json platform = {{"os", e.platform.os}, {"architecture", e.platform.architecture}};
  if (!e.platform.variant.empty()) platform["variant"] = e.platform.variant;
  if (!e.platform.os_version.empty()) platform["os.version"] = e.platform.os_version;
  return {{"digest", e.target_digest}, {"mediaType", e.target_media_type},
          {"manifest", e.manifest_digest}, {"config", e.config_digest},
          {"platform", platform}, {"pulledAt", e.pulled_at_unix}};
}

std::string str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

IndexEntry from_json(const std::string& reference, const json& j) {
  IndexEntry e;
  e.reference = reference;
  e.target_digest = str(j, "digest");
  e.target_media_type = str(j, "mediaType");
  e.manifest_digest = str(j, "manifest");
  e.config_digest = str(j, "config");
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    e.platform = {str(*p, "os"), str(*p, "architecture"), str(*p, "variant"),
                  str(*p, "os.version")};
  }
  if (auto t = j.find("pulledAt"); t != j.end() && t->is_number_integer()) {
    e.pulled_at_unix = t->get<int64_t>();
  }
  return e;
}

// A missing index.json is an empty index; an unparsable one is an error (never overwrite it).
Result<Index> load(const std::string& path) {
  auto text = read_file(path);
  if (!text) {
    if (text.error().code == ENOENT) return Index{};
    return std::move(text).error();
  }
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto images = doc.is_object() ? doc.find("images") : doc.end();
  if (doc.is_discarded() || !doc.is_object() || images == doc.end() || !images->is_object()) {
    return Error(EINVAL, path + ": not a valid image index");
  }
  Index out;
  for (const auto& item : images->items()) {
    if (item.value().is_object()) out[item.key()] = from_json(item.key(), item.value());
  }
  return out;
}

Status save(const std::string& path, const Index& index) {
  json images = json::object();
  for (const auto& [ref, entry] : index) images[ref] = to_json(entry);
  json doc = {{"schemaVersion", 1}, {"images", images}};
  return write_file_atomic(path, doc.dump(2) + "\n", 0644);
}

// Serializes read-modify-write cycles across processes; readers rely on the atomic rename.
Result<UniqueFd> lock_index(const std::string& root) {
  std::string path = root + "/index.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return errno_error("open " + path);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return errno_error("lock " + path);
  }
  return fd;
}

template <class Fn>
Status update(const std::string& root, Fn&& change) {
  try {
    STACK_TRY(UniqueFd lock, lock_index(root));
    const std::string path = root + "/index.json";
    STACK_TRY(Index index, load(path));
    STACK_TRY_VOID(change(index));
    return save(path, index);
  } catch (const std::exception& e) {
    return Error(EINVAL, std::string("image index: ") + e.what());
  }
}

Result<Index> load_guarded(const std::string& root) {
  try {
    return load(root + "/index.json");
  } catch (const std::exception& e) {
    return Error(EINVAL, std::string("image index: ") + e.what());
  }
}

}  // namespace

Status ContentStore::tag(const std::string& reference, const IndexEntry& entry) const {
  if (reference.empty()) return Error(EINVAL, "tag: empty image reference");
  return update(root_, [&](Index& index) -> Status {
    IndexEntry stored = entry;
    stored.reference = reference;
    index[reference] = std::move(stored);
    return {};
  });
}

Status ContentStore::untag(const std::string& reference) const {
  return update(root_, [&](Index& index) -> Status {
    if (index.erase(reference) == 0) return Error(ENOENT, "no such image: " + reference);
    return {};
  });
}

std::optional<IndexEntry> ContentStore::resolve(const std::string& reference) const {
  auto index = load_guarded(root_);
  if (!index) return std::nullopt;
  auto it = index->find(reference);
  if (it == index->end()) return std::nullopt;
  return it->second;
}

std::vector<IndexEntry> ContentStore::list() const {
  std::vector<IndexEntry> out;
  auto index = load_guarded(root_);
  if (!index) return out;
  for (auto& [ref, entry] : *index) out.push_back(entry);  // std::map: sorted by reference
  return out;
}

}  // namespace stack::engine::image
