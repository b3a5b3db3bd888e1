// LogPrinter: merges the sources' records and prints them as Compose's log consumer does
// (compose v2 cmd/formatter/logs.go and colors.go).
#include <algorithm>
#include <queue>
#include <unordered_map>

#include "logs_internal.h"
#include "stack/common/log.h"
#include "stack/engine/logs.h"

namespace stack::engine {
namespace {

// Compose's rainbow: cyan, yellow, green, magenta, blue, then the same intense.
constexpr std::string_view kColors[] = {"36",   "33",   "32",   "35",   "34",
                                        "36;1", "33;1", "32;1", "35;1", "34;1"};

std::string sgr(std::string_view color, std::string_view text) {
  std::string out = "\033[";
  out += color;
  out += 'm';
  out += text;
  out += "\033[0m";
  return out;
}

}  // namespace

std::string_view log_color(size_t index) { return kColors[index % std::size(kColors)]; }

std::string exit_message(const LogSource& source, int exit_code, const LogOptions& options,
                         std::string_view color) {
  std::string line = source.name + " exited with code " + std::to_string(exit_code) + "\n";
  // Compose erases the line first (goterm.RESET_LINE) so that a ^C echo does not precede it;
  // only worth doing on a terminal, which is when colour is on.
  if (!options.color) return line;
  return sgr(color, "\r\033[K" + line);
}

struct LogPrinter::Impl {
  struct Source {
    LogSource source;
    std::unique_ptr<logs::SourceReader> reader;
    bool honour_tail = false;
    bool leaving = false;
    bool warned = false;
    std::vector<logs::LogRecord> batch;
    size_t next = 0;    // position in batch while merging
    bool more = false;  // the reader stopped at its byte budget
  };

  LogOptions options;
  Sink write, warn;
  bool first_call = true;
  std::vector<Source> sources;  // in order of first appearance
  // Compose never forgets a presenter: colours and width cover every source ever seen.
  std::unordered_map<std::string, size_t> color_of;
  size_t width = 0;

  size_t color_index(const LogSource& s) {
    auto [it, added] = color_of.emplace(s.key, color_of.size());
    if (added) width = std::max(width, s.name.size() + 1);
    return it->second;
  }

  std::string prefix(const LogSource& s) {
    if (options.no_prefix) return {};
    const size_t color = color_index(s);
    std::string text = s.name;
    text.append(width > s.name.size() ? width - s.name.size() : 0, ' ');
    text += " | ";
    return options.color ? sgr(log_color(color), text) : text;
  }

  void emit(const Source& s, const logs::LogRecord& r, std::string& out) {
    if (options.since_ns && r.time_ns < *options.since_ns) return;
    if (options.until_ns && r.time_ns > *options.until_ns) return;
    const std::string pre = prefix(s.source);
    const std::string stamp = options.timestamps ? log_timestamp(r.time_ns) + " " : "";
    std::string_view text = r.text;
    for (;;) {
      const size_t nl = text.find('\n');
      out += pre;
      out += stamp;
      out += text.substr(0, nl);
      out += '\n';
      if (nl == std::string_view::npos) break;
      text.remove_prefix(nl + 1);
    }
  }

  // Refills s.batch with the source's next records (a bounded chunk, so that a 100 MB log is
  // merged without holding it in memory). Errors are kept for pump to return.
  void fill(Source& s, Status& first_error) {
    s.batch.clear();
    s.next = 0;
    const int64_t tail = s.honour_tail ? options.tail : -1;
    do {
      auto more = s.reader->read(tail, s.batch, kChunkBytes);
      if (!more.ok()) {
        if (first_error.ok())
          first_error = std::move(more).error().wrap("logs of " + s.source.name);
        s.more = false;
        break;
      }
      s.more = *more;
    } while (s.batch.empty() && s.more);
    if (s.reader->malformed() > 0 && !s.warned) {
      s.warned = true;
      warn(s.source.name + ": skipping malformed lines in " + s.reader->path());
    }
  }

  // Each source's own order is kept; across sources the earliest head goes first, ties to the
  // source that appeared first.
  Status pump() {
    Status first_error;
    using Head = std::pair<int64_t, size_t>;
    std::priority_queue<Head, std::vector<Head>, std::greater<>> heads;
    for (size_t i = 0; i < sources.size(); ++i) {
      fill(sources[i], first_error);
      if (!sources[i].batch.empty()) heads.emplace(sources[i].batch[0].time_ns, i);
    }
    std::string out;
    while (!heads.empty()) {
      const size_t i = heads.top().second;
      heads.pop();
      Source& s = sources[i];
      emit(s, s.batch[s.next++], out);
      if (s.next == s.batch.size() && s.more) fill(s, first_error);
      if (s.next < s.batch.size()) heads.emplace(s.batch[s.next].time_ns, i);
      if (out.size() >= kChunkBytes) {
        write(out);
        out.clear();
      }
    }
    if (!out.empty()) write(out);
    return first_error;
  }

  static constexpr size_t kChunkBytes = 1 << 20;
};

LogPrinter::LogPrinter(LogOptions options, Sink write, Sink warn) : impl_(new Impl) {
  impl_->options = std::move(options);
  impl_->write = std::move(write);
  impl_->warn = warn ? std::move(warn) : Sink([](std::string_view m) { log::warn(m); });
}

LogPrinter::~LogPrinter() = default;

const LogOptions& LogPrinter::options() const { return impl_->options; }

void LogPrinter::set_sources(std::vector<LogSource> sources) {
  Impl& d = *impl_;
  for (auto& s : d.sources) s.leaving = true;
  for (auto& src : sources) {
    auto it = std::find_if(d.sources.begin(), d.sources.end(),
                           [&](const Impl::Source& s) { return s.source.key == src.key; });
    if (it != d.sources.end()) {
      it->leaving = false;
      continue;
    }
    d.color_index(src);
    Impl::Source s;
    s.honour_tail = d.first_call || !d.options.follow;
    s.reader = std::make_unique<logs::SourceReader>(src.log_path);
    s.source = std::move(src);
    d.sources.push_back(std::move(s));
  }
  d.first_call = false;
}

Status LogPrinter::pump() {
  Impl& d = *impl_;
  Status st = d.pump();
  d.sources.erase(std::remove_if(d.sources.begin(), d.sources.end(),
                                 [](const Impl::Source& s) { return s.leaving; }),
                  d.sources.end());
  return st;
}

std::vector<std::string> LogPrinter::watch_dirs() const {
  std::vector<std::string> dirs;
  for (const auto& s : impl_->sources) {
    const size_t slash = s.source.log_path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : s.source.log_path.substr(0, slash);
    if (dir.empty()) dir = "/";
    if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(std::move(dir));
  }
  return dirs;
}

std::string LogPrinter::exit_message(const LogSource& source, int exit_code) {
  const size_t color = impl_->color_index(source);
  return engine::exit_message(source, exit_code, impl_->options, log_color(color));
}

void LogPrinter::print_exit(const LogSource& source, int exit_code) {
  impl_->write(exit_message(source, exit_code));
}

}  // namespace stack::engine
