// Directory trees handled fd-relative: every step is openat/unlinkat/mkdirat below an open
// directory with O_NOFOLLOW, so a symlink planted inside a volume or an image never leads the
// operation outside the tree it was given.
#pragma once

#include <cstdint>
#include <string>

#include "stack/common/result.h"

namespace stack::volumes {

// Docker's "copy the image's content at the mount path into a new volume": when dst_dirfd is
// empty, copies the tree below src_dirfd into it — regular files, directories, symlinks (as
// symlinks), hard links (as hard links), device nodes, fifos and sockets — with owner, mode,
// access/modification times and extended attributes, and gives dst the owner and mode of src.
// A non-empty dst is left alone (a volume is filled once). Extended attributes the destination
// file system does not support are skipped. Errors name the relative path.
Status copy_up(int src_dirfd, int dst_dirfd);

// Deletes dirfd/name and everything below it without following any symlink. Refuses (EBUSY) to
// descend into a mount point, so a mount left inside is never emptied. ENOENT is success.
Status remove_tree_at(int dirfd, const std::string& name);

// Sum of st_size of every non-directory below dirfd/name, hard links counted once (Docker's
// directory.Size); does not cross into mounts.
Result<std::uint64_t> tree_size_at(int dirfd, const std::string& name);

}  // namespace stack::volumes
