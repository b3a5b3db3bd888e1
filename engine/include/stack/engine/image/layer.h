// Hostile-safe unpacking of one image layer (a tar stream, plain, gzip or zstd) into a directory
// usable as an overlayfs lower dir: OCI whiteouts become overlayfs whiteouts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "stack/common/result.h"

namespace stack::engine::image {

// A stream of bytes pulled by the unpacker (a file, or a download being verified on the way).
// read() fills at most `size` bytes and returns how many; 0 means end of stream. Errors abort
// the unpack and appear in its error chain.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual Result<size_t> read(void* buffer, size_t size) = 0;
};

// Reads a file descriptor it does not own (retries EINTR).
class FdByteSource : public ByteSource {
 public:
  explicit FdByteSource(int fd) : fd_(fd) {}
  Result<size_t> read(void* buffer, size_t size) override;

 private:
  int fd_;
};

// Bounds on what a layer may create; exceeding one rejects the whole layer before the offending
// entry's data is written. Sizes are the sizes declared in the tar headers.
struct UnpackLimits {
  uint64_t max_entries = 1'000'000;
  uint64_t max_total_bytes = 64ull << 30;
  uint64_t max_entry_bytes = 16ull << 30;
  uint64_t max_path_bytes = 4096;
};

struct UnpackStats {
  uint64_t entries = 0;  // tar entries read, whiteouts included
  uint64_t bytes = 0;    // regular-file bytes declared by the entries written
  std::string diff_id;   // "sha256:<hex>" of the uncompressed tar stream (the OCI DiffID)
};

// Unpacks the layer read from `source` into the new directory `target_dir`, which must not
// exist. The tar is extracted into a fresh sibling "<target_dir>.tmp-XXXXXX" and renamed to
// target_dir only when complete; on any error the temporary tree is removed, so a rejected layer
// leaves nothing behind. Compression is detected from the stream (gzip, zstd, xz, none).
//
// Security: every path is cleaned lexically and one that climbs above the layer root
// ("a/../../x") is rejected; a leading "/" is relative to the layer root (as in Docker). Parent
// directories are opened with openat2(RESOLVE_IN_ROOT), so symlinks stored by the layer are
// confined to it; files are created O_EXCL|O_NOFOLLOW; hardlink targets must lie inside the
// layer. xattrs "trusted.overlay.*" in the tar are dropped (only whiteouts may produce them).
// Ownership, modes (setuid/setgid/sticky kept), mtimes, xattrs, devices and fifos need root.
//
// `before_publish`, if set, runs after the tree is complete and before the rename; an error from
// it rejects the layer like any other (a pull uses it to wait for the compressed blob's digest
// and to compare the DiffID with the image config's before the layer becomes visible).
//
// `name` (a layer digest or file name) starts every error: `layer <name>: entry "a/../../x":
// path escapes the layer`, `layer <name>: truncated: …`. Thread-safe for distinct targets.
using BeforePublish = std::function<Status(const UnpackStats&)>;
Result<UnpackStats> unpack_layer(ByteSource& source, const std::string& name,
                                 const std::string& target_dir, const UnpackLimits& limits = {},
                                 const BeforePublish& before_publish = nullptr);

}  // namespace stack::engine::image
