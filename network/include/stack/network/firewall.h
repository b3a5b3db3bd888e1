// The firewall of one state root: stack's own nftables table (family inet, so one table serves
// IPv4 and IPv6) with egress masquerade, isolation between networks, internal networks and
// published ports by DNAT with round-robin over replicas. The engine computes the whole desired
// table from its records and calls apply(); the table is replaced in one atomic libnftables
// batch, so the kernel holds either the old or the new table, never half of one. Other tables
// (the host's firewall) are never touched, and iptables is never used.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/network/ipam.h"

namespace stack::network {

// One bridge network.
struct FirewallNetwork {
  std::string bridge;         // interface name, e.g. "stk-0a1b2c3d4e5"; starts with the prefix
  std::vector<Cidr> subnets;  // its IPv4 and/or IPv6 subnets
  bool internal = false;      // no traffic in or out of the bridge except among its members
  std::string comment;        // names the network in rule comments ("app_default"); "" = bridge
};

// A running replica's address:port.
struct Backend {
  IpAddress address;
  uint16_t port = 0;
};

// One published host port.
struct PublishedPort {
  std::string protocol;              // "tcp" | "udp"
  std::optional<IpAddress> host_ip;  // absent = every host address (of the backend's family)
  uint16_t host_port = 0;
  std::vector<Backend> backends;     // new connections spread over these (round robin)
  std::string comment;               // names the publisher ("app web"); rendered "app web 80/tcp"
};

struct FirewallSpec {
  std::string table;          // nft table name, e.g. "stack": letters, digits, '_' and '-'
  std::string bridge_prefix;  // every stack bridge starts with this, e.g. "stk-"
  std::vector<FirewallNetwork> networks;
  std::vector<PublishedPort> ports;
};

// The nft script that replaces the spec's table: `table inet T {}`, `delete table inet T`, then
// the full table. Pure and deterministic: networks, ports and backends are rendered sorted, so
// the order of the spec's vectors does not matter. Comments are truncated to nft's 128 bytes.
// Errors (EINVAL) name the offending thing: an empty or malformed table name or prefix, a bridge
// name that is empty, holds characters other than letters, digits, '_', '-', '.', or lacks the
// prefix, a bridge listed twice, a comment with '"', '\' or control characters, and for a port
// ("published port app web 8080/tcp: …"): a protocol other than tcp/udp, port 0, a backend of
// another family than host_ip, a port published twice. Interface names longer than 15 bytes
// are left to nft, which rejects them at apply(). A port with no backends renders nothing.
Result<std::string> render_ruleset(const FirewallSpec& spec);

// Replaces the spec's table with the rendered one in one atomic libnftables batch: on any error
// the previous table (or its absence) is left exactly as it was. Needs CAP_NET_ADMIN in the
// calling thread's network namespace, whose table it changes. Errors name the table and carry
// libnftables' error text ("firewall table inet stack: apply: Error: …"). Safe to call from
// several threads (calls into libnftables are serialized).
Status apply(const FirewallSpec& spec);

// Deletes table `table` (family inet) of the calling thread's network namespace, in one batch;
// an absent table is no error.
Status remove_table(const std::string& table);

// The table's current ruleset as `nft list table inet NAME` prints it. ENOENT error naming the
// table when it does not exist. For tests and debugging output.
Result<std::string> list_table(const std::string& table);

}  // namespace stack::network
