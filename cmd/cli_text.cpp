// Small text helpers the `stack` verbs share (cli_text.h).
#include "cli_text.h"

namespace stack::cli {

bool natural_less(const std::string& a, const std::string& b) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    bool da = digit(a[i]), db = digit(b[j]);
    if (da != db) return da;
    if (!da) {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i, ++j;
      continue;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    size_t si = i, sj = j;
    while (i < a.size() && digit(a[i])) ++i;
    while (j < b.size() && digit(b[j])) ++j;
    if (i - si != j - sj) return i - si < j - sj;
    if (int c = a.compare(si, i - si, b, sj, j - sj); c != 0) return c < 0;
    if (si != sj) return si < sj;
  }
  return a.size() - i < b.size() - j;
}

std::pair<std::string, std::string> split_kv(const std::string& s) {
  auto eq = s.find('=');
  if (eq == std::string::npos) return {s, ""};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

}  // namespace stack::cli
