// Crash-safe file replacement: write a temporary file beside the target, fsync it, rename it
// over the target, fsync the directory. Readers see the old content or the new, never a mix.
#pragma once

#include <string>
#include <string_view>

#include "stack/common/result.h"

namespace stack {

// kSync: survives a power loss (fsync of file and directory). kNoSync: atomic for readers and
// across a crash of the process only, for state that dies with the boot (runtime state in /run).
enum class Durability { kSync, kNoSync };

// Atomically replaces `path` with `content` (mode applies to a newly created file).
Status write_file_atomic(const std::string& path, std::string_view content, unsigned mode = 0644,
                         Durability durability = Durability::kSync);

// Reads a whole file. Errors name the path.
Result<std::string> read_file(const std::string& path);

}  // namespace stack
