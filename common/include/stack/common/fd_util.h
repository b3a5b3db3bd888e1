// Small file-descriptor helpers shared by the CLI, the shim and the runtime: receiving a passed
// fd, copying what a pipe or pty has ready, and reading a file inside a container's rootfs.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "stack/common/result.h"
#include "stack/common/syscalls.h"
#include "stack/common/unique_fd.h"

namespace stack {

// Receives one fd sent with SCM_RIGHTS on a connected stream socket (blocking; CLOEXEC).
// EPROTO when a message arrives without one.
Result<UniqueFd> receive_fd(int socket_fd);

// Copies what is readable on `in` to `out` (one read, every byte written). false at EOF or an
// error (EIO once a pty's slave side is closed everywhere); true on EINTR/EAGAIN.
bool pump_available(int in, int out);

// The content of `path` inside the tree rooted at root_fd, resolved as the container would
// (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: symlinks stay inside), at most max_bytes;
// nullopt when it cannot be opened. For /etc/passwd and /etc/group of an image.
std::optional<std::string> read_file_in_root(Syscalls& sys, int root_fd, const std::string& path,
                                             size_t max_bytes = 4u << 20);

}  // namespace stack
