// Times in logs: Docker's --since/--until forms (daemon's timetypes.GetTimestamp) and the
// RFC3339Nano stamps of json-file records.
#include <time.h>

#include <cctype>
#include <cstdio>

#include "logs_internal.h"
#include "stack/engine/logs.h"

namespace stack::engine {
namespace logs {
namespace {

constexpr int64_t kNsPerSec = 1000000000;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at s[pos…] into v.
bool digits(std::string_view s, size_t& pos, size_t n, int64_t& v) {
  if (pos + n > s.size()) return false;
  v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return true;
}

}  // namespace

std::optional<int64_t> parse_rfc3339(std::string_view s, std::optional<int64_t> local_offset_s) {
  size_t pos = 0;
  int64_t year, month, day, hour = 0, minute = 0, second = 0, frac_ns = 0;
  if (!digits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' ||
      !digits(s, pos, 2, month) || pos >= s.size() || s[pos++] != '-' || !digits(s, pos, 2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, unsigned(month)))
    return std::nullopt;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't')) {
    ++pos;
    if (!digits(s, pos, 2, hour) || hour > 23) return std::nullopt;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!digits(s, pos, 2, minute) || minute > 59) return std::nullopt;
      if (pos < s.size() && s[pos] == ':') {
        ++pos;
        if (!digits(s, pos, 2, second) || second > 59) return std::nullopt;
        if (pos < s.size() && s[pos] == '.') {
          ++pos;
          size_t n = 0;
          int64_t scale = kNsPerSec;
          for (; pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])); ++pos, ++n) {
            scale /= 10;
            if (n < 9) frac_ns += (s[pos] - '0') * scale;
          }
          if (n == 0) return std::nullopt;
        }
      }
    }
  }
  std::optional<int64_t> offset_s;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    offset_s = 0;
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int64_t sign = s[pos++] == '-' ? -1 : 1;
    int64_t oh, om;
    if (!digits(s, pos, 2, oh) || pos >= s.size() || s[pos++] != ':' || !digits(s, pos, 2, om) ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset_s = sign * (oh * 3600 + om * 60);
  }
  if (pos != s.size()) return std::nullopt;
  if (!offset_s) offset_s = local_offset_s;
  if (!offset_s) return std::nullopt;
  const int64_t secs = days_from_civil(year, unsigned(month), unsigned(day)) * 86400 +
                       hour * 3600 + minute * 60 + second - *offset_s;
  return secs * kNsPerSec + frac_ns;
}

std::optional<int64_t> parse_go_duration_ns(std::string_view s) {
  static constexpr struct {
    std::string_view unit;
    int64_t ns;
  } kUnits[] = {{"ns", 1},          {"us", 1000},          {"\xC2\xB5s", 1000},
                {"\xCE\xBCs", 1000}, {"ms", 1000000},       {"s", kNsPerSec},
                {"m", 60 * kNsPerSec}, {"h", 3600 * kNsPerSec}};
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double value = 0, scale = 1;
    bool any = false;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, any = true)
      value = value * 10 + (s[i] - '0');
    if (i < s.size() && s[i] == '.') {
      for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, any = true)
        value += (s[i] - '0') * (scale /= 10);
    }
    if (!any) return std::nullopt;
    s.remove_prefix(i);
    // Longest unit first would misread "ms" as "m"+"s": match the exact unit token instead.
    size_t len = 0;
    while (len < s.size() && !std::isdigit(static_cast<unsigned char>(s[len])) && s[len] != '.')
      ++len;
    const std::string_view token = s.substr(0, len);
    bool found = false;
    for (const auto& u : kUnits) {
      if (token == u.unit) {
        total += value * static_cast<long double>(u.ns);
        found = true;
        break;
      }
    }
    if (!found) return std::nullopt;
    s.remove_prefix(len);
  }
  if (total > static_cast<long double>(INT64_MAX)) return std::nullopt;
  const auto ns = static_cast<int64_t>(total);
  return negative ? -ns : ns;
}

}  // namespace logs

Result<int64_t> parse_log_time(std::string_view text, int64_t now_ns) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  // As Docker: a duration (other than a bare "0") counts back from now, to the second.
  if (text != "0") {
    if (auto d = logs::parse_go_duration_ns(text)) {
      int64_t t = now_ns - *d;
      int64_t sec = t / logs::kNsPerSec - (t % logs::kNsPerSec < 0 ? 1 : 0);
      return sec * logs::kNsPerSec;
    }
  }
  if (text.find('-') != std::string_view::npos && text.find_first_of("0123456789") == 0) {
    // A time without a zone is local time, at the offset the local zone has now (Docker uses
    // time.FixedZone(reference.Zone())).
    const time_t now_s = static_cast<time_t>(now_ns / logs::kNsPerSec);
    struct tm tm {};
    ::localtime_r(&now_s, &tm);
    if (auto t = logs::parse_rfc3339(text, static_cast<int64_t>(tm.tm_gmtoff))) return *t;
    return Error(EINVAL, "invalid time " + quoted +
                             ": expected a date such as 2013-01-02, 2013-01-02T13:23:37 or "
                             "2013-01-02T13:23:37Z");
  }
  // Unix seconds with an optional fraction.
  const size_t dot = text.find('.');
  const std::string_view sec_part = text.substr(0, dot);
  const std::string_view frac_part =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  auto all_digits = [](std::string_view v) {
    if (v.empty()) return false;
    for (char c : v)
      if (c < '0' || c > '9') return false;
    return true;
  };
  if (all_digits(sec_part) && sec_part.size() <= 12 &&
      (dot == std::string_view::npos || (all_digits(frac_part) && frac_part.size() <= 9))) {
    int64_t sec = 0, nsec = 0;
    for (char c : sec_part) sec = sec * 10 + (c - '0');
    int64_t scale = logs::kNsPerSec;
    for (char c : frac_part) nsec += (c - '0') * (scale /= 10);
    return sec * logs::kNsPerSec + nsec;
  }
  return Error(EINVAL, "failed to parse value as time or duration: " + quoted);
}

std::string log_timestamp(int64_t unix_ns) {
  int64_t sec = unix_ns / logs::kNsPerSec, nsec = unix_ns % logs::kNsPerSec;
  if (nsec < 0) {
    nsec += logs::kNsPerSec;
    --sec;
  }
  const time_t t = static_cast<time_t>(sec);
  struct tm tm {};
  ::gmtime_r(&t, &tm);
  char buf[64];
  size_t n = ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(nsec));
  return buf;
}

}  // namespace stack::engine
