// Docker's naming rules, anonymous names, timestamps and prune selection.
#include "stack/volumes/volume.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace stack::volumes {

namespace {

bool name_char(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

// Go's %q for the printable ASCII that names hold; other bytes as \xNN.
std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out + "\"";
}

}  // namespace

bool valid_volume_name(std::string_view name) {
  if (name.size() < 2) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0)) return false;
  return true;
}

Status validate_volume_name(std::string_view name) {
  // Docker tests the length first: a one-character name gets this text whatever the character.
  if (name.size() == 1)
    return Error(EINVAL,
                 "volume name is too short, names should be at least two alphanumeric characters");
  if (!valid_volume_name(name))
    return Error(EINVAL, go_quote(name) +
                             " includes invalid characters for a local volume name, only "
                             "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass "
                             "a host directory, use absolute path");
  return {};
}

std::string anonymous_volume_name() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::abort();  // getrandom cannot fail on Linux ≥ 3.17 once the pool is ready
    got += static_cast<size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string rfc3339_utc(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool prune_selects(const VolumeInfo& info, std::size_t consumer_count, bool all) {
  if (consumer_count > 0) return false;
  return all || info.labels.count(kAnonymousLabel) > 0;
}

}  // namespace stack::volumes
