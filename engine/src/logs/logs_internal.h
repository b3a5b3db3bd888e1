// Private to engine/src/logs: time parsing shared by parse_log_time and the line reader, and the
// per-source file reader behind LogPrinter.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/unique_fd.h"

namespace stack::engine::logs {

// "YYYY-MM-DD[THH[:MM[:SS[.fraction]]]][Z|±HH:MM]" → Unix ns. Without a zone the time is read
// at local_offset_s east of UTC, or rejected when that is empty. nullopt when malformed.
std::optional<int64_t> parse_rfc3339(std::string_view text, std::optional<int64_t> local_offset_s);

// Go's time.ParseDuration: "1h30m", "42s", "1.5h", "-10m", "300ms". nullopt when malformed.
std::optional<int64_t> parse_go_duration_ns(std::string_view text);

// One json-file record.
struct LogRecord {
  int64_t time_ns = 0;
  std::string text;    // the "log" field, without its trailing newline
  bool stderr_stream = false;
};

// Parses one json-file line (without its newline). nullopt when it is not such a record.
std::optional<LogRecord> parse_record(std::string_view line);

// Where to start reading one source file: what is left to read and from where.
struct FileSegment {
  UniqueFd fd;
  off_t offset = 0;
};

// Searches fd (of size bytes) backwards in blocks for the start of its last `want` complete
// lines. Returns {offset, lines found}; fewer lines than wanted means the whole file (offset 0).
Result<std::pair<off_t, int64_t>> find_tail_start(int fd, off_t size, int64_t want);

// Reads one source's log.json and its rotated files. Complete lines are appended to out;
// a partial last line stays buffered.
class SourceReader {
 public:
  explicit SourceReader(std::string path);
  // Reads what is new, about max_bytes at most (the first call does the initial read: the last
  // `tail` lines, or all when tail < 0, across rotated files). Returns true when there may be
  // more to read right away. Malformed lines count in malformed(); errors name the file.
  Result<bool> read(int64_t tail, std::vector<LogRecord>& out, size_t max_bytes);
  int64_t malformed() const { return malformed_; }
  const std::string& path() const { return path_; }

 private:
  Status initial_open(int64_t tail);
  Result<bool> read_fd(int fd, off_t& offset, const std::string& what,
                       std::vector<LogRecord>& out, size_t& budget);
  Status follow_rotation(std::vector<LogRecord>& out);
  void take_lines(std::vector<LogRecord>& out);
  void drop_torn_line();

  std::string path_;
  bool opened_ = false;
  std::deque<FileSegment> backlog_;  // rotated files still to read, oldest first
  UniqueFd current_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  off_t offset_ = 0;  // read position in current_
  std::string partial_;
  int64_t malformed_ = 0;
};

}  // namespace stack::engine::logs
