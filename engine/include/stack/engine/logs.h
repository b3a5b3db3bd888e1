// Reading and following container logs: `stack logs` and `stack up`'s attached mode.
//
// Each container's shim writes Docker json-file lines into D/log.json, rotated to log.json.1
// (newest rotated) … (shim_protocol.h). A LogPrinter reads those files, merges the sources by
// time and prints them as `docker compose logs` does:
//   <name padded to the longest name + 1> | <line>
// the prefix coloured per container in order of first registration when colour is on, with
// Docker's fixed-width RFC3339Nano time after the separator under --timestamps, and only the line
// under --no-prefix. stdout and stderr lines both go to the one sink, in order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"

namespace stack::engine {

// One container's log.
struct LogSource {
  std::string name;      // display prefix, e.g. "web-1"
  std::string log_path;  // D/log.json
  std::string key;       // stable identity (container id)
};

// Parses Docker's --since/--until forms into Unix nanoseconds:
//   RFC3339 / RFC3339Nano with a zone ("2013-01-02T13:23:37Z", "…37.5+01:00"),
//   the same without a zone, in local time ("2013-01-02T13:23:37", "2013-01-02T13:23",
//   "2013-01-02"), Unix seconds with an optional fraction ("1700000000.5"),
//   Go durations ("10m", "1h30m", "42s") meaning now_ns minus the duration, truncated to the
//   second as Docker does.
// Errors quote the value (Docker's wording: `failed to parse value as time or duration: "x"`).
Result<int64_t> parse_log_time(std::string_view text, int64_t now_ns);

// Time as Docker prints it under --timestamps: RFC3339Nano UTC with exactly nine fraction digits.
std::string log_timestamp(int64_t unix_ns);

struct LogOptions {
  bool follow = false;
  int64_t tail = -1;  // lines per source from the end; -1 = all
  std::optional<int64_t> since_ns, until_ns;  // inclusive bounds on a line's time
  bool timestamps = false;
  bool no_prefix = false;
  bool color = false;
};

// The SGR parameters Compose gives the index-th container (0-based), cycling through ten:
// cyan, yellow, green, magenta, blue, then the same five intense ("36;1" …).
std::string_view log_color(size_t index);

// The line Compose prints when a followed container exits, newline included:
// "web-1 exited with code 0\n"; with colour on, wrapped in the given SGR colour (log_color) and
// starting with Compose's erase-line sequence "\r\033[K".
std::string exit_message(const LogSource& source, int exit_code, const LogOptions& options,
                         std::string_view color = "36");

// Reads and prints the logs of a changing set of sources. Single-threaded: one owner calls
// every member. Files are read with plain read(2) at the position last reached, so nothing is
// printed twice and nothing is skipped across pumps, rotations included.
class LogPrinter {
 public:
  using Sink = std::function<void(std::string_view)>;

  // write receives formatted output (whole lines); warn receives one message per problem worth
  // telling (a malformed line, a log that cannot be read); the default warns through
  // stack::log::warn.
  LogPrinter(LogOptions options, Sink write, Sink warn = {});
  ~LogPrinter();
  LogPrinter(const LogPrinter&) = delete;
  LogPrinter& operator=(const LogPrinter&) = delete;

  // Replaces the set of sources (identity by key; order of first appearance fixes colours and
  // merge ties). New sources are read from their beginning, rotated files first; the tail
  // applies to sources given in the first call, or to every source when not following. Sources
  // no longer listed are read to their end at the next pump, then closed. A source whose
  // log.json does not exist yet is opened once it does.
  void set_sources(std::vector<LogSource> sources);

  // Reads everything appended since the last pump in every source and writes it, merged by
  // time across sources (each source's own order kept), filtered by since/until. A partial last
  // line waits for its end; a malformed line is skipped with one warning per source. Follows
  // rotation: when log.json is replaced, the old file is finished, rotated files written in
  // between are read, then the new log.json from its start. Errors name the source and file
  // (a read failing other than with ENOENT); the other sources are still printed.
  Status pump();

  // The directories holding the sources' logs (for follow's inotify watches).
  std::vector<std::string> watch_dirs() const;

  // exit_message with this printer's options and the source's colour.
  std::string exit_message(const LogSource& source, int exit_code);
  // Writes exit_message to the sink.
  void print_exit(const LogSource& source, int exit_code);

  const LogOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Follows: calls discover() (when set) at once and every poll_ms to pick up new sources (e.g.
// replicas started later), pumps whenever inotify reports a change in a source's directory, and
// returns after one final pump once done() is true (checked at least every poll_ms). Falls back
// to pumping every poll_ms when inotify is unavailable. Errors from pump are returned.
Status follow(LogPrinter& printer, std::function<std::vector<LogSource>()> discover,
              std::function<bool()> done, int poll_ms);

}  // namespace stack::engine
