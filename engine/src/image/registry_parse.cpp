// Pure protocol helpers of the registry client: WWW-Authenticate, error bodies, Retry-After and
// the retry table, Location and Range handling, token replies, base64.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "image/registry_internal.h"

namespace stack::engine::image::registry_detail {
namespace {

constexpr int kMaxBackoffMs = 5'000;
constexpr int kMaxRetryAfterS = 10;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A small cursor over one header value.
struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool end() const { return i >= s.size(); }
  void skip_space() {
    while (!end() && is_space(s[i])) ++i;
  }
  std::string token() {
    size_t start = i;
    while (!end() && is_token_char(s[i])) ++i;
    return std::string(s.substr(start, i - start));
  }
  // A quoted-string starting at '"'; nullopt if unterminated.
  std::optional<std::string> quoted() {
    std::string out;
    ++i;  // opening quote
    while (!end()) {
      char c = s[i++];
      if (c == '"') return out;
      if (c == '\\' && !end()) c = s[i++];
      out.push_back(c);
    }
    return std::nullopt;
  }
};

std::optional<uint64_t> to_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::vector<Challenge> parse_www_authenticate(const std::vector<std::string>& header_values) {
  std::vector<Challenge> out;
  for (const std::string& value : header_values) {
    Cursor c{value};
    while (true) {
      c.skip_space();
      while (!c.end() && c.s[c.i] == ',') ++c.i, c.skip_space();
      if (c.end()) break;
      std::string word = c.token();
      if (word.empty()) break;  // garbage: drop the rest
      c.skip_space();
      // "name=" after a challenge's scheme is a parameter of it; a bare token starts a challenge.
      if (!c.end() && c.s[c.i] == '=' && !out.empty()) {
        ++c.i;
        c.skip_space();
        std::string param_value;
        if (!c.end() && c.s[c.i] == '"') {
          auto q = c.quoted();
          if (!q) break;
          param_value = std::move(*q);
        } else {
          param_value = c.token();
        }
        out.back().params[lower(word)] = std::move(param_value);
        c.skip_space();
        if (!c.end() && c.s[c.i] != ',') break;
        continue;
      }
      out.push_back(Challenge{lower(word), {}});
    }
  }
  return out;
}

std::vector<RegistryError> parse_error_body(std::string_view body) {
  std::vector<RegistryError> out;
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return out;
  auto it = doc.find("errors");
  if (it == doc.end() || !it->is_array()) return out;
  for (const auto& e : *it) {
    if (!e.is_object()) continue;
    RegistryError r;
    if (auto c = e.find("code"); c != e.end() && c->is_string()) r.code = c->get<std::string>();
    if (auto m = e.find("message"); m != e.end() && m->is_string()) {
      r.message = m->get<std::string>();
    }
    if (!r.code.empty() || !r.message.empty()) out.push_back(std::move(r));
  }
  return out;
}

std::string describe_error_body(std::string_view body) {
  auto errors = parse_error_body(body);
  std::string out;
  if (!errors.empty()) {
    for (const auto& e : errors) {
      if (!out.empty()) out += "; ";
      std::string code = lower(e.code);
      std::replace(code.begin(), code.end(), '_', ' ');
      out += code;
      if (!e.message.empty() && lower(e.message) != code) {
        out += code.empty() ? e.message : ": " + e.message;
      }
    }
    return out;
  }
  // Not the registry's JSON (a proxy's HTML page, plain text): a printable excerpt.
  for (char c : trim(body).substr(0, 200)) {
    out.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : ' ');
  }
  return out;
}

bool is_transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

bool is_transient_status(long status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

bool is_https_fallback(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return true;
    default:
      return false;
  }
}

std::optional<int> parse_retry_after(std::string_view value) {
  auto v = to_u64(trim(value));
  if (!v || *v > 86'400) return std::nullopt;
  return static_cast<int>(*v);
}

RetryDecision decide_retry(int attempt, int max_attempts, CURLcode code, long status,
                           std::string_view retry_after, int backoff_initial_ms,
                           double jitter01) {
  if (attempt >= max_attempts) return {};
  bool transient = code != CURLE_OK ? is_transient(code) : is_transient_status(status);
  if (!transient) return {};
  if (code == CURLE_OK && !retry_after.empty()) {
    // The server said when; wait for it if that is short, else give up now rather than hang.
    if (auto s = parse_retry_after(retry_after)) {
      if (*s > kMaxRetryAfterS) return {};
      return {true, *s * 1000};
    }
  }
  long delay = std::max(backoff_initial_ms, 0);
  for (int i = 1; i < attempt && delay < kMaxBackoffMs; ++i) delay *= 2;
  delay = std::min<long>(delay, kMaxBackoffMs);
  delay += static_cast<long>(static_cast<double>(delay) * 0.25 * std::clamp(jitter01, 0.0, 1.0));
  return {true, static_cast<int>(std::min<long>(delay, kMaxBackoffMs))};
}

std::string api_url(std::string_view scheme, std::string_view host, std::string_view rest) {
  std::string out(scheme);
  out += "://";
  out += host;
  out += "/v2/";
  out += rest;
  return out;
}

std::string resolve_location(std::string_view base_url, std::string_view location) {
  location = trim(location);
  if (location.find("://") != std::string_view::npos) return std::string(location);
  size_t scheme_end = base_url.find("://");
  size_t authority_end =
      scheme_end == std::string_view::npos ? 0 : base_url.find('/', scheme_end + 3);
  if (authority_end == std::string_view::npos) authority_end = base_url.size();
  std::string_view origin = base_url.substr(0, authority_end);
  if (location.starts_with("//")) {  // network-path reference: keep only the scheme
    return std::string(base_url.substr(0, scheme_end + 1)) + std::string(location);
  }
  if (location.starts_with("/")) return std::string(origin) + std::string(location);
  std::string_view path = base_url.substr(authority_end);
  path = path.substr(0, path.find_first_of("?#"));
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string_view::npos ? "/" : std::string(path.substr(0, slash + 1));
  return std::string(origin) + dir + std::string(location);
}

std::string url_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string append_query(std::string_view url, std::string_view key, std::string_view value) {
  std::string out(url);
  out += url.find('?') == std::string_view::npos ? '?' : '&';
  out += url_escape(key);
  out += '=';
  out += url_escape(value);
  return out;
}

std::optional<ContentRange> parse_content_range(std::string_view value) {
  value = trim(value);
  if (!value.starts_with("bytes ")) return std::nullopt;
  value.remove_prefix(6);
  value = trim(value);
  size_t dash = value.find('-');
  size_t slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) {
    return std::nullopt;
  }
  auto first = to_u64(value.substr(0, dash));
  auto last = to_u64(value.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  ContentRange r{*first, *last, std::nullopt};
  std::string_view total = value.substr(slash + 1);
  if (total != "*") {
    auto t = to_u64(total);
    if (!t || *t <= *last) return std::nullopt;
    r.total = *t;
  }
  return r;
}

Result<uint64_t> resume_skip(long status, uint64_t offset, std::string_view content_range) {
  if (status == 200) return offset;
  if (status != 206) {
    return Error(EPROTO,
                 "unexpected HTTP status " + std::to_string(status) + " to a range request");
  }
  auto range = parse_content_range(content_range);
  if (!range) {
    return Error(EPROTO, "malformed Content-Range \"" + std::string(content_range) + "\"");
  }
  if (range->first != offset) {
    return Error(EPROTO, "range reply starts at byte " + std::to_string(range->first) +
                             ", asked for " + std::to_string(offset));
  }
  return uint64_t{0};
}

std::string upload_content_range(uint64_t first, uint64_t length) {
  uint64_t last = length == 0 ? first : first + length - 1;
  return std::to_string(first) + "-" + std::to_string(last);
}

std::string repository_scope(std::string_view path, bool push) {
  return "repository:" + std::string(path) + (push ? ":pull,push" : ":pull");
}

Result<Token> parse_token_response(std::string_view body,
                                   std::chrono::steady_clock::time_point now) {
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return Error(EILSEQ, "token reply is not a JSON object");
  Token t;
  for (const char* key : {"token", "access_token"}) {
    auto it = doc.find(key);
    if (it != doc.end() && it->is_string() && !it->get<std::string>().empty()) {
      t.value = it->get<std::string>();
      break;
    }
  }
  if (t.value.empty()) return Error(EILSEQ, "token reply has no token");
  int64_t seconds = 60;
  if (auto it = doc.find("expires_in"); it != doc.end() && it->is_number_integer()) {
    seconds = std::clamp<int64_t>(it->get<int64_t>(), 1, 86'400);
  }
  t.expires = now + std::chrono::seconds(seconds);
  return t;
}

std::string base64_encode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(n >> s) & 63]);
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t n = static_cast<uint8_t>(data[i]) << 16;
    if (rest == 2) n |= static_cast<uint8_t>(data[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = value(c)) < 0) {
        return std::nullopt;
      }
    }
    uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return out;
}

std::string api_host(std::string_view domain) {
  Reference r;
  r.domain = std::string(domain);
  return r.registry_host();
}

std::string bare_media_type(std::string_view content_type) {
  return lower(trim(content_type.substr(0, content_type.find(';'))));
}

std::optional<std::pair<std::string, std::string>> parse_header_line(std::string_view line) {
  line = trim(line);
  if (line.starts_with("HTTP/")) return std::pair<std::string, std::string>{};
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  return std::pair{lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))};
}

}  // namespace stack::engine::image::registry_detail
