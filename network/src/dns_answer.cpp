// answer_query: one query, one decision (respond, forward, drop).
#include <algorithm>
#include <cstring>

#include "stack/network/dns.h"

namespace stack::network {
namespace {

constexpr uint8_t kOpcodeQuery = 0;
constexpr uint8_t kExtRcodeBadVers = 16;  // RFC 6891 §6.1.3: 0x1 in OPT's upper 8 bits + 0x0

// The header-only fields of a query, readable even when the rest is not.
struct Header {
  uint16_t id;
  bool rd;
  uint8_t opcode;
};

std::optional<Header> read_header(std::string_view q) {
  if (q.size() < 12) return std::nullopt;
  auto b = [&](size_t i) { return static_cast<uint8_t>(q[i]); };
  if (b(2) & 0x80) return std::nullopt;  // a response: never answer it (reflection loops)
  return Header{static_cast<uint16_t>(b(0) << 8 | b(1)), (b(2) & 0x01) != 0,
                static_cast<uint8_t>((b(2) >> 3) & 0xf)};
}

dns::Message response_to(const Header& h, uint8_t rcode) {
  dns::Message m;
  m.id = h.id;
  m.qr = true;
  m.opcode = h.opcode;
  m.rd = h.rd;
  m.ra = true;
  m.rcode = rcode;
  return m;
}

dns::ResourceRecord our_opt(uint8_t ext_rcode) {
  dns::ResourceRecord opt;
  opt.type = dns::kTypeOpt;
  opt.rclass = dns::kEdnsUdpSize;
  opt.ttl = static_cast<uint32_t>(ext_rcode) << 24;
  return opt;
}

dns::ResourceRecord address_record(const std::string& name, const IpAddress& a) {
  dns::ResourceRecord rr;
  rr.name = name;
  rr.ttl = kDnsTtlSeconds;
  if (a.is_v6()) {
    rr.type = dns::kTypeAaaa;
    Uint128 v = a.value();
    for (int i = 15; i >= 0; --i) rr.rdata.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
  } else {
    rr.type = dns::kTypeA;
    auto v = static_cast<uint32_t>(a.value());
    for (int i = 3; i >= 0; --i) rr.rdata.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
  }
  return rr;
}

DnsAnswer respond(const dns::Message& m) {
  return {DnsAnswer::Kind::kRespond, build_message(m), {}, 0};
}

// Fills m.answers for a question we own; false when the question must go upstream.
bool local_answers(const DnsTable& table, const std::vector<std::string>& view,
                   const dns::Question& q, std::mt19937_64& rng, dns::Message& m) {
  if (q.qclass != dns::kClassIn) return false;
  if (q.type == dns::kTypePtr) {
    auto address = parse_reverse_name(q.name);
    if (!address) return false;
    auto target = table.reverse(view, *address);
    if (!target) return false;
    dns::ResourceRecord rr;
    rr.name = q.name;
    rr.type = dns::kTypePtr;
    rr.ttl = kDnsTtlSeconds;
    rr.rdata = dns::encode_name(*target);
    m.answers.push_back(std::move(rr));
    return true;
  }
  auto v4 = table.lookup(view, q.name, Family::kV4);
  if (!v4.known) return false;
  std::vector<IpAddress> addresses;
  if (q.type == dns::kTypeA || q.type == dns::kTypeAny) addresses = v4.addresses;
  if (q.type == dns::kTypeAaaa || q.type == dns::kTypeAny) {
    auto v6 = table.lookup(view, q.name, Family::kV6);
    addresses.insert(addresses.end(), v6.addresses.begin(), v6.addresses.end());
  }
  // Other types of a known name: NODATA (the name is ours, so upstream cannot know better).
  std::shuffle(addresses.begin(), addresses.end(), rng);
  for (const auto& a : addresses) m.answers.push_back(address_record(q.name, a));
  return true;
}

// Cuts answers until the message fits `limit`, setting TC when any was cut.
void fit(dns::Message& m, size_t limit) {
  while (!m.answers.empty() && build_message(m).size() > limit) {
    m.answers.pop_back();
    m.tc = true;
  }
}

}  // namespace

DnsAnswer answer_query(const DnsTable& table, const std::vector<std::string>& view,
                       std::string_view query, bool tcp, std::mt19937_64& rng) {
  auto header = read_header(query);
  if (!header) return {};
  if (header->opcode != kOpcodeQuery) return respond(response_to(*header, dns::kRcodeNotImp));
  auto parsed = dns::parse_message(query);
  if (!parsed || parsed->questions.size() != 1) {
    return respond(response_to(*header, dns::kRcodeFormErr));
  }
  const dns::Message& q = *parsed;
  const dns::ResourceRecord* opt = nullptr;
  for (const auto& rr : q.additional) {
    if (rr.type != dns::kTypeOpt) continue;
    if (opt) return respond(response_to(*header, dns::kRcodeFormErr));  // RFC 6891 §6.1.1
    opt = &rr;
  }
  dns::Message m = response_to(*header, dns::kRcodeNoError);
  m.questions = q.questions;
  if (opt && ((opt->ttl >> 16) & 0xff) != 0) {
    m.additional.push_back(our_opt(kExtRcodeBadVers >> 4));
    return respond(m);
  }
  if (!local_answers(table, view, q.questions[0], rng, m)) {
    return {DnsAnswer::Kind::kForward, {}, q.questions[0], q.id};
  }
  if (opt) m.additional.push_back(our_opt(0));
  size_t limit = tcp ? 65535 : opt ? std::max<size_t>(512, opt->rclass) : 512;
  fit(m, limit);
  return respond(m);
}

std::string error_response(std::string_view query, uint8_t rcode) {
  auto header = read_header(query);
  if (!header) return {};
  dns::Message m = response_to(*header, rcode);
  auto parsed = dns::parse_message(query);
  if (parsed) {
    m.questions = parsed->questions;
    for (const auto& rr : parsed->additional) {
      if (rr.type == dns::kTypeOpt) {
        m.additional.push_back(our_opt(0));
        break;
      }
    }
  }
  return build_message(m);
}

}  // namespace stack::network
