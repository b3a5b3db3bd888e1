#include "convert_util.h"

#include <cmath>
#include <filesystem>
#include <limits>

namespace stack::compose {
namespace {

std::string quote_text(const std::string& s) { return "\"" + s + "\""; }

std::string render_scalar(const Node& n) { return n.value; }

}  // namespace

std::optional<std::string> read_string(ConvertContext& c, const Node& n, const std::string& path) {
  if (n.is_scalar() && (n.quoted || (!scalar_is_null(n) && !scalar_bool(n) && !scalar_int(n) && !scalar_float(n))))
    return n.value;
  c.error(n, path, "must be a string, not a " + n.type_name());
  return std::nullopt;
}

std::optional<std::string> read_scalar_text(ConvertContext& c, const Node& n, const std::string& path) {
  if (n.is_scalar() && !scalar_is_null(n)) return render_scalar(n);
  c.error(n, path, "must be a string or number, not a " + n.type_name());
  return std::nullopt;
}

std::optional<std::string> read_enum(ConvertContext& c, const Node& n, const std::string& path,
                                     const std::vector<std::string>& allowed) {
  auto s = read_string(c, n, path);
  if (!s) return std::nullopt;
  for (const auto& a : allowed)
    if (*s == a) return s;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  c.error(n, path, "invalid value " + quote_text(*s) + " (expected one of: " + list + ")");
  return std::nullopt;
}

std::optional<bool> read_bool(ConvertContext& c, const Node& n, const std::string& path) {
  if (auto b = loose_bool(n)) return b;
  c.error(n, path, "must be a boolean, not " + (n.is_scalar() ? quote_text(n.value) : "a " + n.type_name()));
  return std::nullopt;
}

std::optional<int64_t> read_int(ConvertContext& c, const Node& n, const std::string& path) {
  if (auto i = loose_int(n)) return i;
  if (auto f = loose_float(n); f && std::isfinite(*f) && *f == std::floor(*f) && std::fabs(*f) < 9.2e18)
    return static_cast<int64_t>(*f);
  c.error(n, path, "must be an integer, not " + (n.is_scalar() ? quote_text(n.value) : "a " + n.type_name()));
  return std::nullopt;
}

std::optional<int64_t> read_int_range(ConvertContext& c, const Node& n, const std::string& path, int64_t min,
                                      int64_t max) {
  auto v = read_int(c, n, path);
  if (!v) return std::nullopt;
  if (*v < min || *v > max) {
    c.error(n, path, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", not " +
                         std::to_string(*v));
    return std::nullopt;
  }
  return v;
}

std::optional<double> read_float(ConvertContext& c, const Node& n, const std::string& path) {
  if (auto f = loose_float(n); f && std::isfinite(*f)) return f;
  c.error(n, path, "must be a number, not " + (n.is_scalar() ? quote_text(n.value) : "a " + n.type_name()));
  return std::nullopt;
}

std::optional<Duration> parse_duration(std::string_view s) {
  // Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ ; "0" alone is allowed.
  if (s.empty()) return std::nullopt;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration{0};
  if (s.empty()) return std::nullopt;
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double whole = 0, frac = 0, scale = 1;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') whole = whole * 10 + (s[i++] - '0'), digits = true;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') frac = frac * 10 + (s[i++] - '0'), scale *= 10, digits = true;
    }
    if (!digits) return std::nullopt;
    size_t u = i;
    while (u < s.size() && ((s[u] >= 'a' && s[u] <= 'z') || s[u] == '\xc2' || s[u] == '\xb5' || s[u] == '\xce' ||
                            s[u] == '\xbc'))
      ++u;
    std::string_view unit = s.substr(i, u - i);
    long double mult;
    if (unit == "ns") mult = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") mult = 1e3;
    else if (unit == "ms") mult = 1e6;
    else if (unit == "s") mult = 1e9;
    else if (unit == "m") mult = 60e9;
    else if (unit == "h") mult = 3600e9;
    else if (unit == "d") mult = 86400e9;  // compose-go accepts days
    else return std::nullopt;
    total += (whole + frac / scale) * mult;
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    s.remove_prefix(u);
  }
  auto ns = static_cast<int64_t>(total);
  return Duration{neg ? -ns : ns};
}

std::string format_duration(Duration d) {
  // Mirrors Go's time.Duration.String().
  int64_t v = d.ns;
  if (v == 0) return "0s";
  bool neg = v < 0;
  uint64_t u = neg ? static_cast<uint64_t>(0) - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  std::string out;
  auto frac = [](uint64_t value, int prec, std::string& digits) {
    // Renders value / 10^prec with trailing zeros removed; returns the integer part.
    bool print = false;
    std::string f;
    for (int i = 0; i < prec; ++i) {
      int digit = static_cast<int>(value % 10);
      print = print || digit != 0;
      if (print) f.insert(f.begin(), static_cast<char>('0' + digit));
      value /= 10;
    }
    if (print) f.insert(f.begin(), '.');
    digits = f;
    return value;
  };
  if (u < 1000000000ULL) {
    std::string f;
    int prec;
    const char* unit;
    if (u < 1000ULL) {
      out = std::to_string(u) + "ns";
      return neg ? "-" + out : out;
    } else if (u < 1000000ULL) {
      prec = 3;
      unit = "\xc2\xb5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    uint64_t whole = frac(u, prec, f);
    out = std::to_string(whole) + f + unit;
    return neg ? "-" + out : out;
  }
  std::string f;
  uint64_t secs = frac(u, 9, f);
  out = std::to_string(secs % 60) + f + "s";
  uint64_t mins = secs / 60;
  if (mins > 0) {
    out = std::to_string(mins % 60) + "m" + out;
    uint64_t hours = mins / 60;
    if (hours > 0) out = std::to_string(hours) + "h" + out;
  }
  return neg ? "-" + out : out;
}

std::optional<Duration> read_duration(ConvertContext& c, const Node& n, const std::string& path) {
  if (n.is_scalar() && !n.quoted) {
    if (auto i = scalar_int(n)) return Duration{*i * 1000000000LL};
  }
  if (n.is_scalar()) {
    if (auto d = parse_duration(n.value)) return d;
  }
  c.error(n, path, "invalid duration " + (n.is_scalar() ? quote_text(n.value) : "(a " + n.type_name() + ")") +
                       " (expected e.g. \"10s\", \"1m30s\", \"500ms\")");
  return std::nullopt;
}

std::optional<int64_t> parse_bytes(std::string_view s) {
  // Docker's RAMInBytes: <number>[.<fraction>] <unit>? with units in powers of 1024.
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  size_t start = i;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == start) return std::nullopt;
  std::string num(s.substr(start, i - start));
  if (num.find('.') != num.rfind('.')) return std::nullopt;
  while (i < s.size() && s[i] == ' ') ++i;
  std::string unit;
  for (; i < s.size(); ++i) unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))));
  long double mult;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1024.0L;
  else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1024.0L * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib") mult = 1024.0L * 1024 * 1024;
  else if (unit == "t" || unit == "tb" || unit == "tib") mult = 1024.0L * 1024 * 1024 * 1024;
  else if (unit == "p" || unit == "pb" || unit == "pib") mult = 1024.0L * 1024 * 1024 * 1024 * 1024;
  else return std::nullopt;
  long double v = std::strtold(num.c_str(), nullptr) * mult;
  if (v > static_cast<long double>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<int64_t> read_bytes(ConvertContext& c, const Node& n, const std::string& path) {
  if (n.is_scalar()) {
    if (auto i = loose_int(n); i && *i >= 0) return i;
    if (auto b = parse_bytes(n.value)) return b;
  }
  c.error(n, path, "invalid size " + (n.is_scalar() ? quote_text(n.value) : "(a " + n.type_name() + ")") +
                       " (expected bytes or a number with a unit: b, k, m, g)");
  return std::nullopt;
}

std::optional<double> read_cpus(ConvertContext& c, const Node& n, const std::string& path) {
  if (auto f = loose_float(n); f && std::isfinite(*f) && *f >= 0) return f;
  c.error(n, path, "invalid CPU quantity " + (n.is_scalar() ? quote_text(n.value) : "(a " + n.type_name() + ")"));
  return std::nullopt;
}

std::optional<std::vector<std::string>> read_string_list(ConvertContext& c, const Node& n, const std::string& path,
                                                         bool allow_single) {
  if (allow_single && n.is_scalar() && !scalar_is_null(n)) {
    auto s = read_string(c, n, path);
    if (!s) return std::nullopt;
    return std::vector<std::string>{*s};
  }
  if (!n.is_sequence()) {
    c.error(n, path, std::string("must be a ") + (allow_single ? "string or " : "") + "list of strings, not a " +
                         n.type_name());
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < n.items.size(); ++i) {
    auto s = read_string(c, n.items[i], path_index(path, i));
    if (s) out.push_back(*s);
    else ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<MappingWithEquals> read_list_or_dict(ConvertContext& c, const Node& n, const std::string& path,
                                                   char separator) {
  MappingWithEquals out;
  bool ok = true;
  if (n.is_mapping()) {
    for (const auto& e : n.entries) {
      const Node& v = e.value;
      std::string p = path_join(path, e.key);
      if (scalar_is_null(v) && !(v.is_scalar() && v.quoted)) {
        out[e.key] = std::nullopt;
      } else if (v.is_scalar()) {
        out[e.key] = v.value;
      } else {
        c.error(v, p, "must be a string, number, boolean or null, not a " + v.type_name());
        ok = false;
      }
    }
  } else if (n.is_sequence()) {
    for (size_t i = 0; i < n.items.size(); ++i) {
      const Node& item = n.items[i];
      std::string p = path_index(path, i);
      if (!item.is_scalar() || scalar_is_null(item)) {
        c.error(item, p, "must be a string \"KEY" + std::string(1, separator) + "VALUE\", not a " + item.type_name());
        ok = false;
        continue;
      }
      auto pos = item.value.find(separator);
      if (pos == std::string::npos) out[item.value] = std::nullopt;
      else out[item.value.substr(0, pos)] = item.value.substr(pos + 1);
    }
  } else {
    c.error(n, path, "must be a mapping or a list of \"KEY" + std::string(1, separator) + "VALUE\" strings, not a " +
                         n.type_name());
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<Mapping> read_mapping(ConvertContext& c, const Node& n, const std::string& path, char separator) {
  auto m = read_list_or_dict(c, n, path, separator);
  if (!m) return std::nullopt;
  Mapping out;
  for (auto& [k, v] : *m) out[k] = v.value_or("");
  return out;
}

std::optional<Mapping> read_string_map(ConvertContext& c, const Node& n, const std::string& path) {
  if (!n.is_mapping()) {
    c.error(n, path, "must be a mapping, not a " + n.type_name());
    return std::nullopt;
  }
  Mapping out;
  bool ok = true;
  for (const auto& e : n.entries) {
    if (e.value.is_scalar() && !scalar_is_null(e.value)) {
      out[e.key] = e.value.value;
    } else {
      c.error(e.value, path_join(path, e.key), "must be a string or number, not a " + e.value.type_name());
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

bool check_mapping(ConvertContext& c, const Node& n, const std::string& path,
                   const std::vector<std::string>& allowed) {
  if (!n.is_mapping()) {
    c.error(n, path, "must be a mapping, not a " + n.type_name());
    return false;
  }
  for (const auto& e : n.entries) {
    if (e.key.rfind("x-", 0) == 0) continue;
    bool known = false;
    for (const auto& a : allowed) known = known || a == e.key;
    if (!known) c.diags.error(e.key_mark, path, "unknown key \"" + e.key + "\"");
  }
  return true;
}

Extensions read_extensions(const Node& n) {
  Extensions out;
  for (const auto& e : n.entries)
    if (e.key.rfind("x-", 0) == 0) out[e.key] = node_to_json(e.value);
  return out;
}

Json node_to_json(const Node& n) {
  switch (n.kind) {
    case NodeKind::kNull: return nullptr;
    case NodeKind::kScalar:
      if (n.quoted) return n.value;
      if (scalar_is_null(n)) return nullptr;
      if (auto b = scalar_bool(n)) return *b;
      if (auto i = scalar_int(n)) return *i;
      if (auto f = scalar_float(n); f && std::isfinite(*f)) return *f;
      return n.value;
    case NodeKind::kSequence: {
      Json a = Json::array();
      for (const auto& i : n.items) a.push_back(node_to_json(i));
      return a;
    }
    case NodeKind::kMapping: {
      Json o = Json::object();
      for (const auto& e : n.entries) o[e.key] = node_to_json(e.value);
      return o;
    }
  }
  return nullptr;
}

std::vector<std::string> split_string(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

std::string lexically_normal(const std::string& path) {
  std::string out = std::filesystem::path(path).lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string resolve_path(const ConvertContext& c, const std::string& path) {
  if (path.empty()) return path;
  std::string p = path;
  if (p == "~" || p.rfind("~/", 0) == 0) {
    auto home = c.env.find("HOME");
    std::string h = home != c.env.end() ? home->second : std::string("/root");
    p = h + p.substr(1);
  }
  if (p[0] != '/') p = c.working_dir + "/" + p;
  return lexically_normal(p);
}

}  // namespace stack::compose
