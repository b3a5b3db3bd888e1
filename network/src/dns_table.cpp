// DnsTable (per-network names) and reverse-name parsing.
#include <algorithm>
#include <cctype>

#include "stack/network/dns.h"

namespace stack::network {
namespace {

std::string normalize(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void add_unique(std::vector<IpAddress>& to, const std::vector<IpAddress>& from) {
  for (const auto& a : from) {
    if (std::find(to.begin(), to.end(), a) == to.end()) to.push_back(a);
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

void DnsTable::set_network(const std::string& network, const std::vector<DnsRecordSet>& records) {
  Network net;
  std::string suffix = "." + normalize(network);
  for (const auto& rs : records) {
    std::string name = normalize(rs.name);
    if (name.empty()) continue;
    add_unique(net.names[name], rs.addresses);
    add_unique(net.names[name + suffix], rs.addresses);
    for (const auto& a : rs.addresses) {
      if (rs.reverse) net.reverse[a] = name + suffix;
    }
  }
  // Addresses without a reverse-flagged record map to the first (sorted) name holding them.
  for (const auto& [name, addresses] : net.names) {
    for (const auto& a : addresses) net.reverse.emplace(a, name);
  }
  networks_[network] = std::move(net);
}

void DnsTable::remove_network(const std::string& network) { networks_.erase(network); }

DnsTable::Lookup DnsTable::lookup(const std::vector<std::string>& view, std::string_view name,
                                  Family family) const {
  Lookup out;
  std::string key = normalize(name);
  for (const auto& network : view) {
    auto net = networks_.find(network);
    if (net == networks_.end()) continue;
    auto it = net->second.names.find(key);
    if (it == net->second.names.end()) continue;
    out.known = true;
    for (const auto& a : it->second) {
      if (a.family() == family) out.addresses.push_back(a);
    }
    return out;
  }
  return out;
}

std::optional<std::string> DnsTable::reverse(const std::vector<std::string>& view,
                                             const IpAddress& address) const {
  for (const auto& network : view) {
    auto net = networks_.find(network);
    if (net == networks_.end()) continue;
    auto it = net->second.reverse.find(address);
    if (it != net->second.reverse.end()) return it->second;
  }
  return std::nullopt;
}

std::optional<IpAddress> parse_reverse_name(std::string_view name) {
  std::string n = normalize(name);
  constexpr std::string_view kV4 = ".in-addr.arpa", kV6 = ".ip6.arpa";
  if (n.size() > kV4.size() && n.ends_with(kV4)) {
    std::string_view rest(n.data(), n.size() - kV4.size());
    uint32_t value = 0;
    int octets = 0;
    while (!rest.empty()) {
      size_t dot = rest.rfind('.');
      std::string_view part = dot == std::string_view::npos ? rest : rest.substr(dot + 1);
      if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return {};
      unsigned v = 0;
      for (char c : part) {
        if (c < '0' || c > '9') return {};
        v = v * 10 + static_cast<unsigned>(c - '0');
      }
      if (v > 255 || ++octets > 4) return {};
      value = value << 8 | v;
      rest = dot == std::string_view::npos ? std::string_view() : rest.substr(0, dot);
    }
    if (octets != 4) return {};
    return IpAddress::v4(value);
  }
  if (n.size() == 63 + kV6.size() && n.ends_with(kV6)) {
    Uint128 value = 0;
    // 32 nibbles, least significant first: "b.a.9.8.…".
    for (int i = 31; i >= 0; --i) {
      int d = hex_digit(n[static_cast<size_t>(i) * 2]);
      if (d < 0 || (i < 31 && n[static_cast<size_t>(i) * 2 + 1] != '.')) return {};
      value = value << 4 | static_cast<Uint128>(d);
    }
    return IpAddress::v6(value);
  }
  return {};
}

}  // namespace stack::network
