// IPAM: prefixes, pool choice, and the persisted allocation store (temp dirs, no privileges).
#include "stack/network/ipam.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <set>

#include "stack/common/atomic_file.h"
#include "support/require_ok.h"

using namespace stack;
using namespace stack::network;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ipam_test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

Cidr cidr(const char* text) {
  auto c = Cidr::parse(text);
  INFO(text);
  REQUIRE_OK(c);
  return *c;
}

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  INFO(text);
  REQUIRE_OK(a);
  return *a;
}

std::string err(const Error& e) { return e.to_string(); }

// Sources with no host routes or nameservers and Docker's IPv4 pools.
SubnetSources clean_sources() {
  SubnetSources s;
  s.pools_v6 = default_pools_v6("test-host");
  return s;
}

IpamConfig config(const char* subnet) { return IpamConfig{cidr(subnet), {}, {}, {}}; }

}  // namespace

TEST_CASE("Cidr parses and formats both families") {
  struct Row {
    const char* in;
    const char* out;
  };
  for (auto r : {Row{"10.1.0.0/16", "10.1.0.0/16"}, Row{"0.0.0.0/0", "0.0.0.0/0"},
                 Row{"192.168.1.7/32", "192.168.1.7/32"}, Row{"fd00:0:0:1::/64", "fd00:0:0:1::/64"},
                 Row{"FD00::/8", "fd00::/8"}, Row{"::/0", "::/0"}}) {
    INFO(r.in);
    CHECK(cidr(r.in).to_string() == r.out);
  }
  CHECK(cidr("fd00:1::/64").is_v6());
  CHECK_FALSE(cidr("10.0.0.0/8").is_v6());
}

TEST_CASE("Cidr rejects bad text and quotes it") {
  auto host_bits = Cidr::parse("10.1.0.1/16");
  REQUIRE_FALSE(host_bits.ok());
  CHECK(err(host_bits.error()) == "invalid subnet 10.1.0.1/16: it has host bits set");
  for (const char* bad : {"10.1.0.0", "10.1.0.0/33", "10.1.0.0/-1", "10.1.0/16", "10.1.0.0/1x",
                          "fd00::/129", "fd00::1/64", "hello/8", "10.1.0.0/"}) {
    auto r = Cidr::parse(bad);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(err(r.error()).find(std::string(bad).substr(0, 6)) != std::string::npos);
  }
  auto a = IpAddress::parse("300.1.1.1");
  REQUIRE_FALSE(a.ok());
  CHECK(err(a.error()) == "invalid IP address \"300.1.1.1\"");
}

TEST_CASE("Cidr contains and overlaps") {
  struct Row {
    const char* a;
    const char* b;
    bool overlap;
  };
  for (auto r : {Row{"10.1.0.0/16", "10.1.2.0/24", true}, Row{"10.1.2.0/24", "10.1.0.0/16", true},
                 Row{"10.1.0.0/16", "10.2.0.0/16", false}, Row{"10.0.0.0/8", "10.255.0.0/16", true},
                 Row{"172.17.0.0/16", "172.16.0.0/16", false},
                 Row{"192.168.0.0/20", "192.168.16.0/20", false},
                 Row{"0.0.0.0/0", "1.2.3.4/32", true}, Row{"fd00::/8", "fd12::/64", true},
                 Row{"fd00::/64", "fd00:0:0:1::/64", false}, Row{"10.0.0.0/8", "::/0", false}}) {
    INFO(r.a << " vs " << r.b);
    CHECK(cidr(r.a).overlaps(cidr(r.b)) == r.overlap);
  }
  CHECK(cidr("10.1.0.0/16").contains(ip("10.1.255.255")));
  CHECK_FALSE(cidr("10.1.0.0/16").contains(ip("10.2.0.0")));
  CHECK_FALSE(cidr("10.1.0.0/16").contains(ip("::a01:0")));
  CHECK(cidr("10.1.0.0/16").contains(cidr("10.1.3.0/24")));
  CHECK_FALSE(cidr("10.1.3.0/24").contains(cidr("10.1.0.0/16")));
}

TEST_CASE("Cidr nth host and last address") {
  CHECK(cidr("10.1.0.0/16").nth(1)->to_string() == "10.1.0.1");
  CHECK(cidr("10.1.0.0/16").nth(256)->to_string() == "10.1.1.0");
  CHECK(cidr("10.1.0.0/16").last().to_string() == "10.1.255.255");
  CHECK(cidr("10.1.0.0/30").nth(3)->to_string() == "10.1.0.3");
  CHECK_FALSE(cidr("10.1.0.0/30").nth(4).ok());
  CHECK(cidr("fd00:1::/64").nth(0x10)->to_string() == "fd00:1::10");
  CHECK(cidr("fd00:1::/64").last().to_string() == "fd00:1::ffff:ffff:ffff:ffff");
  CHECK(cidr("255.255.255.0/24").last().to_string() == "255.255.255.255");
}

TEST_CASE("default pools follow Docker") {
  auto pools = default_pools_v4();
  REQUIRE(pools.size() == 7);
  CHECK(pools.front().base.to_string() == "172.17.0.0/16");
  CHECK(pools.back().base.to_string() == "192.168.0.0/16");
  CHECK(pools.back().size == 20);
  auto v6 = default_pools_v6("host-a");
  REQUIRE(v6.size() == 1);
  CHECK(v6[0].base.prefix_len() == 48);
  CHECK(v6[0].size == 64);
  CHECK(cidr("fd00::/8").contains(v6[0].base));
  CHECK(default_pools_v6("host-a")[0].base == v6[0].base);
  CHECK_FALSE(default_pools_v6("host-b")[0].base == v6[0].base);
}

TEST_CASE("choose_subnet skips in-use subnets, routes and nameservers") {
  auto pools = default_pools_v4();
  auto first = choose_subnet(pools, Family::kV4, {}, {}, {});
  REQUIRE_OK(first);
  CHECK(first->to_string() == "172.17.0.0/16");

  auto r = choose_subnet(pools, Family::kV4, {cidr("172.17.0.0/16")},
                         {cidr("172.18.5.0/24")}, {ip("172.19.0.53")});
  REQUIRE_OK(r);
  CHECK(r->to_string() == "172.20.0.0/16");

  // A route covering all of 172.16.0.0/12 sends the choice to 192.168.0.0/20, and one inside the
  // first /20 moves it to the second.
  r = choose_subnet(pools, Family::kV4, {}, {cidr("172.16.0.0/12"), cidr("192.168.1.0/24")}, {});
  REQUIRE_OK(r);
  CHECK(r->to_string() == "192.168.16.0/20");

  auto none = choose_subnet(pools, Family::kV4, {cidr("172.16.0.0/12"), cidr("192.168.0.0/16")},
                            {}, {});
  REQUIRE_FALSE(none.ok());
  CHECK(err(none.error()).find("no available IPv4 subnet") != std::string::npos);

  auto v6pools = default_pools_v6("h");
  auto v6 = choose_subnet(v6pools, Family::kV6, {}, {}, {});
  REQUIRE_OK(v6);
  CHECK(v6->prefix_len() == 64);
  CHECK(v6->network() == v6pools[0].base.network());
  auto v6b = choose_subnet(v6pools, Family::kV6, {*v6}, {}, {});
  REQUIRE_OK(v6b);
  CHECK(v6b->network().value() == v6->network().value() + (Uint128{1} << 64));
  // A whole /48 route blocks the pool in one step, without walking 65536 subnets one by one.
  CHECK_FALSE(choose_subnet(v6pools, Family::kV6, {}, {v6pools[0].base}, {}).ok());
}

TEST_CASE("host routes parse from /proc/net text") {
  std::string route =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth0\t00000000\t0102000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
      "eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
      "br0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
  auto v4 = parse_proc_net_route(route);
  REQUIRE(v4.size() == 2);
  CHECK(v4[0].to_string() == "10.0.2.0/24");
  CHECK(v4[1].to_string() == "172.17.0.0/16");

  std::string v6 =
      "fd001234000000000000000000000000 40 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n"
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo\n";
  auto r6 = parse_proc_net_ipv6_route(v6);
  REQUIRE(r6.size() == 1);
  CHECK(r6[0].to_string() == "fd00:1234::/64");

  TempDir t;
  std::filesystem::create_directories(t.path + "/net");
  REQUIRE_OK(write_file_atomic(t.path + "/net/route", route));
  auto routes = host_routes(t.path);
  REQUIRE_OK(routes);
  CHECK(routes->size() == 2);  // no ipv6_route file: IPv4 only, no error
  REQUIRE_OK(host_routes("/proc"));
}

TEST_CASE("resolv.conf nameservers") {
  auto ns = parse_resolv_conf_nameservers(
      "# comment\nsearch example.com\nnameserver 10.0.2.3\nnameserver fe80::1%eth0\n"
      "nameserver  2001:db8::53\noptions ndots:1\n");
  REQUIRE(ns.size() == 2);
  CHECK(ns[0].to_string() == "10.0.2.3");
  CHECK(ns[1].to_string() == "2001:db8::53");
  auto missing = resolv_conf_nameservers("/nonexistent/resolv.conf");
  REQUIRE_OK(missing);
  CHECK(missing->empty());
}

TEST_CASE("store chooses subnets for new networks and persists them") {
  TempDir t;
  IpamStore store(t.path);
  auto sources = clean_sources();
  sources.host_routes = {cidr("172.17.0.0/16")};
  auto a = store.create_network("app_default", {}, false, sources);
  REQUIRE_OK(a);
  REQUIRE(a->subnets.size() == 1);
  CHECK(a->subnets[0].subnet.to_string() == "172.18.0.0/16");
  CHECK(a->subnets[0].gateway.to_string() == "172.18.0.1");
  auto b = store.create_network("app_back", {}, true, sources);
  REQUIRE_OK(b);
  REQUIRE(b->subnets.size() == 2);
  CHECK(b->subnets[0].subnet.to_string() == "172.19.0.0/16");
  CHECK(b->subnets[1].subnet.is_v6());
  CHECK(b->subnets[1].subnet.prefix_len() == 64);
  // Creating again returns the recorded network, unchanged.
  auto again = store.create_network("app_default", {}, false, sources);
  REQUIRE_OK(again);
  CHECK(again->subnets[0].subnet.to_string() == "172.18.0.0/16");
  // Another store object (another process) sees the same files.
  auto listed = IpamStore(t.path).list();
  REQUIRE_OK(listed);
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].network == "app_back");
  REQUIRE_OK(store.remove_network("app_back"));
  CHECK(store.get("app_back").error().code == ENOENT);
  REQUIRE_OK(store.remove_network("app_back"));
}

TEST_CASE("overlapping subnets name both networks") {
  TempDir t;
  IpamStore store(t.path);
  REQUIRE_OK(store.create_network("a", {config("10.1.0.0/16")}, false, clean_sources()));
  auto b = store.create_network("b", {config("10.1.4.0/24")}, false, clean_sources());
  REQUIRE_FALSE(b.ok());
  CHECK(err(b.error()) == "network b: subnet 10.1.4.0/24 overlaps network a's subnet 10.1.0.0/16");
  CHECK(store.get("b").error().code == ENOENT);
}

TEST_CASE("config errors name the network") {
  TempDir t;
  IpamStore store(t.path);
  IpamConfig c = config("10.1.0.0/24");
  c.gateway = ip("10.2.0.1");
  auto r = store.create_network("n", {c}, false, clean_sources());
  REQUIRE_FALSE(r.ok());
  CHECK(err(r.error()) == "network n: gateway 10.2.0.1 is outside subnet 10.1.0.0/24");
  c = config("10.1.0.0/24");
  c.ip_range = cidr("10.1.1.0/28");
  r = store.create_network("n", {c}, false, clean_sources());
  REQUIRE_FALSE(r.ok());
  CHECK(err(r.error()).find("ip_range 10.1.1.0/28 is outside subnet") != std::string::npos);
  CHECK_FALSE(store.create_network("bad/name", {}, false, clean_sources()).ok());
}

TEST_CASE("allocation skips gateway and aux, stays in ip_range, and exhausts") {
  TempDir t;
  IpamStore store(t.path);
  IpamConfig c = config("10.1.0.0/24");
  c.ip_range = cidr("10.1.0.0/29");
  c.aux_addresses = {{"router", ip("10.1.0.2")}};
  REQUIRE_OK(store.create_network("x", {c}, false, clean_sources()));
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) {
    auto a = store.allocate("x", "c" + std::to_string(i), Family::kV4);
    REQUIRE_OK(a);
    got.push_back(a->to_string());
  }
  // .0 network, .1 gateway (default), .2 aux; ip_range ends at .7 (not the subnet broadcast).
  CHECK(got == std::vector<std::string>{"10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6",
                                        "10.1.0.7"});
  auto full = store.allocate("x", "c9", Family::kV4);
  REQUIRE_FALSE(full.ok());
  CHECK(err(full.error()) == "no free address in network x (10.1.0.0/29)");
  // An owner asking again gets its address back rather than a second one.
  CHECK(store.allocate("x", "c2", Family::kV4)->to_string() == "10.1.0.5");
}

TEST_CASE("allocation skips broadcast and honours an explicit gateway") {
  TempDir t;
  IpamStore store(t.path);
  IpamConfig c = config("10.1.0.0/30");
  c.gateway = ip("10.1.0.2");
  REQUIRE_OK(store.create_network("x", {c}, false, clean_sources()));
  CHECK(store.allocate("x", "a", Family::kV4)->to_string() == "10.1.0.1");
  auto full = store.allocate("x", "b", Family::kV4);
  REQUIRE_FALSE(full.ok());
  CHECK(err(full.error()) == "no free address in network x (10.1.0.0/30)");
  auto none6 = store.allocate("x", "b", Family::kV6);
  REQUIRE_FALSE(none6.ok());
  CHECK(err(none6.error()) == "network x has no IPv6 subnet");
}

TEST_CASE("static addresses") {
  TempDir t;
  IpamStore store(t.path);
  IpamConfig c = config("10.1.0.0/24");
  c.aux_addresses = {{"host1", ip("10.1.0.9")}};
  REQUIRE_OK(store.create_network("x", {c}, false, clean_sources()));
  auto s = store.allocate("x", "db", Family::kV4, ip("10.1.0.50"));
  REQUIRE_OK(s);
  CHECK(s->to_string() == "10.1.0.50");
  auto taken = store.allocate("x", "web", Family::kV4, ip("10.1.0.50"));
  REQUIRE_FALSE(taken.ok());
  CHECK(err(taken.error()) == "address 10.1.0.50 in network x is already allocated to db");
  auto outside = store.allocate("x", "web", Family::kV4, ip("10.2.0.5"));
  REQUIRE_FALSE(outside.ok());
  CHECK(err(outside.error()) == "address 10.2.0.5 is outside network x's subnet 10.1.0.0/24");
  auto gw = store.allocate("x", "web", Family::kV4, ip("10.1.0.1"));
  REQUIRE_FALSE(gw.ok());
  CHECK(err(gw.error()) == "address 10.1.0.1 in network x is the gateway");
  auto aux = store.allocate("x", "web", Family::kV4, ip("10.1.0.9"));
  REQUIRE_FALSE(aux.ok());
  CHECK(err(aux.error()).find("reserved as aux address host1") != std::string::npos);
  // The next dynamic address does not collide with the static one.
  CHECK(store.allocate("x", "web", Family::kV4)->to_string() == "10.1.0.2");
}

TEST_CASE("release frees addresses for reuse and persists") {
  TempDir t;
  IpamStore store(t.path);
  REQUIRE_OK(store.create_network("x", {config("10.1.0.0/24")}, false, clean_sources()));
  CHECK(store.allocate("x", "a", Family::kV4)->to_string() == "10.1.0.2");
  CHECK(store.allocate("x", "b", Family::kV4)->to_string() == "10.1.0.3");
  REQUIRE_OK(store.release("x", "a"));
  REQUIRE_OK(store.release("x", "nobody"));
  auto n = IpamStore(t.path).get("x");
  REQUIRE_OK(n);
  REQUIRE(n->subnets[0].allocations.size() == 1);
  CHECK(n->subnets[0].allocations.begin()->second == "b");
  CHECK(IpamStore(t.path).allocate("x", "c", Family::kV4)->to_string() == "10.1.0.2");
  CHECK(store.release("missing", "a").error().code == ENOENT);
}

TEST_CASE("IPv6 networks allocate from their own subnet") {
  TempDir t;
  IpamStore store(t.path);
  IpamConfig v6 = config("fd00:1::/64");
  v6.aux_addresses = {{"r", ip("fd00:1::2")}};
  REQUIRE_OK(store.create_network("x", {config("10.1.0.0/24"), v6}, true, clean_sources()));
  auto n = store.get("x");
  REQUIRE_OK(n);
  REQUIRE(n->find(Family::kV6));
  CHECK(n->find(Family::kV6)->gateway.to_string() == "fd00:1::1");
  CHECK(store.allocate("x", "a", Family::kV6)->to_string() == "fd00:1::3");
  CHECK(store.allocate("x", "a", Family::kV4)->to_string() == "10.1.0.2");
  CHECK(store.allocate("x", "b", Family::kV6, ip("fd00:1::beef"))->to_string() == "fd00:1::beef");
  REQUIRE_OK(store.release("x", "a"));
  n = store.get("x");
  CHECK(n->find(Family::kV4)->allocations.empty());
  CHECK(n->find(Family::kV6)->allocations.size() == 1);
  auto two = store.create_network("y", {config("fd00:2::/64"), config("fd00:3::/64")}, true,
                                  clean_sources());
  REQUIRE_FALSE(two.ok());
  CHECK(err(two.error()) == "network y: more than one IPv6 subnet");
}

TEST_CASE("two processes allocating concurrently never share an address") {
  TempDir t;
  IpamStore store(t.path);
  REQUIRE_OK(store.create_network("x", {config("10.1.0.0/24")}, false, clean_sources()));
  std::vector<pid_t> kids;
  for (int p = 0; p < 2; ++p) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      IpamStore mine(t.path);
      for (int i = 0; i < 50; ++i) {
        if (!mine.allocate("x", "p" + std::to_string(p) + "-" + std::to_string(i), Family::kV4)) {
          ::_exit(1);
        }
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto n = store.get("x");
  REQUIRE_OK(n);
  auto& alloc = n->subnets[0].allocations;
  CHECK(alloc.size() == 100);
  std::set<std::string> owners;
  for (auto& [addr, owner] : alloc) owners.insert(owner);
  CHECK(owners.size() == 100);
}
