// render_ruleset: the nft script for a firewall spec, and the errors for invalid specs.
#include <catch2/catch.hpp>
#include <string>

#include "stack/network/firewall.h"
#include "support/require_ok.h"

namespace {

using namespace stack::network;

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }
Cidr cidr(const char* text) { return Cidr::parse(text).value(); }

bool has(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

FirewallSpec base_spec() {
  FirewallSpec spec;
  spec.table = "stack";
  spec.bridge_prefix = "stk-";
  spec.networks.push_back({"stk-aaa", {cidr("10.1.0.0/24"), cidr("fd00:1::/64")}, false, "app_a"});
  spec.networks.push_back({"stk-bbb", {cidr("10.2.0.0/24")}, true, "app_b"});
  PublishedPort web{"tcp", std::nullopt, 8080, {{ip("10.1.0.2"), 80}}, "app web"};
  spec.ports.push_back(web);
  return spec;
}

std::string render(const FirewallSpec& spec) {
  auto r = render_ruleset(spec);
  REQUIRE_OK(r);
  return r.value();
}

std::string render_error(const FirewallSpec& spec) {
  auto r = render_ruleset(spec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == EINVAL);
  return r.error().to_string();
}

}  // namespace

TEST_CASE("firewall script replaces the table atomically: create, delete, define") {
  std::string s = render(base_spec());
  CHECK(s.rfind("table inet stack {}\ndelete table inet stack\ntable inet stack {\n", 0) == 0);
  CHECK(has(s, "type nat hook prerouting priority dstnat; policy accept;"));
  CHECK(has(s, "type nat hook output priority -100; policy accept;"));
  CHECK(has(s, "type nat hook postrouting priority srcnat; policy accept;"));
  CHECK(has(s, "type filter hook forward priority filter; policy accept;"));
  CHECK(has(s, "fib daddr type local jump published"));
}

TEST_CASE("firewall masquerades egress of non-internal networks only") {
  std::string s = render(base_spec());
  CHECK(has(s, "ip saddr 10.1.0.0/24 oifname != \"stk-aaa\" masquerade comment \"app_a egress\""));
  CHECK(has(s, "ip6 saddr fd00:1::/64 oifname != \"stk-aaa\" masquerade"));
  CHECK_FALSE(has(s, "ip saddr 10.2.0.0/24 oifname != \"stk-bbb\" masquerade"));
  // Localhost and hairpin masquerade for published ports, per bridge.
  CHECK(has(s, "oifname \"stk-aaa\" ct status dnat ip saddr 127.0.0.0/8 masquerade"));
  CHECK(has(s, "oifname \"stk-aaa\" ct status dnat ip saddr 10.1.0.0/24 masquerade"));
  CHECK(has(s, "oifname \"stk-aaa\" ct status dnat ip6 saddr fd00:1::/64 masquerade"));
}

TEST_CASE("firewall isolates networks and closes internal ones, after accepting DNAT") {
  std::string s = render(base_spec());
  auto accept = s.find("ct status dnat accept");
  REQUIRE(accept != std::string::npos);
  auto iso = s.find("iifname \"stk-aaa\" oifname \"stk-*\" oifname != \"stk-aaa\" drop");
  REQUIRE(iso != std::string::npos);
  CHECK(accept < iso);
  CHECK(has(s, "oifname \"stk-aaa\" iifname \"stk-*\" iifname != \"stk-aaa\" drop"));
  CHECK(has(s, "iifname \"stk-bbb\" oifname != \"stk-bbb\" drop comment \"app_b internal"));
  CHECK(has(s, "oifname \"stk-bbb\" iifname != \"stk-bbb\" drop"));
  CHECK_FALSE(has(s, "iifname \"stk-aaa\" oifname != \"stk-aaa\" drop"));
}

TEST_CASE("firewall DNATs one backend plainly and several round robin") {
  FirewallSpec spec = base_spec();
  std::string one = render(spec);
  CHECK(has(one, "meta nfproto ipv4 tcp dport 8080 dnat ip to 10.1.0.2:80 comment "
                 "\"app web 8080/tcp\""));
  spec.ports[0].backends = {{ip("10.1.0.4"), 80}, {ip("10.1.0.2"), 80}, {ip("10.1.0.3"), 81}};
  std::string many = render(spec);
  CHECK(has(many, "meta nfproto ipv4 tcp dport 8080 dnat ip to numgen inc mod 3 map "
                  "{ 0 : 10.1.0.2 . 80, 1 : 10.1.0.3 . 81, 2 : 10.1.0.4 . 80 }"));
  CHECK_FALSE(has(many, "dnat ip to 10.1.0.2:80"));
}

TEST_CASE("firewall DNAT honours host_ip, udp and IPv6 backends") {
  FirewallSpec spec = base_spec();
  spec.ports.push_back({"udp", ip("127.0.0.1"), 5353, {{ip("10.1.0.2"), 53}}, "app dns"});
  spec.ports.push_back({"tcp", ip("fd00:1::1"), 443, {{ip("fd00:1::2"), 8443}}, ""});
  spec.ports.push_back({"tcp", std::nullopt, 9000,
                        {{ip("10.1.0.2"), 9000}, {ip("fd00:1::2"), 9000}, {ip("fd00:1::3"), 9000}},
                        "dual"});
  std::string s = render(spec);
  CHECK(has(s, "ip daddr 127.0.0.1 udp dport 5353 dnat ip to 10.1.0.2:53 comment "
               "\"app dns 127.0.0.1:5353/udp\""));
  CHECK(has(s, "ip6 daddr fd00:1::1 tcp dport 443 dnat ip6 to [fd00:1::2]:8443 comment "
               "\"[fd00:1::1]:443/tcp\""));
  CHECK(has(s, "meta nfproto ipv4 tcp dport 9000 dnat ip to 10.1.0.2:9000"));
  CHECK(has(s, "meta nfproto ipv6 tcp dport 9000 dnat ip6 to numgen inc mod 2 map "
               "{ 0 : fd00:1::2 . 9000, 1 : fd00:1::3 . 9000 }"));
}

TEST_CASE("firewall renders a port without backends as nothing") {
  FirewallSpec spec = base_spec();
  spec.ports.push_back({"tcp", std::nullopt, 7777, {}, "idle"});
  CHECK_FALSE(has(render(spec), "7777"));
}

TEST_CASE("firewall puts a host_ip rule before the wildcard rule of the same port") {
  FirewallSpec spec = base_spec();
  spec.ports.push_back({"tcp", ip("127.0.0.1"), 8080, {{ip("10.1.0.9"), 80}}, "local"});
  std::string s = render(spec);
  auto specific = s.find("ip daddr 127.0.0.1 tcp dport 8080");
  auto wildcard = s.find("meta nfproto ipv4 tcp dport 8080");
  REQUIRE(specific != std::string::npos);
  REQUIRE(wildcard != std::string::npos);
  CHECK(specific < wildcard);
}

TEST_CASE("firewall output is deterministic and independent of input order") {
  FirewallSpec a = base_spec();
  a.ports.push_back({"udp", std::nullopt, 53, {{ip("10.1.0.5"), 53}, {ip("10.1.0.4"), 53}}, ""});
  FirewallSpec b = a;
  std::swap(b.networks[0], b.networks[1]);
  std::swap(b.ports[0], b.ports[1]);
  std::swap(b.ports[0].backends[0], b.ports[0].backends[1]);
  CHECK(render(a) == render(a));
  CHECK(render(a) == render(b));
}

TEST_CASE("firewall truncates long comments to nft's limit") {
  FirewallSpec spec = base_spec();
  spec.networks[0].comment = std::string(300, 'n');
  std::string s = render(spec);
  CHECK(has(s, "comment \"" + std::string(127, 'n') + "\""));
  CHECK_FALSE(has(s, std::string(128, 'n')));
}

TEST_CASE("firewall rejects invalid specs naming the table, network or port") {
  FirewallSpec spec = base_spec();
  SECTION("empty table name") {
    spec.table = "";
    CHECK(has(render_error(spec), "firewall table \"\": invalid name"));
  }
  SECTION("table name with a space") {
    spec.table = "st ack";
    CHECK(has(render_error(spec), "invalid name"));
  }
  SECTION("empty bridge prefix") {
    spec.bridge_prefix = "";
    CHECK(has(render_error(spec), "invalid bridge prefix"));
  }
  SECTION("bridge with a quote") {
    spec.networks[0].bridge = "stk-a\"b";
    CHECK(has(render_error(spec), "network app_a: invalid bridge name"));
  }
  SECTION("bridge without the prefix") {
    spec.networks[0].bridge = "br0";
    CHECK(has(render_error(spec), "network app_a: bridge br0 does not start with the prefix"));
  }
  SECTION("bridge listed twice") {
    spec.networks[1].bridge = "stk-aaa";
    CHECK(has(render_error(spec), "network app_b: bridge stk-aaa is listed twice"));
  }
  SECTION("comment with a quote") {
    spec.ports[0].comment = "we\"b";
    CHECK(has(render_error(spec), "comment has quotes"));
  }
  SECTION("host port 0") {
    spec.ports[0].host_port = 0;
    CHECK(has(render_error(spec), "published port app web 0/tcp: host port 0"));
  }
  SECTION("backend port 0") {
    spec.ports[0].backends[0].port = 0;
    CHECK(has(render_error(spec), "published port app web 8080/tcp: backend 10.1.0.2 has port 0"));
  }
  SECTION("bad protocol") {
    spec.ports[0].protocol = "sctp";
    CHECK(has(render_error(spec), "published port app web 8080/sctp: protocol \"sctp\""));
  }
  SECTION("backend family differs from host_ip") {
    spec.ports[0].host_ip = ip("fd00:1::1");
    CHECK(has(render_error(spec), "published port app web [fd00:1::1]:8080/tcp: backend "
                                  "10.1.0.2:80 is IPv4 but host_ip fd00:1::1 is IPv6"));
  }
  SECTION("port published twice") {
    spec.ports.push_back(spec.ports[0]);
    CHECK(has(render_error(spec), "published port app web 8080/tcp: published twice"));
  }
}
