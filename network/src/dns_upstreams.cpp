// The upstream resolvers of the embedded DNS: $STACK_DNS_UPSTREAMS or the host's resolv.conf.
#include <cstdlib>

#include "stack/network/dns.h"

namespace stack::network {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Result<uint16_t> parse_port(std::string_view text, std::string_view entry) {
  unsigned v = 0;
  if (text.empty() || text.size() > 5) {
    return Error("invalid DNS upstream \"" + std::string(entry) + "\": bad port");
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return Error("invalid DNS upstream \"" + std::string(entry) + "\": bad port");
    }
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) {
    return Error("invalid DNS upstream \"" + std::string(entry) + "\": port out of range");
  }
  return static_cast<uint16_t>(v);
}

Result<DnsUpstream> parse_one(std::string_view entry) {
  DnsUpstream up;
  std::string_view host = entry;
  if (!entry.empty() && entry.front() == '[') {
    size_t close = entry.find(']');
    if (close == std::string_view::npos) {
      return Error("invalid DNS upstream \"" + std::string(entry) + "\": missing ]");
    }
    host = entry.substr(1, close - 1);
    std::string_view rest = entry.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Error("invalid DNS upstream \"" + std::string(entry) + "\": junk after ]");
      }
      STACK_TRY(up.port, parse_port(rest.substr(1), entry));
    }
  } else if (entry.find(':') == entry.rfind(':') && entry.find(':') != std::string_view::npos) {
    size_t colon = entry.find(':');
    host = entry.substr(0, colon);
    STACK_TRY(up.port, parse_port(entry.substr(colon + 1), entry));
  }
  auto address = IpAddress::parse(host);
  if (!address) {
    return std::move(address).error().wrap("invalid DNS upstream \"" + std::string(entry) + "\"");
  }
  up.address = *address;
  return up;
}

}  // namespace

Result<std::vector<DnsUpstream>> parse_dns_upstreams(std::string_view text) {
  std::vector<DnsUpstream> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view entry = trim(text.substr(0, comma));
    if (!entry.empty()) {
      STACK_TRY(auto up, parse_one(entry));
      out.push_back(up);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

Result<std::vector<DnsUpstream>> host_dns_upstreams(const std::string& resolv_conf) {
  if (const char* env = std::getenv("STACK_DNS_UPSTREAMS")) {
    return parse_dns_upstreams(env).wrap("$STACK_DNS_UPSTREAMS");
  }
  STACK_TRY(auto nameservers, resolv_conf_nameservers(resolv_conf));
  std::vector<DnsUpstream> out;
  for (const auto& a : nameservers) out.push_back({a, 53});
  return out;
}

}  // namespace stack::network
