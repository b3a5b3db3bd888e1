// The embedded DNS service's pure parts: the DNS wire format (RFC 1035, EDNS0 OPT records), the
// per-network name table, and answer_query(), which answers one query for a container's view of
// the networks or says that it must be forwarded upstream. No sockets here (see dns_server.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"
#include "stack/network/ipam.h"

namespace stack::network {

// TTL of every local answer. Short, so that scale and up are seen quickly (Docker: 600 s).
constexpr uint32_t kDnsTtlSeconds = 2;

namespace dns {

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypePtr = 12;
constexpr uint16_t kTypeMx = 15;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint16_t kTypeOpt = 41;
constexpr uint16_t kTypeAny = 255;
constexpr uint16_t kClassIn = 1;

constexpr uint8_t kRcodeNoError = 0;
constexpr uint8_t kRcodeFormErr = 1;
constexpr uint8_t kRcodeServFail = 2;
constexpr uint8_t kRcodeNxDomain = 3;
constexpr uint8_t kRcodeNotImp = 4;
constexpr uint8_t kRcodeRefused = 5;

// The UDP payload size we advertise in OPT records of our answers (DNS flag day 2020).
constexpr uint16_t kEdnsUdpSize = 1232;

struct Question {
  std::string name;  // dotted, as sent (case kept), no trailing dot; "" is the root
  uint16_t type = kTypeA;
  uint16_t qclass = kClassIn;
};

struct ResourceRecord {
  std::string name;
  uint16_t type = kTypeA;
  uint16_t rclass = kClassIn;  // for OPT: the sender's UDP payload size
  uint32_t ttl = 0;            // for OPT: extended rcode, version and flags
  std::string rdata;           // raw bytes (names in rdata are as sent, maybe compressed)
};

struct Message {
  uint16_t id = 0;
  bool qr = false;  // a response
  uint8_t opcode = 0;
  bool aa = false, tc = false, rd = false, ra = false;
  uint8_t rcode = 0;  // low 4 bits (the OPT record holds the upper 8)
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers, authority, additional;
};

// Parses a whole message. Compression pointers are followed (only backwards, so loops are
// impossible); errors ("malformed DNS message: …") on truncation, bad labels, names over 255
// bytes, forward or looping pointers, and trailing bytes.
Result<Message> parse_message(std::string_view bytes);
// Reads a (possibly compressed) name at `offset` of `msg` and moves offset past it. Errors as
// parse_message's.
Result<std::string> read_name(std::string_view msg, size_t& offset);
// Serialises a message without compression. Labels over 63 bytes are cut (callers never build
// them from user input unchecked).
std::string build_message(const Message& message);
// The wire form of a dotted name ("a.b" → "\1a\1b\0").
std::string encode_name(std::string_view name);

}  // namespace dns

// One name with its addresses in one network (a service: every running/healthy replica; a
// container name, hostname or alias: that container's addresses).
struct DnsRecordSet {
  std::string name;                  // any case, trailing dot allowed; stored lower-case
  std::vector<IpAddress> addresses;  // IPv4 and IPv6 mixed
  // The name reverse (PTR) lookups of these addresses give, as "<name>.<network>"; container
  // names set it (as Docker does), services and aliases do not.
  bool reverse = false;
};

// The names of every network. Value type; not thread-safe for writes (the server swaps whole
// immutable tables, see DnsServer::set_table).
class DnsTable {
 public:
  // Replaces every record of `network` ("" names are skipped). Each name is also reachable as
  // "<name>.<network>". Records with one name are merged.
  void set_network(const std::string& network, const std::vector<DnsRecordSet>& records);
  // Forgets a network; absent is no error.
  void remove_network(const std::string& network);

  struct Lookup {
    bool known = false;               // some network of the view holds the name
    std::vector<IpAddress> addresses;  // of the asked family, in table order
  };
  // The addresses of `name` (any case, trailing dot allowed) of `family` in the first network
  // of `view` (ordered network names) that holds the name.
  Lookup lookup(const std::vector<std::string>& view, std::string_view name, Family family) const;
  // The PTR target of `address` in the first network of the view holding it: the reverse name
  // of a record with reverse set, else the first name (sorted) holding it.
  std::optional<std::string> reverse(const std::vector<std::string>& view,
                                     const IpAddress& address) const;

 private:
  struct Network {
    std::map<std::string, std::vector<IpAddress>> names;
    std::map<IpAddress, std::string> reverse;
  };
  std::map<std::string, Network> networks_;
};

// The address a PTR name stands for ("4.3.2.1.in-addr.arpa" → 1.2.3.4, nibble ip6.arpa for
// IPv6); nullopt when the name is no complete reverse name. Case-insensitive.
std::optional<IpAddress> parse_reverse_name(std::string_view name);

// What to do with one query.
struct DnsAnswer {
  enum class Kind { kRespond, kForward, kDrop };
  Kind kind = Kind::kDrop;
  std::string response;   // kRespond: the complete message to send back
  dns::Question question;  // kForward: the question (to match upstream answers)
  uint16_t id = 0;         // kForward: the client's id
};

// Answers `query` for a container whose networks are `view`. Pure but for `rng` (answer order).
// - A/AAAA of a known name: its addresses of that family, shuffled, TTL kDnsTtlSeconds; none of
//   that family (or another type, e.g. MX) → NOERROR without answers (NODATA).
//   ANY → A and AAAA.
// - PTR of an address in the view → the name; else forwarded. Unknown names → forwarded, as are
//   classes other than IN (CHAOS "version.bind" is the upstream's business).
// - Header unreadable (under 12 bytes) or a response → dropped; other malformed → FORMERR;
//   opcode other than QUERY → NOTIMP; QDCOUNT ≠ 1 → FORMERR.
// - id and question echoed; RD copied, RA set, AA clear. An OPT record in the query gives an OPT
//   (kEdnsUdpSize, version 0, no options) in the answer; EDNS version > 0 → BADVERS.
// The size limit is 65535 over TCP, else the query's OPT size (at least 512), else 512;
// answers that do not fit are cut and TC set (the client retries over TCP).
DnsAnswer answer_query(const DnsTable& table, const std::vector<std::string>& view,
                       std::string_view query, bool tcp, std::mt19937_64& rng);
// A response to `query` with rcode and no answers (SERVFAIL after upstream timeout); "" when the
// query's header is unreadable.
std::string error_response(std::string_view query, uint8_t rcode);

// An upstream resolver.
struct DnsUpstream {
  IpAddress address;
  uint16_t port = 53;
  friend bool operator==(const DnsUpstream&, const DnsUpstream&) = default;
};
// Parses "127.0.0.1:5353,[::1]:53,10.0.0.2" (port defaults to 53). Errors quote the entry.
Result<std::vector<DnsUpstream>> parse_dns_upstreams(std::string_view text);
// The host's upstreams: $STACK_DNS_UPSTREAMS when set (tests and CI: this machine must never
// talk to its real resolver), else the nameservers of `resolv_conf` on port 53. Loopback
// nameservers of the host are kept (the server runs in the host's namespace).
Result<std::vector<DnsUpstream>> host_dns_upstreams(
    const std::string& resolv_conf = "/etc/resolv.conf");

}  // namespace stack::network
