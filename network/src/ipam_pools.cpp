// Address pools and subnet choice (pure), and the readers of the host facts it avoids: routes
// from /proc/net and nameservers from resolv.conf.
#include <arpa/inet.h>

#include <bit>
#include <charconv>
#include <sstream>

#include "stack/common/atomic_file.h"
#include "stack/network/ipam.h"

namespace stack::network {

namespace {

Cidr must_parse(std::string_view text) { return *Cidr::parse(text); }

// FNV-1a, 64 bits: a stable, dependency-free hash for the ULA global ID.
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// The first blocker overlapping `candidate`, or nullptr.
const Cidr* blocker_of(const Cidr& candidate, const std::vector<Cidr>& blockers) {
  for (auto& b : blockers) {
    if (b.overlaps(candidate)) return &b;
  }
  return nullptr;
}

// Walks one pool's subnets in order; a blocker bigger than a subnet is skipped over in one step,
// so a pool of 2^56 subnets behind a few routes costs a few iterations, not 2^56.
std::optional<Cidr> first_free(const AddressPool& pool, const std::vector<Cidr>& blockers) {
  const Cidr& base = pool.base;
  if (pool.size < base.prefix_len() || pool.size > base.network().bits()) return std::nullopt;
  int bits = base.network().bits();
  Uint128 step = Uint128{1} << (bits - pool.size);
  Uint128 pos = base.network().value();
  Uint128 end = base.last().value();
  while (pos <= end) {
    IpAddress at = base.is_v6() ? IpAddress::v6(pos) : IpAddress::v4(static_cast<uint32_t>(pos));
    Cidr candidate = Cidr::of(at, pool.size);
    const Cidr* b = blocker_of(candidate, blockers);
    if (!b) return candidate;
    Uint128 next = b->contains(candidate) ? b->last().value() + 1 : pos + step;
    next = (next + step - 1) / step * step;  // align up to the next subnet
    if (next <= pos) return std::nullopt;    // wrapped past the top of the address space
    pos = next;
  }
  return std::nullopt;
}

Uint128 parse_hex(std::string_view s, bool* ok) {
  Uint128 v = 0;
  *ok = !s.empty() && s.size() <= 32;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) *ok = false;
    v = (v << 4) | static_cast<unsigned>(d < 0 ? 0 : d);
  }
  return v;
}

std::vector<std::string> fields_of(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

}  // namespace

std::vector<AddressPool> default_pools_v4() {
  // libnetwork's ipamutils.localScopeDefaultNetworks, in its order.
  return {{must_parse("172.17.0.0/16"), 16}, {must_parse("172.18.0.0/16"), 16},
          {must_parse("172.19.0.0/16"), 16}, {must_parse("172.20.0.0/14"), 16},
          {must_parse("172.24.0.0/14"), 16}, {must_parse("172.28.0.0/14"), 16},
          {must_parse("192.168.0.0/16"), 20}};
}

std::vector<AddressPool> default_pools_v6(std::string_view seed) {
  // RFC 4193: fd00::/8 plus a 40-bit global ID, here derived from the seed so that it is
  // stable across restarts on one host and differs between hosts.
  Uint128 global_id = fnv1a(seed) & 0xffffffffffull;
  Uint128 prefix = ((Uint128{0xfd} << 40) | global_id) << 80;
  return {{Cidr::of(IpAddress::v6(prefix), 48), 64}};
}

Result<Cidr> choose_subnet(const std::vector<AddressPool>& pools, Family family,
                           const std::vector<Cidr>& in_use, const std::vector<Cidr>& host_routes,
                           const std::vector<IpAddress>& nameservers) {
  std::vector<Cidr> blockers;
  for (auto& c : in_use) blockers.push_back(c);
  for (auto& c : host_routes) blockers.push_back(c);
  for (auto& ns : nameservers) blockers.push_back(Cidr::of(ns, ns.bits()));
  for (auto& pool : pools) {
    if (pool.base.family() != family) continue;
    if (auto subnet = first_free(pool, blockers)) return *subnet;
  }
  return Error(ENOSPC, std::string("no available ") + (family == Family::kV6 ? "IPv6" : "IPv4") +
                           " subnet in the address pools");
}

std::vector<Cidr> parse_proc_net_route(std::string_view text) {
  std::vector<Cidr> out;
  std::istringstream in{std::string(text)};
  std::string line;
  std::getline(in, line);  // header: Iface Destination Gateway Flags … Mask …
  while (std::getline(in, line)) {
    auto f = fields_of(line);
    if (f.size() < 8) continue;
    bool ok_dst = false, ok_mask = false;
    // The kernel prints each __be32 as a native u32, so ntohl turns it back into host order.
    uint32_t dst = ntohl(static_cast<uint32_t>(parse_hex(f[1], &ok_dst)));
    uint32_t mask = ntohl(static_cast<uint32_t>(parse_hex(f[7], &ok_mask)));
    if (!ok_dst || !ok_mask || f[1].size() != 8 || f[7].size() != 8) continue;
    int len = std::popcount(mask);
    if (len == 0) continue;  // default route
    out.push_back(Cidr::of(IpAddress::v4(dst), len));
  }
  return out;
}

std::vector<Cidr> parse_proc_net_ipv6_route(std::string_view text) {
  std::vector<Cidr> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    auto f = fields_of(line);
    if (f.size() < 10 || f[0].size() != 32) continue;
    bool ok_dst = false, ok_len = false;
    Uint128 dst = parse_hex(f[0], &ok_dst);
    int len = static_cast<int>(parse_hex(f[1], &ok_len));
    if (!ok_dst || !ok_len || len <= 0 || len > 128) continue;
    out.push_back(Cidr::of(IpAddress::v6(dst), len));
  }
  return out;
}

Result<std::vector<Cidr>> host_routes(const std::string& proc) {
  STACK_TRY(std::string v4, read_file(proc + "/net/route"));
  std::vector<Cidr> out = parse_proc_net_route(v4);
  auto v6 = read_file(proc + "/net/ipv6_route");
  if (v6) {
    for (auto& c : parse_proc_net_ipv6_route(*v6)) out.push_back(c);
  } else if (v6.error().code != ENOENT) {
    return std::move(v6).error();
  }
  return out;
}

std::vector<IpAddress> parse_resolv_conf_nameservers(std::string_view text) {
  std::vector<IpAddress> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    auto f = fields_of(line);
    if (f.size() < 2 || f[0] != "nameserver") continue;
    if (auto a = IpAddress::parse(f[1])) out.push_back(*a);
  }
  return out;
}

Result<std::vector<IpAddress>> resolv_conf_nameservers(const std::string& path) {
  auto text = read_file(path);
  if (!text) {
    if (text.error().code == ENOENT) return std::vector<IpAddress>{};
    return std::move(text).error();
  }
  return parse_resolv_conf_nameservers(*text);
}

}  // namespace stack::network
