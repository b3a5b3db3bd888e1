// SourceReader: one container's json-file log across rotation (shim_protocol.h, JsonLogWriter):
// log.json is appended to, then renamed to log.json.1 (older ones shift up) and a new log.json
// is created. An open descriptor keeps reading the renamed file, so a rotation loses nothing as
// long as the old descriptor is finished before moving to the new file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "logs_internal.h"
#include "stack/engine/shim_protocol.h"

namespace stack::engine::logs {
namespace {

constexpr size_t kBlock = 64 * 1024;

UniqueFd open_read(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

bool same_file(int fd, dev_t dev, ino_t ino) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

int hex4(std::string_view s, size_t pos) {
  if (pos + 4 > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + 4; ++i) {
    const char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  return v;
}

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes the JSON string starting after its opening quote at pos; leaves pos after the closing
// quote. False on anything unexpected.
bool json_string(std::string_view s, size_t& pos, std::string& out) {
  for (;;) {
    const size_t stop = s.find_first_of("\\\"", pos);
    if (stop == std::string_view::npos) return false;
    out.append(s.data() + pos, stop - pos);
    pos = stop + 1;
    if (s[stop] == '"') return true;
    if (pos >= s.size()) return false;
    const char e = s[pos++];
    switch (e) {
      case '"': case '\\': case '/': out += e; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        int cp = hex4(s, pos);
        if (cp < 0) return false;
        pos += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && pos + 6 <= s.size() && s[pos] == '\\' &&
            s[pos + 1] == 'u') {
          const int low = hex4(s, pos + 2);
          if (low >= 0xDC00 && low < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            pos += 6;
          }
        }
        if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;  // a lone surrogate, as Go decodes it
        put_utf8(out, static_cast<uint32_t>(cp));
        break;
      }
      default: return false;
    }
  }
}

bool expect(std::string_view s, size_t& pos, std::string_view token) {
  if (s.substr(pos, token.size()) != token) return false;
  pos += token.size();
  return true;
}

// The shape every json-file writer (Docker's and the shim's) produces, without a JSON DOM:
// {"log":"…","stream":"…","time":"…"}. nullopt means "not this shape", not "malformed".
std::optional<LogRecord> parse_record_fast(std::string_view line) {
  LogRecord r;
  std::string stream, time;
  size_t pos = 0;
  if (!expect(line, pos, "{\"log\":\"") || !json_string(line, pos, r.text) ||
      !expect(line, pos, ",\"stream\":\"") || !json_string(line, pos, stream) ||
      !expect(line, pos, ",\"time\":\"") || !json_string(line, pos, time) ||
      !expect(line, pos, "}") || pos != line.size())
    return std::nullopt;
  auto t = parse_rfc3339(time, std::nullopt);
  if (!t) return std::nullopt;
  r.time_ns = *t;
  if (!r.text.empty() && r.text.back() == '\n') r.text.pop_back();
  r.stderr_stream = stream == "stderr";
  return r;
}

}  // namespace

std::optional<LogRecord> parse_record(std::string_view line) {
  if (auto r = parse_record_fast(line)) return r;
  // Other field orders or extra fields (Docker's "attrs"): the general parser. Its
  // non-throwing overload: json.hpp's exceptions never leave this function.
  const auto doc = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const auto log = doc.find("log"), stream = doc.find("stream"), time = doc.find("time");
  if (log == doc.end() || !log->is_string() || time == doc.end() || !time->is_string())
    return std::nullopt;
  LogRecord r;
  auto t = parse_rfc3339(time->get_ref<const std::string&>(), std::nullopt);
  if (!t) return std::nullopt;
  r.time_ns = *t;
  r.text = log->get<std::string>();
  if (!r.text.empty() && r.text.back() == '\n') r.text.pop_back();
  r.stderr_stream = stream != doc.end() && stream->is_string() && *stream == "stderr";
  return r;
}

Result<std::pair<off_t, int64_t>> find_tail_start(int fd, off_t size, int64_t want) {
  int64_t found = 0;
  std::string block(kBlock, '\0');
  for (off_t end = size; end > 0;) {
    const off_t begin = end > off_t(kBlock) ? end - off_t(kBlock) : 0;
    const size_t len = static_cast<size_t>(end - begin);
    size_t got = 0;
    while (got < len) {
      ssize_t n = ::pread(fd, block.data() + got, len - got, begin + off_t(got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("reading");
      if (n == 0) return Error(EIO, "file shrank while reading its tail");
      got += static_cast<size_t>(n);
    }
    // Each newline ends a complete line; the one before the last `want` lines marks the start.
    for (size_t i = len; i-- > 0;) {
      if (block[i] != '\n') continue;
      if (found == want) return std::make_pair(begin + off_t(i) + 1, found);
      ++found;
    }
    end = begin;
  }
  return std::make_pair(off_t(0), found);
}

SourceReader::SourceReader(std::string path) : path_(std::move(path)) {}

// Opens log.json first, then the rotated files from the newest, so that a rotation in between
// shows up as a repeated inode (dropped) rather than a gap.
Status SourceReader::initial_open(int64_t tail) {
  UniqueFd cur = open_read(path_);
  if (!cur) return errno == ENOENT ? Status() : errno_error("opening " + path_);
  struct stat st {};
  if (::fstat(cur.get(), &st) != 0) return errno_error("stat " + path_);
  std::vector<std::pair<std::string, FileSegment>> files;  // newest first
  std::vector<ino_t> seen{st.st_ino};
  for (int i = 1;; ++i) {
    const std::string name = rotated_log_name(path_, i);
    UniqueFd fd = open_read(name);
    if (!fd) break;
    struct stat rst {};
    if (::fstat(fd.get(), &rst) != 0) return errno_error("stat " + name);
    if (std::find(seen.begin(), seen.end(), rst.st_ino) != seen.end()) continue;
    seen.push_back(rst.st_ino);
    files.emplace_back(name, FileSegment{std::move(fd), 0});
  }
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  offset_ = 0;
  if (tail >= 0) {
    auto found = find_tail_start(cur.get(), st.st_size, tail);
    if (!found.ok()) return std::move(found).error().wrap("reading " + path_);
    const auto start = *found;
    if (start.second >= tail) {
      files.clear();
      offset_ = start.first;
    } else {
      int64_t want = tail - start.second;
      size_t keep = 0;
      for (; keep < files.size() && want > 0; ++keep) {
        struct stat rst {};
        if (::fstat(files[keep].second.fd.get(), &rst) != 0)
          return errno_error("stat " + files[keep].first);
        auto older = find_tail_start(files[keep].second.fd.get(), rst.st_size, want);
        if (!older.ok()) return std::move(older).error().wrap("reading " + files[keep].first);
        files[keep].second.offset = older->first;
        want -= older->second;
      }
      files.resize(keep);
    }
  }
  for (auto it = files.rbegin(); it != files.rend(); ++it)
    backlog_.push_back(std::move(it->second));
  current_ = std::move(cur);
  opened_ = true;
  return {};
}

void SourceReader::take_lines(std::vector<LogRecord>& out) {
  size_t begin = 0;
  for (size_t nl; (nl = partial_.find('\n', begin)) != std::string::npos; begin = nl + 1) {
    std::string_view line(partial_.data() + begin, nl - begin);
    if (line.empty()) continue;
    if (auto r = parse_record(line))
      out.push_back(std::move(*r));
    else
      ++malformed_;
  }
  partial_.erase(0, begin);
}

// Reads fd from offset to its end, or until budget runs out; true at the end of the file.
Result<bool> SourceReader::read_fd(int fd, off_t& offset, const std::string& what,
                                   std::vector<LogRecord>& out, size_t& budget) {
  char buf[kBlock];
  while (budget > 0) {
    ssize_t n = ::pread(fd, buf, sizeof buf, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("reading " + what);
    if (n == 0) return true;
    offset += n;
    budget -= std::min(budget, static_cast<size_t>(n));
    partial_.append(buf, static_cast<size_t>(n));
    take_lines(out);
  }
  return false;
}

// A rotated file is complete: what does not end in a newline is a torn line.
void SourceReader::drop_torn_line() {
  if (!partial_.empty()) ++malformed_;
  partial_.clear();
}

// log.json was replaced: finish the old descriptor, queue the rotated files written after it
// (those between its new name and the new log.json), then go on with the new log.json.
Status SourceReader::follow_rotation(std::vector<LogRecord>& out) {
  UniqueFd old = std::move(current_);
  // The writer is done with the old file once it is renamed, but it may have written to it
  // after our last read and before the rename: finish it whole.
  size_t unlimited = SIZE_MAX;
  STACK_TRY(bool eof, read_fd(old.get(), offset_, path_, out, unlimited));
  (void)eof;
  drop_torn_line();
  UniqueFd next = open_read(path_);
  if (!next && errno != ENOENT) return errno_error("opening " + path_);
  struct stat nst {};
  if (next && ::fstat(next.get(), &nst) != 0) return errno_error("stat " + path_);
  std::vector<UniqueFd> between;  // newest first
  bool found_old = false;
  for (int i = 1; !found_old; ++i) {
    UniqueFd fd = open_read(rotated_log_name(path_, i));
    if (!fd) break;
    if (same_file(fd.get(), dev_, ino_))
      found_old = true;
    else if (!next || !same_file(fd.get(), nst.st_dev, nst.st_ino))
      between.push_back(std::move(fd));
  }
  // Without the old file among the rotated ones (max_file 1, or removed), what sits there is
  // older than what was read, or unknown: read none of it.
  if (found_old)
    for (auto it = between.rbegin(); it != between.rend(); ++it)
      backlog_.push_back(FileSegment{std::move(*it), 0});
  current_ = std::move(next);
  offset_ = 0;
  if (current_) {
    dev_ = nst.st_dev;
    ino_ = nst.st_ino;
  }
  return {};
}

Result<bool> SourceReader::read(int64_t tail, std::vector<LogRecord>& out, size_t max_bytes) {
  if (!opened_) {
    STACK_TRY_VOID(initial_open(tail));
    if (!opened_) return false;
  }
  size_t budget = max_bytes;
  while (!backlog_.empty()) {
    FileSegment& seg = backlog_.front();
    STACK_TRY(bool eof, read_fd(seg.fd.get(), seg.offset, path_ + " (rotated)", out, budget));
    if (!eof) return true;
    drop_torn_line();
    backlog_.pop_front();
  }
  if (!current_) {
    // After a rotation, log.json may not have been created yet.
    current_ = open_read(path_);
    if (!current_) return errno == ENOENT ? Result<bool>(false) : errno_error("opening " + path_);
    struct stat st {};
    if (::fstat(current_.get(), &st) != 0) return errno_error("stat " + path_);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    offset_ = 0;
  }
  STACK_TRY(bool eof, read_fd(current_.get(), offset_, path_, out, budget));
  if (!eof) return true;
  // max_file 1 truncates in place: start again from the top.
  struct stat st {};
  if (::fstat(current_.get(), &st) == 0 && st.st_size < offset_) {
    offset_ = 0;
    partial_.clear();
    return true;
  }
  // Reading to the end before looking at the name: the writer writes to the old file only
  // before it renames it, so once the name points elsewhere the old file is complete.
  struct stat now {};
  const bool replaced = ::stat(path_.c_str(), &now) != 0
                            ? errno == ENOENT
                            : (now.st_dev != dev_ || now.st_ino != ino_);
  if (!replaced) return false;
  STACK_TRY_VOID(follow_rotation(out));
  return current_.valid() || !backlog_.empty();
}

}  // namespace stack::engine::logs
