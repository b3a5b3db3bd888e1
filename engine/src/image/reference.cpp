// Image reference parsing. Mirrors distribution/reference (normalize.go, reference.go,
// regexp.go) and go-digest v1.0.0 (the version moby vendors) rule for rule, but with small
// hand-written matchers instead of regular expressions: the grammar is tiny, and a
// backtracking std::regex recurses once per character on hostile input.
#include "stack/engine/image/reference.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdio>

namespace stack::engine::image {
namespace {

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kDockerHubApiHost = "registry-1.docker.io";
constexpr std::string_view kOfficialRepoPrefix = "library/";
constexpr std::string_view kDefaultTag = "latest";
constexpr size_t kMaxPathLength = 255;
constexpr size_t kMaxTagLength = 128;
constexpr size_t kMinDigestHex = 32;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }  // Go's \w is ASCII-only
bool is_xdigit(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [._] | __ | -+
bool match_path_component(std::string_view s) {
  size_t i = 0;
  while (true) {
    size_t start = i;
    while (i < s.size() && is_lower_alnum(s[i])) ++i;
    if (i == start) return false;  // empty component, or separator at start/end/twice
    if (i == s.size()) return true;
    char sep = s[i];
    if (sep == '.') {
      ++i;
    } else if (sep == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (sep == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

// remote-name := path-component ('/' path-component)*
bool match_remote_name(std::string_view s) {
  while (true) {
    size_t slash = s.find('/');
    if (!match_path_component(s.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    s.remove_prefix(slash + 1);
  }
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool match_domain_name(std::string_view s) {
  while (true) {
    size_t dot = s.find('.');
    std::string_view part = s.substr(0, dot);
    if (part.empty() || !is_alnum(part.front()) || !is_alnum(part.back())) return false;
    for (char c : part) {
      if (!is_alnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// domain := (domain-name | '[' [a-fA-F0-9:]+ ']') (':' [0-9]+)?
bool match_domain(std::string_view s) {
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : s.substr(1, close - 1)) {
      if (!is_xdigit(c) && c != ':') return false;
    }
    port = s.substr(close + 1);
  } else {
    size_t colon = s.find(':');
    if (!match_domain_name(s.substr(0, colon))) return false;
    port = colon == std::string_view::npos ? std::string_view{} : s.substr(colon);
  }
  if (port.empty()) return true;
  if (port.size() < 2 || port.front() != ':') return false;
  for (char c : port.substr(1)) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// tag := [\w][\w.-]{0,127}
bool match_tag(std::string_view s) {
  if (s.empty() || s.size() > kMaxTagLength || !is_word(s.front())) return false;
  for (char c : s) {
    if (!is_word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

// The reference grammar's digest: [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)* ':'
// [[:xdigit:]]{32,}. go-digest validates further (validate_digest).
bool match_digest_syntax(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view algorithm = s.substr(0, colon);
  std::string_view hex = s.substr(colon + 1);
  bool want_alpha = true;
  for (char c : algorithm) {
    if (want_alpha) {
      if (!is_alpha(c)) return false;
      want_alpha = false;
    } else if (c == '-' || c == '_' || c == '+' || c == '.') {
      want_alpha = true;
    } else if (!is_alnum(c)) {
      return false;
    }
  }
  if (want_alpha || hex.size() < kMinDigestHex) return false;
  for (char c : hex) {
    if (!is_xdigit(c)) return false;
  }
  return true;
}


Error invalid(std::string message) { return Error(EINVAL, std::move(message)); }

// go-digest v1.0.0 Digest.Validate with sha256, sha384 and sha512 registered (as in moby).
Status validate_digest(std::string_view digest) {
  size_t colon = digest.find(':');
  std::string_view algorithm = digest.substr(0, colon);
  std::string_view encoded = digest.substr(colon + 1);
  size_t hex_size = 0;
  if (algorithm == "sha256") hex_size = 64;
  if (algorithm == "sha384") hex_size = 96;
  if (algorithm == "sha512") hex_size = 128;
  if (hex_size == 0) {
    // go-digest's own grammar wants a lowercase algorithm; unknown but well-formed
    // algorithms are "unsupported" rather than malformed.
    for (char c : algorithm) {
      if (!is_lower_alnum(c) && c != '.' && c != '+' && c != '_' && c != '-') {
        return invalid("invalid checksum digest format");
      }
    }
    return invalid("unsupported digest algorithm");
  }
  if (encoded.size() != hex_size) return invalid("invalid checksum digest length");
  for (char c : encoded) {
    if (!is_lower_hex(c)) return invalid("invalid checksum digest format");
  }
  return {};
}

struct Parts {
  std::string_view domain;
  std::string_view path;
  std::string_view tag;
  std::string_view digest;
};

// Matches the anchored reference grammar name[:tag][@digest], splitting it as the regular
// expression's capture groups would. Returns false when the text does not match.
bool split_reference(std::string_view s, Parts& out) {
  out = Parts{};
  // Neither name nor tag may contain '@', so the first one starts the digest.
  if (size_t at = s.find('@'); at != std::string_view::npos) {
    out.digest = s.substr(at + 1);
    if (!match_digest_syntax(out.digest)) return false;
    s = s.substr(0, at);
  }
  // A name holds ':' only in its domain (port, IPv6), which a '/' always follows; so a ':'
  // after the last '/' can only start the tag.
  size_t last_slash = s.rfind('/');
  size_t colon = s.find(':', last_slash == std::string_view::npos ? 0 : last_slash + 1);
  if (colon != std::string_view::npos) {
    out.tag = s.substr(colon + 1);
    if (!match_tag(out.tag)) return false;
    s = s.substr(0, colon);
  }
  // The optional domain group is greedy: the first component is the domain whenever the
  // whole name still matches with it taken as one.
  if (size_t slash = s.find('/'); slash != std::string_view::npos) {
    if (match_domain(s.substr(0, slash)) && match_remote_name(s.substr(slash + 1))) {
      out.domain = s.substr(0, slash);
      out.path = s.substr(slash + 1);
      return true;
    }
  }
  out.path = s;
  return match_remote_name(s);
}

// distribution's Parse: the text must already carry its domain.
Result<Reference> parse_full(std::string_view s) {
  if (s.empty()) return invalid("repository name must have at least one component");
  Parts parts;
  if (!split_reference(s, parts)) {
    std::string lower = ascii_lower(s);
    if (lower != s && split_reference(lower, parts)) {
      return invalid("repository name must be lowercase");
    }
    return invalid("invalid reference format");
  }
  if (parts.path.size() > kMaxPathLength) {
    return invalid("repository name must not be more than 255 characters");
  }
  if (!parts.digest.empty()) STACK_TRY_VOID(validate_digest(parts.digest));
  // Docker would go on with an empty domain when the first component looks like a host but
  // is not a valid one ("foo_bar.com/x"); there is no registry to ask for that, so refuse.
  if (parts.domain.empty()) return invalid("invalid reference format");
  return Reference{std::string(parts.domain), std::string(parts.path), std::string(parts.tag),
                   std::string(parts.digest)};
}

bool is_image_id(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!is_lower_hex(c)) return false;
  }
  return true;
}

// distribution's splitDockerDomain: decides which part of a familiar name is the registry.
std::pair<std::string, std::string> split_docker_domain(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) {
    return {std::string(kDefaultDomain), std::string(kOfficialRepoPrefix) + std::string(s)};
  }
  std::string_view first = s.substr(0, slash);
  std::string domain(kDefaultDomain);
  std::string remote(s);
  if (first == kLegacyDefaultDomain) {
    remote = s.substr(slash + 1);
  } else if (first == "localhost" || first.find_first_of(".:") != std::string_view::npos ||
             ascii_lower(first) != first) {
    // Repository namespaces are lowercase, so an uppercase first component is a host too.
    domain = first;
    remote = s.substr(slash + 1);
  }
  if (domain == kDefaultDomain && remote.find('/') == std::string::npos) {
    remote.insert(0, kOfficialRepoPrefix);
  }
  return {domain, remote};
}

// distribution's ParseNormalizedNamed.
Result<Reference> parse_normalized(std::string_view s) {
  if (is_image_id(s)) {
    return invalid("invalid repository name (" + std::string(s) +
                   "), cannot specify 64-byte hexadecimal strings");
  }
  auto [domain, remainder] = split_docker_domain(s);
  std::string remote = remainder.substr(0, remainder.find(':'));
  if (ascii_lower(remote) != remote) {
    return invalid("invalid reference format: repository name (" + remote +
                   ") must be lowercase");
  }
  return parse_full(domain + "/" + remainder);
}

// The user's text for error context, with control bytes escaped so that a hostile Compose
// file cannot forge log lines.
std::string quoted(std::string_view text) {
  std::string out = "image \"";
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

bool is_loopback_literal(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  // Go parses ::ffff:127.0.0.1 as an IPv4 address, which 127.0.0.0/8 then contains.
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

}  // namespace

std::string Reference::name() const { return domain + "/" + path; }

std::string Reference::string() const {
  std::string out = name();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string Reference::familiar() const {
  std::string out;
  if (domain != kDefaultDomain) {
    out = name();
  } else if (path.starts_with(kOfficialRepoPrefix) &&
             path.find('/', kOfficialRepoPrefix.size()) == std::string::npos) {
    out = path.substr(kOfficialRepoPrefix.size());
  } else {
    out = path;
  }
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string Reference::registry_host() const {
  return domain == kDefaultDomain ? std::string(kDockerHubApiHost) : domain;
}

Result<Reference> parse_reference(std::string_view text) {
  auto ref = parse_normalized(text);
  if (!ref.ok()) return std::move(ref).error().wrap(quoted(text));
  if (ref->tag.empty() && ref->digest.empty()) ref->tag = kDefaultTag;
  return ref;
}

Result<Reference> parse_reference_strict(std::string_view text) {
  auto ref = parse_normalized(text);
  if (!ref.ok()) return std::move(ref).error().wrap(quoted(text));
  if (ref->string() != text) return invalid("repository name must be canonical").wrap(quoted(text));
  if (ref->tag.empty() && ref->digest.empty()) ref->tag = kDefaultTag;
  return ref;
}

bool is_insecure_default(const Reference& ref) {
  std::string_view domain = ref.domain;
  std::string host;
  if (domain.starts_with('[')) {
    host = domain.substr(1, domain.find(']') - 1);
  } else {
    host = domain.substr(0, domain.find(':'));
  }
  // Docker resolves the name and checks the addresses; "localhost" always resolves to
  // loopback, and any other name would need DNS, which a parser must not do.
  return ascii_lower(host) == "localhost" || is_loopback_literal(host);
}

}  // namespace stack::engine::image
