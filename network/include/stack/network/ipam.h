// IP address management for bridge networks: addresses and prefixes (IPv4 and IPv6), Docker's
// default address pools, subnet choice that avoids the host's routes and nameservers, and a
// persisted per-network allocation store safe against concurrent `up`s in other processes.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"

namespace stack::network {

// 128-bit unsigned arithmetic for addresses (GCC extension; __extension__ keeps -pedantic quiet).
__extension__ typedef unsigned __int128 Uint128;

enum class Family { kV4, kV6 };

// An IPv4 or IPv6 address. Value type; IPv4 uses the low 32 bits of value().
class IpAddress {
 public:
  IpAddress() = default;
  static IpAddress v4(uint32_t value) { return IpAddress(Family::kV4, value); }
  static IpAddress v6(Uint128 value) { return IpAddress(Family::kV6, value); }
  // Parses dotted IPv4 or RFC 4291 IPv6 text. Errors quote the text: "invalid IP address "x"".
  static Result<IpAddress> parse(std::string_view text);

  Family family() const { return family_; }
  bool is_v6() const { return family_ == Family::kV6; }
  Uint128 value() const { return value_; }
  int bits() const { return is_v6() ? 128 : 32; }
  // Canonical text: "10.1.0.1", "fd00::1" (RFC 5952).
  std::string to_string() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend std::strong_ordering operator<=>(const IpAddress& a, const IpAddress& b) {
    if (a.family_ != b.family_) return a.family_ <=> b.family_;
    return a.value_ == b.value_ ? std::strong_ordering::equal
           : a.value_ < b.value_ ? std::strong_ordering::less
                                 : std::strong_ordering::greater;
  }

 private:
  IpAddress(Family f, Uint128 v) : family_(f), value_(v) {}
  Family family_ = Family::kV4;
  Uint128 value_ = 0;
};

// A prefix "10.1.0.0/16" or "fd00:1::/64" whose host bits are zero.
class Cidr {
 public:
  Cidr() = default;
  // Parses "addr/len" with Docker's rules: the length is required and in range, and host bits
  // set is an error ("invalid subnet 10.1.0.1/16: it has host bits set"). Errors quote the text.
  static Result<Cidr> parse(std::string_view text);
  // The prefix of `address` with length `prefix_len` (host bits cleared); len must be in range.
  static Cidr of(const IpAddress& address, int prefix_len);

  const IpAddress& network() const { return network_; }
  int prefix_len() const { return prefix_len_; }
  Family family() const { return network_.family(); }
  bool is_v6() const { return network_.is_v6(); }
  // The highest address (IPv4's broadcast address).
  IpAddress last() const;
  bool contains(const IpAddress& address) const;
  bool contains(const Cidr& other) const;  // other lies wholly inside this prefix
  bool overlaps(const Cidr& other) const;  // false across families
  // The address n after network() ("10.1.0.0/16".nth(1) is 10.1.0.1); error past last().
  Result<IpAddress> nth(Uint128 n) const;
  std::string to_string() const;

  friend bool operator==(const Cidr&, const Cidr&) = default;

 private:
  IpAddress network_;
  int prefix_len_ = 0;
};

// A pool in Docker's default-address-pools sense: `base` split into subnets of length `size`.
struct AddressPool {
  Cidr base;
  int size = 0;
};

// Docker's IPv4 defaults: 172.17.0.0/16 … 172.31.0.0/16 as /16s, then 192.168.0.0/16 as /20s.
std::vector<AddressPool> default_pools_v4();
// A unique-local fdXX:XXXX:XXXX::/48 (40 bits hashed from `seed`, e.g. /etc/machine-id's text)
// split into /64s: one /64 per network, stable per host.
std::vector<AddressPool> default_pools_v6(std::string_view seed);

// The first subnet of `pools` (in order) that overlaps none of `in_use` (existing networks),
// `host_routes` and `nameservers`, only considering pools of `family`. Pure. Error when every
// subnet is taken: "no available subnet in the default address pools".
Result<Cidr> choose_subnet(const std::vector<AddressPool>& pools, Family family,
                           const std::vector<Cidr>& in_use, const std::vector<Cidr>& host_routes,
                           const std::vector<IpAddress>& nameservers);

// Destinations of /proc/net/route and /proc/net/ipv6_route text (default routes are skipped, as
// Docker does: they would overlap every pool). Malformed lines are skipped.
std::vector<Cidr> parse_proc_net_route(std::string_view text);
std::vector<Cidr> parse_proc_net_ipv6_route(std::string_view text);
// The host's routes read from <proc>/net/route and <proc>/net/ipv6_route (a missing ipv6_route
// file, on hosts without IPv6, is no error).
Result<std::vector<Cidr>> host_routes(const std::string& proc = "/proc");
// The "nameserver" addresses of resolv.conf text (unparsable entries, e.g. with a zone, skipped).
std::vector<IpAddress> parse_resolv_conf_nameservers(std::string_view text);
// The same, read from a file; a missing file gives no nameservers.
Result<std::vector<IpAddress>> resolv_conf_nameservers(
    const std::string& path = "/etc/resolv.conf");

// One entry of a Compose network's ipam.config.
struct IpamConfig {
  Cidr subnet;
  std::optional<Cidr> ip_range;      // allocate only inside it
  std::optional<IpAddress> gateway;  // default: the subnet's first host
  std::map<std::string, IpAddress> aux_addresses;  // reserved, never allocated
};

// What a network's subnet is chosen from when its config gives none.
struct SubnetSources {
  std::vector<AddressPool> pools_v4 = default_pools_v4();
  std::vector<AddressPool> pools_v6;
  std::vector<Cidr> host_routes;
  std::vector<IpAddress> nameservers;
};

// The persisted state of one subnet (one per family) of a network.
struct SubnetState {
  Cidr subnet;
  std::optional<Cidr> ip_range;
  IpAddress gateway;
  std::map<std::string, IpAddress> aux_addresses;
  std::map<IpAddress, std::string> allocations;  // address → owner (container id)
};

struct NetworkIpam {
  std::string network;
  std::vector<SubnetState> subnets;  // IPv4 first when present
  // The subnet of `family`, or nullptr.
  const SubnetState* find(Family family) const;
};

// Allocations persisted under a directory (the engine passes <root>/network/ipam/) as one JSON
// file per network, <network>.json. Every operation takes an exclusive flock on <dir>/.lock and
// replaces files atomically, so concurrent processes never hand out one address twice. Not
// thread-safe within a process beyond what flock gives (one IpamStore per thread is fine).
class IpamStore {
 public:
  explicit IpamStore(std::string dir) : dir_(std::move(dir)) {}

  // Records a network. Each config gives one family's subnet; IPv4 is chosen from the pools when
  // no config gives one, IPv6 likewise when enable_ipv6. A network that already exists is
  // returned unchanged. Errors: an invalid config (gateway, ip_range or aux address outside the
  // subnet, two subnets of one family), a subnet overlapping another network's ("network b:
  // subnet 10.1.0.0/16 overlaps network a's subnet 10.1.0.0/16"), exhausted pools.
  Result<NetworkIpam> create_network(const std::string& network,
                                     const std::vector<IpamConfig>& configs, bool enable_ipv6,
                                     const SubnetSources& sources);
  // The network's record; ENOENT error naming it when absent.
  Result<NetworkIpam> get(const std::string& network) const;
  // Every recorded network, sorted by name.
  Result<std::vector<NetworkIpam>> list() const;
  // Forgets a network and its allocations; absent is no error.
  Status remove_network(const std::string& network);

  // An address of `family` in the network for `owner`: `static_address` when given (error when
  // outside the subnet, reserved, or held by another owner, naming the address and network),
  // else the lowest free one inside ip_range (skipping network, gateway, broadcast, aux and
  // allocated addresses). An owner that already holds an address of the family gets it again
  // (a static address must then match). Exhausted: "no free address in network x (10.1.0.0/30)".
  Result<IpAddress> allocate(const std::string& network, const std::string& owner, Family family,
                             std::optional<IpAddress> static_address = std::nullopt);
  // Frees every address `owner` holds in the network; no error when it holds none.
  Status release(const std::string& network, const std::string& owner);

 private:
  std::string dir_;
};

}  // namespace stack::network
