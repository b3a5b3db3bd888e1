// Private pieces of layer unpacking (layer.cpp drives the stream, layer_entry.cpp writes one tar
// entry, layer_fs.cpp holds the fd-relative file system helpers). Not a public API.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/unique_fd.h"
#include "stack/engine/image/layer.h"

struct archive;
struct archive_entry;

namespace stack::engine::image::layer_detail {

// Splits a tar path into components after lexical cleaning ("", "." dropped, ".." pops; a
// leading "/" counts from the layer root, as filepath.Clean+Join do in Docker). Fails with
// "path escapes the layer" when ".." would climb above the root. Empty result = the root.
Result<std::vector<std::string>> clean_path(const std::string& raw);
std::string join_path(const std::vector<std::string>& components, size_t count);

// openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): symlinks and ".." in
// the path cannot leave root. An empty path opens root itself.
Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags);

// Opens (O_RDONLY|O_DIRECTORY) the directory holding the last of `components`, creating missing
// ancestors with mode 0755 as Docker does for tars that omit directory entries.
Result<UniqueFd> open_parent(int root_fd, const std::vector<std::string>& components);

// Removes dir_fd/name and, for a directory, everything below it, without following symlinks.
// A missing name is not an error.
Status remove_at(int dir_fd, const std::string& name);

// Writes tar entries below one root fd, enforcing limits and recording directory times that
// must be applied after the directory's contents (creating a child changes a dir's mtime).
class EntryWriter {
 public:
  EntryWriter(int root_fd, const UnpackLimits& limits) : root_fd_(root_fd), limits_(limits) {}
  // Writes the entry whose header was just read from `ar` (its data is read from `ar` too).
  // Errors from reading the stream itself carry code EPROTO.
  Status write(struct archive* ar, struct archive_entry* entry);
  // Applies the deferred directory times, deepest last-created first.
  Status finish();
  uint64_t entries() const { return entries_; }
  uint64_t bytes() const { return bytes_; }
  bool root_seen() const { return root_seen_; }

 private:
  struct DirTime {
    std::string path;
    struct timespec times[2];
  };
  Status check_limits(struct archive_entry* entry, const std::string& path);
  Status write_whiteout(int parent_fd, const std::string& name);
  Status write_file(struct archive* ar, struct archive_entry* entry, int parent_fd,
                    const std::string& name);
  Status write_dir(struct archive_entry* entry, int parent_fd, const std::string& name,
                   const std::string& path);
  Status write_hardlink(struct archive_entry* entry, int parent_fd, const std::string& name);
  Status write_other(struct archive_entry* entry, int parent_fd, const std::string& name);

  int root_fd_;
  UnpackLimits limits_;
  uint64_t entries_ = 0;
  uint64_t bytes_ = 0;
  bool root_seen_ = false;
  std::vector<DirTime> dir_times_;
};

}  // namespace stack::engine::image::layer_detail
