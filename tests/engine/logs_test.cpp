// Reading and following container logs (stack/engine/logs.h): Compose's output format, Docker's
// time forms, tail across rotated files, merging, partial lines, rotation while following.
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "logs/logs_internal.h"
#include "stack/engine/logs.h"
#include "stack/engine/shim_protocol.h"

using namespace stack::engine;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kSec = 1000000000;
constexpr int64_t kBase = 1357133017;  // 2013-01-02T13:23:37Z

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/stack-logs-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  // A container directory D with its (not yet existing) log.json.
  LogSource source(const std::string& name) const {
    const std::string dir = path + "/" + name;
    fs::create_directories(dir);
    return LogSource{name, dir + "/log.json", "id-" + name};
  }
};

// Sets TZ for one test and restores it.
struct ScopedTz {
  std::string old;
  bool had;
  explicit ScopedTz(const char* tz) : had(::getenv("TZ") != nullptr) {
    if (had) old = ::getenv("TZ");
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (had) ::setenv("TZ", old.c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();
  }
};

std::string line_at(std::string_view text, int64_t ns, std::string_view stream = "stdout") {
  return log_line_json(std::string(text) + "\n", stream, rfc3339_nano(ns / kSec, ns % kSec));
}

void append(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << data;
}

// A printer writing into a string; warnings counted.
struct Capture {
  std::string out;
  std::vector<std::string> warnings;
  LogPrinter printer;
  explicit Capture(LogOptions o)
      : printer(
            o, [this](std::string_view s) { out += s; },
            [this](std::string_view w) { warnings.emplace_back(w); }) {}
  std::string take() {
    REQUIRE(printer.pump().ok());
    return std::exchange(out, {});
  }
};

LogOptions plain() {
  LogOptions o;
  o.no_prefix = true;
  return o;
}

}  // namespace

TEST_CASE("parse_log_time: Docker's --since/--until forms") {
  ScopedTz tz("UTC0");
  const int64_t now = (kBase + 100) * kSec + 700000000;
  auto at = [&](const char* text) {
    auto r = parse_log_time(text, now);
    INFO(text);
    REQUIRE(r.ok());
    return *r;
  };
  CHECK(at("2013-01-02T13:23:37Z") == kBase * kSec);
  CHECK(at("2013-01-02T13:23:37.25Z") == kBase * kSec + 250000000);
  CHECK(at("2013-01-02T13:23:37.123456789Z") == kBase * kSec + 123456789);
  CHECK(at("2013-01-02T14:23:37+01:00") == kBase * kSec);
  CHECK(at("2013-01-02T08:23:37.5-05:00") == kBase * kSec + 500000000);
  // Without a zone: local time.
  CHECK(at("2013-01-02T13:23:37") == kBase * kSec);
  CHECK(at("2013-01-02T13:23") == (kBase - 37) * kSec);
  CHECK(at("2013-01-02") == 1357084800 * kSec);
  // Unix seconds, with or without a fraction.
  CHECK(at("1700000000") == 1700000000 * kSec);
  CHECK(at("1700000000.5") == 1700000000 * kSec + 500000000);
  CHECK(at("0") == 0);
  // Durations count back from now, truncated to the second as Docker does.
  CHECK(at("42s") == (kBase + 100 - 42) * kSec);
  CHECK(at("10m") == (kBase + 100 - 600) * kSec);
  CHECK(at("1h30m") == (kBase + 100 - 5400) * kSec);
  CHECK(at("1.5h") == (kBase + 100 - 5400) * kSec);
  CHECK(at("1500ms") == (kBase + 99) * kSec);

  for (const char* bad : {"yesterday", "10x", "2013-13-02", "2013-01-02T25:00", "12:30", ""}) {
    auto r = parse_log_time(bad, now);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(), Catch::Contains("\"" + std::string(bad) + "\""));
  }
  CHECK(parse_log_time("yesterday", now).error().to_string() ==
        "failed to parse value as time or duration: \"yesterday\"");
}

TEST_CASE("parse_log_time: a time without a zone is local time") {
  ScopedTz tz("EST5");
  CHECK(*parse_log_time("2013-01-02T08:23:37", kBase * kSec) == kBase * kSec);
  CHECK(*parse_log_time("2013-01-02T13:23:37Z", kBase * kSec) == kBase * kSec);
}

TEST_CASE("log_timestamp: nine fraction digits, as Docker's RFC3339NanoFixed") {
  CHECK(log_timestamp(kBase * kSec + 123000000) == "2013-01-02T13:23:37.123000000Z");
  CHECK(log_timestamp(kBase * kSec) == "2013-01-02T13:23:37.000000000Z");
}

TEST_CASE("prefix: names padded to the longest plus one, then ' | '") {
  TempDir tmp;
  auto web = tmp.source("web-1"), db = tmp.source("database-1");
  append(web.log_path, line_at("hello", kBase * kSec));
  append(db.log_path, line_at("ready", (kBase + 1) * kSec) + line_at("", (kBase + 2) * kSec));
  Capture c(LogOptions{});
  c.printer.set_sources({web, db});
  CHECK(c.take() == R"(web-1       | hello
database-1  | ready
database-1  | 
)");

  SECTION("one source: Compose's familiar two spaces") {
    Capture one(LogOptions{});
    one.printer.set_sources({web});
    CHECK(one.take() == "web-1  | hello\n");
  }
}

TEST_CASE("colour: the prefix only, in Compose's cycle by order of appearance") {
  TempDir tmp;
  std::vector<LogSource> sources;
  for (int i = 1; i <= 11; ++i) {
    sources.push_back(tmp.source("s" + std::to_string(i)));
    append(sources.back().log_path, line_at("x", (kBase + i) * kSec));
  }
  LogOptions o;
  o.color = true;
  Capture c(o);
  c.printer.set_sources(sources);
  const std::string out = c.take();
  const char* expected[] = {"36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1",
                            "36"};
  size_t pos = 0;
  for (int i = 0; i < 11; ++i) {
    std::string name = "s" + std::to_string(i + 1);
    std::string want = "\033[" + std::string(expected[i]) + "m" + name +
                       std::string(4 - name.size(), ' ') + " | \033[0mx\n";
    INFO(i);
    REQUIRE(out.compare(pos, want.size(), want) == 0);
    pos += want.size();
  }
  CHECK(pos == out.size());
  CHECK(log_color(12) == "32");
}

TEST_CASE("timestamps and no-prefix") {
  TempDir tmp;
  auto web = tmp.source("web-1");
  append(web.log_path, line_at("hello", kBase * kSec + 123000000, "stderr"));
  LogOptions o;
  o.timestamps = true;
  {
    Capture c(o);
    c.printer.set_sources({web});
    CHECK(c.take() == "web-1  | 2013-01-02T13:23:37.123000000Z hello\n");
  }
  o.no_prefix = true;
  {
    Capture c(o);
    c.printer.set_sources({web});
    CHECK(c.take() == "2013-01-02T13:23:37.123000000Z hello\n");
  }
  o.timestamps = false;
  o.color = true;
  {
    Capture c(o);
    c.printer.set_sources({web});
    CHECK(c.take() == "hello\n");
  }
}

TEST_CASE("exit message as Compose prints it") {
  LogSource web{"web-1", "/nonexistent/log.json", "a"}, db{"db-1", "/nonexistent/x", "b"};
  CHECK(exit_message(web, 0, LogOptions{}) == "web-1 exited with code 0\n");
  LogOptions colour;
  colour.color = true;
  CHECK(exit_message(web, 137, colour, "33") ==
        "\033[33m\r\033[Kweb-1 exited with code 137\n\033[0m");
  std::string out;
  LogPrinter p(colour, [&](std::string_view s) { out += s; });
  p.set_sources({web, db});
  p.print_exit(db, 2);
  CHECK(out == "\033[33m\r\033[Kdb-1 exited with code 2\n\033[0m");
}

namespace {

// Writes lines "line 1" … "line n" with JsonLogWriter, one second apart.
void write_numbered(JsonLogWriter& w, int from, int to) {
  for (int i = from; i <= to; ++i)
    REQUIRE(w.write_line(line_at("line " + std::to_string(i), (kBase + i) * kSec)).ok());
}

std::string numbered(int from, int to) {
  std::string s;
  for (int i = from; i <= to; ++i) s += "line " + std::to_string(i) + "\n";
  return s;
}

}  // namespace

TEST_CASE("tail: the last lines, across rotated files, oldest first") {
  TempDir tmp;
  auto web = tmp.source("web-1");
  // Each line is about 70 bytes: three per file, so 8 lines make .2 = 1-3, .1 = 4-6, log = 7-8.
  JsonLogWriter w(web.log_path, ShimLogConfig{200, 3});
  REQUIRE(w.open().ok());
  write_numbered(w, 1, 8);
  REQUIRE(fs::exists(rotated_log_name(web.log_path, 2)));
  auto tail = [&](int64_t n) {
    LogOptions o = plain();
    o.tail = n;
    Capture c(o);
    c.printer.set_sources({web});
    return c.take();
  };
  CHECK(tail(-1) == numbered(1, 8));
  CHECK(tail(0) == "");
  CHECK(tail(1) == numbered(8, 8));
  CHECK(tail(2) == numbered(7, 8));
  CHECK(tail(5) == numbered(4, 8));
  CHECK(tail(7) == numbered(2, 8));
  CHECK(tail(100) == numbered(1, 8));
}

TEST_CASE("tail: searching backwards across block boundaries") {
  TempDir tmp;
  const std::string path = tmp.path + "/big";
  std::string data;
  for (int i = 0; i < 20000; ++i) data += "row " + std::to_string(i) + "\n";
  data += "partial";
  append(path, data);
  stack::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd);
  const off_t size = static_cast<off_t>(data.size());
  auto r = logs::find_tail_start(fd.get(), size, 3);
  REQUIRE(r.ok());
  CHECK(data.substr(static_cast<size_t>(r->first)) == "row 19997\nrow 19998\nrow 19999\npartial");
  CHECK(r->second == 3);
  r = logs::find_tail_start(fd.get(), size, 15000);  // crosses several 64 KiB blocks
  REQUIRE(r.ok());
  CHECK(data.compare(static_cast<size_t>(r->first), 9, "row 5000\n") == 0);
  r = logs::find_tail_start(fd.get(), size, 30000);
  REQUIRE(r.ok());
  CHECK(r->first == 0);
  CHECK(r->second == 20000);
}

TEST_CASE("since and until with every time form") {
  ScopedTz tz("UTC0");
  TempDir tmp;
  auto web = tmp.source("web-1");
  std::string data;
  for (int i = 0; i < 10; ++i) data += line_at("t" + std::to_string(i), (kBase + i) * kSec);
  append(web.log_path, data);
  const int64_t now = (kBase + 9) * kSec + 300000000;
  auto window = [&](const char* since, const char* until) {
    LogOptions o = plain();
    if (*since) o.since_ns = *parse_log_time(since, now);
    if (*until) o.until_ns = *parse_log_time(until, now);
    Capture c(o);
    c.printer.set_sources({web});
    std::string out = c.take();
    std::string ids;
    for (char ch : out)
      if (ch >= '0' && ch <= '9') ids += ch;
    return ids;
  };
  CHECK(window("2013-01-02T13:23:40Z", "") == "3456789");               // RFC3339, inclusive
  CHECK(window("", "2013-01-02T14:23:42.5+01:00") == "012345");          // RFC3339Nano + zone
  CHECK(window("2013-01-02T13:23:40Z", "2013-01-02T13:23:42Z") == "345");
  CHECK(window("2013-01-02T13:23:44", "") == "789");                     // local, no zone
  CHECK(window("2013-01-02", "") == "0123456789");                       // date
  CHECK(window("", "2013-01-02") == "");
  CHECK(window("1357133019.5", "") == "3456789");                        // unix with fraction
  CHECK(window("", "1357133019") == "012");                              // unix seconds
  CHECK(window("5s", "") == "456789");                                   // duration
  CHECK(window("1h", "3s") == "0123456");
}

TEST_CASE("merge: by time across sources, each source's order kept") {
  TempDir tmp;
  auto a = tmp.source("a"), b = tmp.source("b");
  append(a.log_path, line_at("a1", (kBase + 1) * kSec) + line_at("a3", (kBase + 3) * kSec) +
                         line_at("a5", (kBase + 5) * kSec) + line_at("a5'", (kBase + 5) * kSec));
  append(b.log_path, line_at("b2", (kBase + 2) * kSec) + line_at("b5", (kBase + 5) * kSec) +
                         line_at("b4", (kBase + 4) * kSec));
  Capture c(plain());
  c.printer.set_sources({b, a});
  // b4 after b5: b wrote it so (a clock step); ties go to the source given first (b).
  CHECK(c.take() == "a1\nb2\na3\nb5\nb4\na5\na5'\n");
}

TEST_CASE("a partial last line waits for its end") {
  TempDir tmp;
  auto web = tmp.source("web-1");
  const std::string full = line_at("first", kBase * kSec) + line_at("second", (kBase + 1) * kSec);
  const size_t cut = full.size() - 20;
  append(web.log_path, full.substr(0, cut));
  LogOptions o = plain();
  o.follow = true;
  Capture c(o);
  c.printer.set_sources({web});
  CHECK(c.take() == "first\n");
  CHECK(c.take() == "");
  append(web.log_path, full.substr(cut));
  CHECK(c.take() == "second\n");
  CHECK(c.take() == "");
  CHECK(c.warnings.empty());
}

TEST_CASE("a malformed line is skipped with one warning") {
  TempDir tmp;
  auto web = tmp.source("web-1");
  append(web.log_path, line_at("one", kBase * kSec) + "not json\n" +
                           R"({"log":"x\n","stream":"stdout","time":"yesterday"})" + "\n" +
                           line_at("two", (kBase + 1) * kSec));
  Capture c(plain());
  c.printer.set_sources({web});
  CHECK(c.take() == "one\ntwo\n");
  REQUIRE(c.warnings.size() == 1);
  CHECK_THAT(c.warnings[0], Catch::Contains("web-1") && Catch::Contains(web.log_path));
}

TEST_CASE("a source not yet written is picked up once its log appears") {
  TempDir tmp;
  auto web = tmp.source("web-1");
  LogOptions o = plain();
  o.follow = true;
  Capture c(o);
  c.printer.set_sources({web});
  CHECK(c.take() == "");
  append(web.log_path, line_at("late", kBase * kSec));
  CHECK(c.take() == "late\n");
}

TEST_CASE("rotation while following: every line once, in order") {
  TempDir tmp;
  auto web = tmp.source("web-1");
  // About two lines per file, three files kept: between two pumps at most two rotations.
  JsonLogWriter w(web.log_path, ShimLogConfig{120, 3});
  REQUIRE(w.open().ok());
  LogOptions o = plain();
  o.follow = true;
  Capture c(o);
  c.printer.set_sources({web});
  std::string all;
  int written = 0;
  for (int step : {1, 3, 1, 2, 4, 1, 1, 3, 2, 4, 4, 1, 2, 3}) {
    write_numbered(w, written + 1, written + step);
    written += step;
    all += c.take();
  }
  CHECK(all == numbered(1, written));
  CHECK(c.warnings.empty());
  CHECK(fs::exists(rotated_log_name(web.log_path, 2)));
}

TEST_CASE("max_file 1 truncates in place: following starts again from the top") {
  TempDir tmp;
  auto web = tmp.source("web-1");
  JsonLogWriter w(web.log_path, ShimLogConfig{100, 1});
  REQUIRE(w.open().ok());
  LogOptions o = plain();
  o.follow = true;
  Capture c(o);
  c.printer.set_sources({web});
  write_numbered(w, 1, 2);  // 2 lines ≥ 100 bytes: the next write truncates
  CHECK(c.take() == numbered(1, 2));
  write_numbered(w, 3, 3);
  CHECK(c.take() == numbered(3, 3));
}

TEST_CASE("sources that go away are drained, then closed") {
  TempDir tmp;
  auto a = tmp.source("a"), b = tmp.source("b");
  append(a.log_path, line_at("a1", (kBase + 1) * kSec));
  append(b.log_path, line_at("b1", (kBase + 2) * kSec));
  LogOptions o = plain();
  o.follow = true;
  o.tail = 0;
  Capture c(o);
  c.printer.set_sources({a, b});
  CHECK(c.take() == "");  // tail 0 for the sources present at first
  append(b.log_path, line_at("b2", (kBase + 3) * kSec));
  c.printer.set_sources({a});
  CHECK(c.take() == "b2\n");
  append(b.log_path, line_at("b3", (kBase + 4) * kSec));
  CHECK(c.take() == "");
  // Back again: a new source in follow mode is read from its beginning.
  c.printer.set_sources({a, b});
  CHECK(c.take() == "b1\nb2\nb3\n");
}

TEST_CASE("follow: discover() adds a replica started later, read in full (tail: first ones)") {
  TempDir tmp;
  auto web1 = tmp.source("web-1"), web2 = tmp.source("web-2");
  append(web1.log_path, line_at("old 1", kBase * kSec) + line_at("old 2", (kBase + 1) * kSec));
  LogOptions o;
  o.follow = true;
  o.tail = 1;
  std::string out;
  LogPrinter p(o, [&](std::string_view s) { out += s; });
  int calls = 0;
  bool found_web2 = false, wrote_new = false;
  auto discover = [&] {
    if (calls < 3) return std::vector<LogSource>{web1};
    found_web2 = true;
    return std::vector<LogSource>{web1, web2};
  };
  auto done = [&] {
    ++calls;
    if (calls == 2) {
      append(web2.log_path, line_at("w2 a", (kBase + 2) * kSec));
      append(web2.log_path, line_at("w2 b", (kBase + 3) * kSec));
    }
    if (found_web2 && !wrote_new) {
      append(web1.log_path, line_at("new", (kBase + 4) * kSec));
      wrote_new = true;
      return false;
    }
    return wrote_new;
  };
  REQUIRE(follow(p, discover, done, 5).ok());
  CHECK(out == R"(web-1  | old 2
web-2  | w2 a
web-2  | w2 b
web-1  | new
)");
}

TEST_CASE("follow: woken by inotify, not by polling") {
  TempDir tmp;
  auto web = tmp.source("web-1");
  LogOptions o = plain();
  o.follow = true;
  std::string out;
  LogPrinter p(o, [&](std::string_view s) { out += s; });
  p.set_sources({web});
  int calls = 0;
  const auto start = std::chrono::steady_clock::now();
  // A long poll interval: only inotify can make the loop come round for each line quickly.
  auto done = [&] {
    ++calls;
    if (calls <= 5) append(web.log_path, line_at("l" + std::to_string(calls), kBase * kSec));
    return out.size() >= 15;  // "l1\n" … "l5\n"
  };
  REQUIRE(follow(p, nullptr, done, 10000).ok());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(out == "l1\nl2\nl3\nl4\nl5\n");
  CHECK(elapsed < std::chrono::seconds(2));

  // And idle, it does not spin: about one round per poll interval.
  calls = 0;
  const auto idle_start = std::chrono::steady_clock::now();
  auto idle_done = [&] {
    ++calls;
    return std::chrono::steady_clock::now() - idle_start > std::chrono::milliseconds(300);
  };
  REQUIRE(follow(p, nullptr, idle_done, 50).ok());
  CHECK(calls <= 12);
}

TEST_CASE("records: what log_line_json escapes comes back, other shapes parse too") {
  const std::string text = "a \"q\" \\ <b> & \t tab \x01 \xE2\x80\xA8 \xF0\x9F\x98\x80 caf\xC3\xA9";
  std::string line = log_line_json(text + "\n", "stderr", "2013-01-02T13:23:37.5Z");
  line.pop_back();  // the newline
  auto r = logs::parse_record(line);
  REQUIRE(r);
  CHECK(r->text == text);
  CHECK(r->stderr_stream);
  CHECK(r->time_ns == kBase * kSec + 500000000);

  // Docker's own writer may add attrs, and another writer may order fields differently.
  r = logs::parse_record(R"({"time":"2013-01-02T13:23:37Z","attrs":{"tag":"x"},)"
                         R"("stream":"stdout","log":"hi\u003c\n"})");
  REQUIRE(r);
  CHECK(r->text == "hi<");
  CHECK_FALSE(r->stderr_stream);
  // A lone surrogate decodes to U+FFFD, as in Go.
  r = logs::parse_record(R"({"log":"\ud800x","stream":"stdout","time":"2013-01-02T13:23:37Z"})");
  REQUIRE(r);
  CHECK(r->text == "\xEF\xBF\xBDx");
  CHECK_FALSE(logs::parse_record(R"({"log":"x","stream":"stdout"})"));
  CHECK_FALSE(logs::parse_record(R"({"log":"x","stream":"stdout","time":"2013-01-02T13:23:37Z")"));
  CHECK_FALSE(
      logs::parse_record(R"({"log":"x\q","stream":"stdout","time":"2013-01-02T13:23:37Z"})"));
}

TEST_CASE("merge: logs larger than one read chunk stay merged and complete") {
  TempDir tmp;
  auto a = tmp.source("a"), b = tmp.source("b");
  std::string da, db;
  const std::string pad(60, '.');
  constexpr int kLines = 20000;  // about 2.5 MB each: several 1 MiB chunks
  for (int i = 0; i < kLines; ++i) {
    da += line_at("a" + std::to_string(i) + pad, kBase * kSec + int64_t(2 * i) * 1000);
    db += line_at("b" + std::to_string(i) + pad, kBase * kSec + int64_t(2 * i + 1) * 1000);
  }
  append(a.log_path, da);
  append(b.log_path, db);
  Capture c(plain());
  c.printer.set_sources({a, b});
  const std::string out = c.take();
  std::string want;
  for (int i = 0; i < kLines; ++i)
    want += "a" + std::to_string(i) + pad + "\nb" + std::to_string(i) + pad + "\n";
  CHECK(out.size() == want.size());
  CHECK(out == want);
}
