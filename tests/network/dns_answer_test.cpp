// The embedded DNS's pure parts: wire format, table, answer_query, upstream lists.
#include "stack/network/dns.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <set>

#include "support/require_ok.h"

using namespace stack;
using namespace stack::network;

namespace {

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  INFO(text);
  REQUIRE_OK(a);
  return *a;
}

std::string query(const std::string& name, uint16_t type, uint16_t id = 0x1234, bool opt = false,
                  bool rd = true) {
  dns::Message m;
  m.id = id;
  m.rd = rd;
  m.questions.push_back({name, type, dns::kClassIn});
  if (opt) {
    dns::ResourceRecord r;
    r.type = dns::kTypeOpt;
    r.rclass = 4096;
    m.additional.push_back(r);
  }
  return dns::build_message(m);
}

DnsTable sample_table() {
  DnsTable t;
  t.set_network("front", {{"web", {ip("10.1.0.2"), ip("10.1.0.3"), ip("10.1.0.4")}, false},
                          {"Proj-Web-1", {ip("10.1.0.2"), ip("fd00::2")}, true},
                          {"db", {ip("10.1.0.9")}, false}});
  t.set_network("back", {{"db", {ip("10.2.0.9")}, false}, {"cache", {ip("10.2.0.5")}, true}});
  return t;
}

dns::Message respond(const DnsTable& t, const std::vector<std::string>& view,
                     const std::string& q, bool tcp = false) {
  static std::mt19937_64 rng(42);
  DnsAnswer a = answer_query(t, view, q, tcp, rng);
  REQUIRE(a.kind == DnsAnswer::Kind::kRespond);
  auto m = dns::parse_message(a.response);
  REQUIRE_OK(m);
  return *m;
}

std::set<std::string> a_texts(const dns::Message& m) {
  std::set<std::string> out;
  for (const auto& rr : m.answers) {
    REQUIRE(rr.type == dns::kTypeA);
    REQUIRE(rr.rdata.size() == 4);
    auto b = [&](int i) { return std::to_string(static_cast<uint8_t>(rr.rdata[i])); };
    out.insert(b(0) + "." + b(1) + "." + b(2) + "." + b(3));
  }
  return out;
}

}  // namespace

TEST_CASE("dns message round trip keeps header flags, question and records") {
  dns::Message m;
  m.id = 0xbeef;
  m.qr = true;
  m.opcode = 0;
  m.aa = true;
  m.rd = true;
  m.ra = true;
  m.rcode = 3;
  m.questions.push_back({"Web.Example", dns::kTypeAaaa, dns::kClassIn});
  m.answers.push_back(
      {"web.example", dns::kTypeA, dns::kClassIn, 7, std::string("\x0a\0\0\x01", 4)});
  std::string bytes = dns::build_message(m);
  auto p = dns::parse_message(bytes);
  REQUIRE_OK(p);
  CHECK(p->id == 0xbeef);
  CHECK(p->qr);
  CHECK(p->aa);
  CHECK_FALSE(p->tc);
  CHECK(p->rd);
  CHECK(p->ra);
  CHECK(p->rcode == 3);
  REQUIRE(p->questions.size() == 1);
  CHECK(p->questions[0].name == "Web.Example");
  CHECK(p->questions[0].type == dns::kTypeAaaa);
  REQUIRE(p->answers.size() == 1);
  CHECK(p->answers[0].ttl == 7);
  CHECK(p->answers[0].rdata == std::string("\x0a\0\0\x01", 4));
  CHECK(dns::build_message(*p) == bytes);
}

TEST_CASE("dns parser follows backward compression pointers and rejects loops") {
  // Header with 2 questions: "web.front" at offset 12, then "db" + pointer to "front" (offset 16).
  std::string msg("\x00\x01\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00", 12);
  msg += std::string("\x03web\x05" "front\x00\x00\x01\x00\x01", 15);
  msg += std::string("\x02" "db\xc0\x10\x00\x01\x00\x01", 9);
  auto p = dns::parse_message(msg);
  REQUIRE_OK(p);
  REQUIRE(p->questions.size() == 2);
  CHECK(p->questions[0].name == "web.front");
  CHECK(p->questions[1].name == "db.front");

  std::string self_loop("\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  self_loop += std::string("\xc0\x0c\x00\x01\x00\x01", 6);  // points at itself
  auto l = dns::parse_message(self_loop);
  REQUIRE_FALSE(l.ok());
  CHECK(l.error().message.find("pointer") != std::string::npos);

  std::string forward("\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  forward += std::string("\xc0\x12\x00\x01\x00\x01\x01" "a\x00", 9);
  CHECK_FALSE(dns::parse_message(forward).ok());
  CHECK_FALSE(dns::parse_message(std::string("\x00\x01\x01", 3)).ok());
  CHECK_FALSE(dns::parse_message(query("web", dns::kTypeA) + "x").ok());  // trailing byte
}

TEST_CASE("A answers: every replica, case-insensitive, TTL 2, id and question echoed") {
  DnsTable t = sample_table();
  auto m = respond(t, {"front"}, query("WEB.", dns::kTypeA, 0x4242));
  CHECK(m.id == 0x4242);
  CHECK(m.qr);
  CHECK(m.rd);
  CHECK(m.ra);
  CHECK_FALSE(m.aa);
  CHECK(m.rcode == dns::kRcodeNoError);
  REQUIRE(m.questions.size() == 1);
  CHECK(m.questions[0].name == "WEB");
  CHECK(a_texts(m) == std::set<std::string>{"10.1.0.2", "10.1.0.3", "10.1.0.4"});
  for (const auto& rr : m.answers) {
    CHECK(rr.ttl == kDnsTtlSeconds);
    CHECK(rr.ttl <= 5);
  }
  auto no_rd = respond(t, {"front"}, query("web", dns::kTypeA, 1, false, false));
  CHECK_FALSE(no_rd.rd);
}

TEST_CASE("A answer order is shuffled but the set stays the same") {
  DnsTable t = sample_table();
  std::set<std::string> orders;
  for (int i = 0; i < 200; ++i) {
    auto m = respond(t, {"front"}, query("web", dns::kTypeA));
    CHECK(a_texts(m) == std::set<std::string>{"10.1.0.2", "10.1.0.3", "10.1.0.4"});
    std::string order;
    for (const auto& rr : m.answers) order += rr.rdata;
    orders.insert(order);
  }
  CHECK(orders.size() == 6);  // all 3! orders show up in 200 tries
}

TEST_CASE("AAAA, NODATA and the first network of the view wins") {
  DnsTable t = sample_table();
  auto v6 = respond(t, {"front"}, query("proj-web-1", dns::kTypeAaaa));
  REQUIRE(v6.answers.size() == 1);
  CHECK(v6.answers[0].type == dns::kTypeAaaa);
  CHECK(v6.answers[0].rdata == std::string("\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x02", 16));

  auto nodata = respond(t, {"front"}, query("web", dns::kTypeAaaa));
  CHECK(nodata.rcode == dns::kRcodeNoError);
  CHECK(nodata.answers.empty());
  auto mx = respond(t, {"front"}, query("web", dns::kTypeMx));
  CHECK(mx.rcode == dns::kRcodeNoError);
  CHECK(mx.answers.empty());

  CHECK(a_texts(respond(t, {"back", "front"}, query("db", dns::kTypeA))) ==
        std::set<std::string>{"10.2.0.9"});
  CHECK(a_texts(respond(t, {"front", "back"}, query("db", dns::kTypeA))) ==
        std::set<std::string>{"10.1.0.9"});
  auto any = respond(t, {"front"}, query("proj-web-1", dns::kTypeAny));
  CHECK(any.answers.size() == 2);
}

TEST_CASE("<name>.<network> names and networks outside the view") {
  DnsTable t = sample_table();
  CHECK(a_texts(respond(t, {"front", "back"}, query("db.back", dns::kTypeA))) ==
        std::set<std::string>{"10.2.0.9"});
  std::mt19937_64 rng(1);
  // "cache" lives only on back: a container on front alone must not see it (forwarded instead).
  DnsAnswer a = answer_query(t, {"front"}, query("cache", dns::kTypeA, 77), false, rng);
  CHECK(a.kind == DnsAnswer::Kind::kForward);
  CHECK(a.id == 77);
  CHECK(a.question.name == "cache");
  CHECK(answer_query(t, {"front"}, query("example.org", dns::kTypeA), false, rng).kind ==
        DnsAnswer::Kind::kForward);
  t.remove_network("back");
  CHECK(answer_query(t, {"back"}, query("db", dns::kTypeA), false, rng).kind ==
        DnsAnswer::Kind::kForward);
}

TEST_CASE("PTR answers within the view, others are forwarded") {
  DnsTable t = sample_table();
  CHECK(parse_reverse_name("2.0.1.10.in-addr.arpa") == ip("10.1.0.2"));
  CHECK(parse_reverse_name("2.0.1.10.IN-ADDR.ARPA.") == ip("10.1.0.2"));
  CHECK_FALSE(parse_reverse_name("0.1.10.in-addr.arpa"));
  CHECK_FALSE(parse_reverse_name("256.0.1.10.in-addr.arpa"));
  std::string v6name;
  for (int i = 0; i < 30; ++i) v6name += i == 0 ? "2." : "0.";
  v6name += "d.f.ip6.arpa";
  CHECK(parse_reverse_name(v6name) == ip("fd00::2"));

  auto m = respond(t, {"front"}, query("2.0.1.10.in-addr.arpa", dns::kTypePtr));
  REQUIRE(m.answers.size() == 1);
  CHECK(m.answers[0].type == dns::kTypePtr);
  CHECK(m.answers[0].rdata == dns::encode_name("proj-web-1.front"));
  // 10.1.0.3 has no reverse-flagged record: the first name holding it.
  auto svc = respond(t, {"front"}, query("3.0.1.10.in-addr.arpa", dns::kTypePtr));
  REQUIRE(svc.answers.size() == 1);
  CHECK(svc.answers[0].rdata == dns::encode_name("web"));
  std::mt19937_64 rng(1);
  CHECK(answer_query(t, {"front"}, query("5.0.2.10.in-addr.arpa", dns::kTypePtr), false, rng)
            .kind == DnsAnswer::Kind::kForward);
}

TEST_CASE("FORMERR, NOTIMP, dropped responses and short packets") {
  DnsTable t = sample_table();
  std::mt19937_64 rng(1);
  std::string bad = query("web", dns::kTypeA, 0x0909);
  bad.resize(bad.size() - 2);  // cut the question's class
  auto formerr = respond(t, {"front"}, bad);
  CHECK(formerr.rcode == dns::kRcodeFormErr);
  CHECK(formerr.id == 0x0909);

  dns::Message two;
  two.questions = {{"web", dns::kTypeA, 1}, {"db", dns::kTypeA, 1}};
  CHECK(respond(t, {"front"}, dns::build_message(two)).rcode == dns::kRcodeFormErr);

  std::string notify = query("web", dns::kTypeA, 0x0a0a);
  notify[2] = static_cast<char>(4 << 3);  // opcode NOTIFY
  auto notimp = respond(t, {"front"}, notify);
  CHECK(notimp.rcode == dns::kRcodeNotImp);
  CHECK(notimp.id == 0x0a0a);

  CHECK(answer_query(t, {"front"}, std::string("\x01\x02\x03", 3), false, rng).kind ==
        DnsAnswer::Kind::kDrop);
  std::string response = query("web", dns::kTypeA);
  response[2] = static_cast<char>(response[2] | 0x80);
  CHECK(answer_query(t, {"front"}, response, false, rng).kind == DnsAnswer::Kind::kDrop);
}

TEST_CASE("EDNS OPT in the query gives OPT in the answer, bad version BADVERS") {
  DnsTable t = sample_table();
  auto m = respond(t, {"front"}, query("web", dns::kTypeA, 1, true));
  REQUIRE(m.additional.size() == 1);
  CHECK(m.additional[0].type == dns::kTypeOpt);
  CHECK(m.additional[0].rclass == dns::kEdnsUdpSize);
  CHECK(respond(t, {"front"}, query("web", dns::kTypeA)).additional.empty());

  dns::Message q = *dns::parse_message(query("web", dns::kTypeA, 1, true));
  q.additional[0].ttl = 1u << 16;  // version 1
  auto badvers = respond(t, {"front"}, dns::build_message(q));
  REQUIRE(badvers.additional.size() == 1);
  CHECK(badvers.additional[0].ttl >> 24 == 1);  // extended rcode 16 = BADVERS
  CHECK(badvers.answers.empty());
}

TEST_CASE("UDP answers over 512 bytes are cut with TC, TCP ones are whole") {
  DnsTable t;
  std::vector<IpAddress> many;
  for (uint32_t i = 1; i <= 100; ++i) many.push_back(IpAddress::v4(0x0a010000 + i));
  t.set_network("n", {{"svc", many, false}});
  auto udp = respond(t, {"n"}, query("svc", dns::kTypeA));
  CHECK(udp.tc);
  CHECK(dns::build_message(udp).size() <= 512);
  CHECK(udp.answers.size() > 20);
  auto tcp = respond(t, {"n"}, query("svc", dns::kTypeA), true);
  CHECK_FALSE(tcp.tc);
  CHECK(tcp.answers.size() == 100);
  auto edns = respond(t, {"n"}, query("svc", dns::kTypeA, 1, true));
  CHECK_FALSE(edns.tc);  // 100 × 16 bytes fit in the client's 4096
}

TEST_CASE("error_response echoes id and question") {
  auto m = dns::parse_message(error_response(query("x.org", dns::kTypeA, 0x7777), 2));
  REQUIRE_OK(m);
  CHECK(m->id == 0x7777);
  CHECK(m->rcode == dns::kRcodeServFail);
  REQUIRE(m->questions.size() == 1);
  CHECK(m->questions[0].name == "x.org");
  CHECK(error_response("abc", 2).empty());
}

TEST_CASE("upstream lists parse, with the environment overriding resolv.conf") {
  auto ups = parse_dns_upstreams("127.0.0.1:5353, [::1]:53,10.0.0.2");
  REQUIRE_OK(ups);
  REQUIRE(ups->size() == 3);
  CHECK((*ups)[0] == DnsUpstream{ip("127.0.0.1"), 5353});
  CHECK((*ups)[1] == DnsUpstream{ip("::1"), 53});
  CHECK((*ups)[2] == DnsUpstream{ip("10.0.0.2"), 53});
  auto v6bare = parse_dns_upstreams("fd00::1");
  REQUIRE_OK(v6bare);
  CHECK((*v6bare)[0] == DnsUpstream{ip("fd00::1"), 53});
  auto bad = parse_dns_upstreams("1.2.3.4:99999");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().to_string().find("1.2.3.4:99999") != std::string::npos);
  CHECK_FALSE(parse_dns_upstreams("nope").ok());

  ::setenv("STACK_DNS_UPSTREAMS", "127.0.0.1:5300", 1);
  auto env = host_dns_upstreams("/nonexistent");
  ::unsetenv("STACK_DNS_UPSTREAMS");
  REQUIRE_OK(env);
  REQUIRE(env->size() == 1);
  CHECK((*env)[0].port == 5300);
}
