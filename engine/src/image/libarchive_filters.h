// The decompression filters every libarchive reader of the image code enables.
#pragma once

#include <archive.h>

namespace stack::engine::image {

// gzip, bzip2, xz and zstd, in-process only: when libarchive lacks a built-in decoder it answers
// ARCHIVE_WARN and would run an external program instead, which the project never does
// (ARCHITECTURE.md §4), so that warning is cleared and the filter stays off.
inline void enable_builtin_decompression(struct archive* a) {
  using Enable = int (*)(struct archive*);
  for (Enable enable : {archive_read_support_filter_gzip, archive_read_support_filter_bzip2,
                        archive_read_support_filter_xz, archive_read_support_filter_zstd}) {
    if (enable(a) != ARCHIVE_OK) archive_clear_error(a);
  }
}

}  // namespace stack::engine::image
