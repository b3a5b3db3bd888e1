// Bridge networks end to end: real containers on real bridges, published ports reached from the
// host through stack's nftables table, isolation between networks, internal networks, replicas
// behind one published port, and teardown (engine_fixture.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <atomic>
#include <sstream>
#include <thread>

#include "engine/engine_fixture.h"
#include "engine/http_util.h"

using stack::test::EngineProject;
using stack::test::free_port;
using stack::test::http_get;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// The container's record (container.json) by name.
nlohmann::json record(const EngineProject& p, const std::string& name) {
  auto ps = p.ps();
  auto it = ps.find(name);
  if (it == ps.end()) return nullptr;
  std::ifstream in(p.root() + "/containers/" + it->second["ID"].get<std::string>() +
                   "/container.json");
  return nlohmann::json::parse(in);
}

std::string ip_of(const EngineProject& p, const std::string& name, size_t endpoint = 0) {
  auto r = record(p, name);
  if (r.is_null() || r["endpoints"].size() <= endpoint) return "";
  return r["endpoints"][endpoint]["ipv4"].get<std::string>();
}

std::string bridge_of(const EngineProject& p, const std::string& network) {
  std::ifstream in(p.root() + "/networks/" + network + ".json");
  if (!in) return "";
  return nlohmann::json::parse(in)["bridge"].get<std::string>();
}

bool link_exists(const std::string& name) {
  return std::filesystem::exists("/sys/class/net/" + name);
}

// The nft table of a state root (stack's naming: "stack_" + FNV-1a of the root path).
std::string table_of(const EngineProject& p) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : p.root()) h = (h ^ c) * 1099511628211ull;
  char buf[24];
  std::snprintf(buf, sizeof buf, "stack_%08x", static_cast<unsigned>(h ^ (h >> 32)));
  return buf;
}

bool table_exists(const std::string& table) {
  return stack::test::run_program("/usr/sbin/nft", {"list", "table", "inet", table}).exit_code == 0;
}

// `wget` from inside a container (busybox), 3 s at most; the body or "".
std::string wget_in(const EngineProject& p, const std::string& service, const std::string& url) {
  auto r = p.stack({"exec", service, "timeout", "3", "wget", "-qO-", url});
  return r.exit_code == 0 ? r.out : "";
}

const char* kWebCommand =
    R"(["sh", "-c", "hostname > /www/index.html; exec httpd -f -p 80 -h /www"])";

}  // namespace

TEST_CASE("containers on a project network reach each other and a published port from the host",
          "[e2e][network]") {
  EngineProject p("netbasic");
  const int port = free_port();
  p.write_compose("services:\n"
                  "  web:\n    image: busybox:e2e\n    command: " + std::string(kWebCommand) +
                  "\n    ports: [\"" + std::to_string(port) + ":80\"]\n    expose: [\"9000\"]\n"
                  "  client:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n");
  auto up = p.stack({"up", "-d"});
  REQUIRE(up.exit_code == 0);

  const std::string web_ip = ip_of(p, "netbasic-web-1");
  REQUIRE_FALSE(web_ip.empty());
  const std::string bridge = bridge_of(p, "netbasic_default");
  REQUIRE(link_exists(bridge));
  auto host_name = trim(p.stack({"exec", "web", "hostname"}).out);
  REQUIRE_FALSE(host_name.empty());
  // The container's own name resolves to its address.
  CHECK(trim(p.stack({"exec", "web", "hostname", "-i"}).out) == web_ip);

  SECTION("container to container over the bridge") {
    CHECK(trim(wget_in(p, "client", "http://" + web_ip + "/")) == host_name);
  }
  SECTION("the published port from the host: loopback and the host's own address") {
    CHECK(trim(http_get("127.0.0.1", port)) == host_name);
    auto gw = record(p, "netbasic-web-1")["endpoints"][0]["gateway4"].get<std::string>();
    CHECK(trim(http_get(gw, port)) == host_name);
  }
  SECTION("the published port from a container and from itself (hairpin)") {
    auto gw = record(p, "netbasic-web-1")["endpoints"][0]["gateway4"].get<std::string>();
    const std::string url = "http://" + gw + ":" + std::to_string(port) + "/";
    CHECK(trim(wget_in(p, "client", url)) == host_name);
    CHECK(trim(wget_in(p, "web", url)) == host_name);
  }
  SECTION("ps and port show the binding") {
    auto ps = p.stack({"ps"});
    CHECK(ps.out.find("0.0.0.0:" + std::to_string(port) + "->80/tcp, 9000/tcp") !=
          std::string::npos);
    auto pr = p.stack({"port", "web", "80"});
    CHECK(pr.exit_code == 0);
    CHECK(trim(pr.out) == "0.0.0.0:" + std::to_string(port));
    CHECK(p.stack({"port", "web", "81"}).exit_code != 0);
  }
  SECTION("down removes the bridge, the veths, the namespaces and the firewall table") {
    auto rec = record(p, "netbasic-web-1");
    const std::string veth = rec["endpoints"][0]["host_ifname"].get<std::string>();
    const std::string netns = rec["netns"].get<std::string>();
    REQUIRE(link_exists(veth));
    REQUIRE(std::filesystem::exists(netns));
    REQUIRE(table_exists(table_of(p)));
    REQUIRE(p.stack({"down", "-t", "0"}).exit_code == 0);
    CHECK_FALSE(link_exists(bridge));
    CHECK_FALSE(link_exists(veth));
    CHECK_FALSE(std::filesystem::exists(netns));
    CHECK_FALSE(table_exists(table_of(p)));
    CHECK(http_get("127.0.0.1", port).empty());
  }
}

TEST_CASE("a published port spreads connections over replicas and survives a flushed table",
          "[e2e][network]") {
  EngineProject p("netlb");
  const int port = free_port();
  p.write_compose("services:\n"
                  "  web:\n    image: busybox:e2e\n    command: " + std::string(kWebCommand) +
                  "\n    ports: [\"" + std::to_string(port) + ":80\"]\n");
  REQUIRE(p.stack({"up", "-d", "--scale", "web=3"}).exit_code == 0);
  std::map<std::string, int> hits;
  for (int i = 0; i < 9; ++i) ++hits[trim(http_get("127.0.0.1", port))];
  CHECK(hits.size() == 3);
  CHECK(hits.count("") == 0);

  // Someone flushes stack's rules (`nft flush ruleset` would also take every other table of
  // this machine, which a test must not); the next `up` puts them back.
  REQUIRE(stack::test::run_program("/usr/sbin/nft", {"delete", "table", "inet", table_of(p)})
              .exit_code == 0);
  CHECK(http_get("127.0.0.1", port).empty());
  REQUIRE(p.stack({"up", "-d", "--scale", "web=3"}).exit_code == 0);
  CHECK_FALSE(trim(http_get("127.0.0.1", port)).empty());

  // A stopped replica gets no new connections.
  REQUIRE(p.stack({"stop", "-t", "0", "web"}).exit_code == 0);
  CHECK(http_get("127.0.0.1", port).empty());
}

TEST_CASE("networks are isolated from each other and internal networks have no way out",
          "[e2e][network]") {
  EngineProject p("netiso");
  p.write_compose("services:\n"
                  "  front:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n"
                  "    networks: [front]\n"
                  "  back:\n    image: busybox:e2e\n    command: " + std::string(kWebCommand) +
                  "\n    networks: [back]\n"
                  "  both:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n"
                  "    networks: [front, back]\n"
                  "  inner:\n    image: busybox:e2e\n    command: " + std::string(kWebCommand) +
                  "\n    networks: [inside]\n"
                  "  peer:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n"
                  "    networks: [inside]\n"
                  "networks:\n  front: {}\n  back: {}\n  inside:\n    internal: true\n");
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  const std::string back_ip = ip_of(p, "netiso-back-1");
  const std::string inner_ip = ip_of(p, "netiso-inner-1");
  REQUIRE_FALSE(back_ip.empty());
  REQUIRE_FALSE(inner_ip.empty());
  // A container on both networks reaches back; one only on front does not.
  CHECK_FALSE(wget_in(p, "both", "http://" + back_ip + "/").empty());
  CHECK(wget_in(p, "front", "http://" + back_ip + "/").empty());
  // Members of the internal network reach each other, nothing else reaches them, and they
  // reach nothing outside (no route, and the bridge drops what leaves it).
  CHECK_FALSE(wget_in(p, "peer", "http://" + inner_ip + "/").empty());
  CHECK(wget_in(p, "both", "http://" + inner_ip + "/").empty());
  auto front_gw = record(p, "netiso-front-1")["endpoints"][0]["gateway4"].get<std::string>();
  CHECK(p.stack({"exec", "peer", "ping", "-c", "1", "-W", "1", front_gw}).exit_code != 0);
  CHECK(p.stack({"exec", "both", "ping", "-c", "1", "-W", "1", front_gw}).exit_code == 0);
}

TEST_CASE("ipam config, static addresses and network_mode service: are honoured",
          "[e2e][network]") {
  EngineProject p("netipam");
  p.write_compose("services:\n"
                  "  web:\n    image: busybox:e2e\n    command: " + std::string(kWebCommand) +
                  "\n    networks:\n      custom:\n        ipv4_address: 10.231.7.50\n"
                  "  sidecar:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n"
                  "    network_mode: \"service:web\"\n    depends_on: [web]\n"
                  "networks:\n  custom:\n    ipam:\n      config:\n"
                  "        - subnet: 10.231.7.0/24\n          gateway: 10.231.7.254\n");
  auto up = p.stack({"up", "-d"});
  REQUIRE(up.exit_code == 0);
  CHECK(ip_of(p, "netipam-web-1") == "10.231.7.50");
  auto rec = record(p, "netipam-web-1");
  CHECK(rec["endpoints"][0]["gateway4"] == "10.231.7.254");
  // The sidecar shares web's namespace: web's server answers on its loopback.
  auto page = trim(wget_in(p, "sidecar", "http://127.0.0.1/"));
  CHECK(page == trim(p.stack({"exec", "web", "hostname"}).out));

  SECTION("an overlapping subnet is refused, naming the network and the subnet") {
    EngineProject q("netoverlap");
    q.write_compose("services:\n  s:\n    image: busybox:e2e\n    command: [\"true\"]\n"
                    "    networks: [n]\n"
                    "networks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.231.0.0/16\n");
    auto r = q.stack({"up", "-d"});
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("netoverlap_n") != std::string::npos);
    CHECK(r.err.find("10.231.0.0/16") != std::string::npos);
    CHECK(r.err.find("10.231.7.0/24") != std::string::npos);
    CHECK(q.ps().empty());
  }
}

TEST_CASE("a host port held by another process fails up with a clear error", "[e2e][network]") {
  EngineProject p("netbusy");
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string port = std::to_string(ntohs(a.sin_port));
  p.write_compose("services:\n  web:\n    image: busybox:e2e\n    command: " +
                  std::string(kWebCommand) + "\n    ports: [\"" + port + ":80\"]\n");
  auto r = p.stack({"up", "-d"});
  ::close(fd);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("netbusy-web-1") != std::string::npos);
  CHECK(r.err.find("0.0.0.0:" + port) != std::string::npos);
  CHECK(r.err.find("port is already allocated") != std::string::npos);
  CHECK(p.ps().empty());
}

namespace {

// A fake upstream resolver on 127.0.0.1: answers every A query with 192.0.2.99.
class FakeResolver {
 public:
  FakeResolver() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeResolver() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  int queries() const { return queries_; }

 private:
  void serve() {
    unsigned char buf[512];
    for (;;) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) return;
      ++queries_;
      // Echo the question (assumed to be the only one and to end the query), answer one A.
      std::string q(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
      size_t end = 12;
      while (end < q.size() && q[end] != 0) end += static_cast<unsigned char>(q[end]) + 1;
      q.resize(end + 5);
      bool is_a = static_cast<unsigned char>(q[end + 2]) == 1;
      q[2] = static_cast<char>(q[2] | 0x80);  // QR
      q[3] = static_cast<char>(0x80);         // RA, NOERROR
      q[6] = 0;
      q[7] = is_a ? 1 : 0;
      q[8] = q[9] = q[10] = q[11] = 0;
      if (is_a) q += std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x63", 16);
      ::sendto(fd_, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> queries_{0};
  std::thread thread_;
};

// The addresses busybox nslookup prints for `name` inside `service`'s container, sorted.
std::set<std::string> lookup(const EngineProject& p, const std::string& service,
                             const std::string& name) {
  auto r = p.stack({"exec", service, "nslookup", "-type=a", name});
  std::set<std::string> out;
  std::istringstream in(r.out);
  std::string line;
  bool answers = false;
  while (std::getline(in, line)) {
    if (line.rfind("Non-authoritative answer", 0) == 0) answers = true;
    if (answers && line.rfind("Address: ", 0) == 0) out.insert(trim(line.substr(9)));
  }
  return out;
}

}  // namespace

TEST_CASE("the embedded DNS resolves services, replicas, names and links, and forwards the rest",
          "[e2e][network][dns]") {
  EngineProject p("netdns");
  FakeResolver upstream;
  p.dns_upstreams = "127.0.0.1:" + std::to_string(upstream.port());
  p.write_compose("services:\n"
                  "  web:\n    image: busybox:e2e\n    command: " + std::string(kWebCommand) +
                  "\n    deploy: {replicas: 2}\n"
                  "    networks:\n      default:\n        aliases: [www]\n"
                  "  client:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n"
                  "    links: [\"web:frontend\"]\n"
                  "  checked:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n"
                  "    deploy: {replicas: 2}\n"
                  "    healthcheck:\n      test: [\"CMD\", \"test\", \"-f\", \"/tmp/ok\"]\n"
                  "      interval: 200ms\n      retries: 1\n");
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  CHECK(trim(p.stack({"exec", "client", "cat", "/etc/resolv.conf"}).out)
            .find("nameserver 127.0.0.11") != std::string::npos);
  const std::set<std::string> both = {ip_of(p, "netdns-web-1"), ip_of(p, "netdns-web-2")};
  auto first = lookup(p, "client", "web");
  if (first != both) {
    // Diagnostics: what the root's stack-netd said, and whether it runs.
    std::ifstream log(p.root() + "/netd.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    auto ps = stack::test::run_program("/usr/bin/pgrep", {"-af", "stack-netd"});
    WARN("netd.log:\n" << text << "\nrunning netds:\n" << ps.out);
  }
  CHECK(first == both);
  CHECK(lookup(p, "client", "www") == both);
  CHECK(lookup(p, "client", "frontend") == both);
  CHECK(lookup(p, "client", "netdns-web-2") == std::set<std::string>{ip_of(p, "netdns-web-2")});
  CHECK(lookup(p, "client", "netdns-web-1.netdns_default") ==
        std::set<std::string>{ip_of(p, "netdns-web-1")});
  // By name over HTTP, through the resolver of busybox's wget.
  CHECK_FALSE(wget_in(p, "client", "http://web/").empty());
  // Everything else goes to the host's upstream resolvers.
  CHECK(lookup(p, "client", "outside.example") == std::set<std::string>{"192.0.2.99"});
  CHECK(upstream.queries() > 0);

  SECTION("scale and stop show within a second") {
    REQUIRE(p.stack({"scale", "web=3"}).exit_code == 0);
    CHECK(EngineProject::eventually([&] { return lookup(p, "client", "web").size() == 3; },
                                    std::chrono::seconds(1)));
    REQUIRE(p.stack({"stop", "-t", "0", "web"}).exit_code == 0);
    // No replica runs: the name is not ours any more and goes to the upstream.
    CHECK(EngineProject::eventually(
        [&] { return lookup(p, "client", "web") == std::set<std::string>{"192.0.2.99"}; },
        std::chrono::seconds(1)));
  }
  SECTION("a killed stack-netd is back after the next up") {
    auto killed = stack::test::run_program("/usr/bin/pkill",
                                           {"-KILL", "-f", "stack-netd --root " + p.root() + " "});
    REQUIRE(killed.exit_code == 0);
    REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
    CHECK(lookup(p, "client", "web") == both);
  }
  SECTION("with a healthcheck, only healthy replicas are answered") {
    REQUIRE(p.stack({"exec", "--index", "1", "checked", "touch", "/tmp/ok"}).exit_code == 0);
    const std::string healthy = ip_of(p, "netdns-checked-1");
    CHECK(EngineProject::eventually([&] {
      return lookup(p, "client", "checked") == std::set<std::string>{healthy};
    }));
  }
}

TEST_CASE("enable_ipv6 gives containers IPv6 addresses, AAAA names and IPv6 published ports",
          "[e2e][network]") {
  EngineProject p("netsix");
  const int port = free_port();
  p.write_compose("services:\n"
                  "  web:\n    image: busybox:e2e\n    command: " + std::string(kWebCommand) +
                  "\n    ports: [\"" + std::to_string(port) + ":80\"]\n    networks: [six]\n"
                  "  client:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n"
                  "    networks: [six]\n"
                  "networks:\n  six:\n    enable_ipv6: true\n");
  auto up = p.stack({"up", "-d"});
  INFO(up.describe());
  REQUIRE(up.exit_code == 0);
  auto rec = record(p, "netsix-web-1");
  const std::string web6 = rec["endpoints"][0]["ipv6"].get<std::string>();
  const std::string gw6 = rec["endpoints"][0]["gateway6"].get<std::string>();
  REQUIRE_FALSE(web6.empty());
  CHECK(web6.rfind("fd", 0) == 0);  // from the machine's unique-local /48
  auto name = trim(p.stack({"exec", "web", "hostname"}).out);
  CHECK(p.stack({"exec", "client", "ping", "-6", "-c", "1", "-W", "2", web6}).exit_code == 0);
  auto aaaa = p.stack({"exec", "client", "nslookup", "-type=aaaa", "web"});
  CHECK(aaaa.out.find(web6) != std::string::npos);
  // One published port answers on the host's IPv4 and IPv6 addresses.
  CHECK(trim(http_get("127.0.0.1", port)) == name);
  CHECK(trim(http_get(gw6, port)) == name);
  CHECK(p.stack({"ps"}).out.find("[::]:" + std::to_string(port) + "->80/tcp") !=
        std::string::npos);
}

TEST_CASE("a missing external network fails up with Compose's message", "[e2e][network]") {
  EngineProject p("netext");
  p.write_compose("services:\n  s:\n    image: busybox:e2e\n    command: [\"true\"]\n"
                  "    networks: [outside]\n"
                  "networks:\n  outside:\n    external: true\n    name: netext-nowhere\n");
  auto r = p.stack({"up", "-d"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("network netext-nowhere declared as external, but could not be found") !=
        std::string::npos);
  CHECK(p.ps().empty());
}

TEST_CASE("a service's dns: servers are its embedded resolver's upstreams", "[e2e][network][dns]") {
  EngineProject p("netdnsopt");
  FakeResolver own;
  p.write_compose("services:\n"
                  "  web:\n    image: busybox:e2e\n    command: " + std::string(kWebCommand) + "\n"
                  "  custom:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n"
                  "    dns: [\"127.0.0.1:" + std::to_string(own.port()) + "\"]\n"
                  "  plain:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n");
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  // Names of the project still resolve, through 127.0.0.11.
  auto resolv = p.stack({"exec", "custom", "cat", "/etc/resolv.conf"}).out;
  CHECK(resolv.find("nameserver 127.0.0.11") != std::string::npos);
  CHECK(resolv.find(std::to_string(own.port())) == std::string::npos);
  CHECK(lookup(p, "custom", "web") == std::set<std::string>{ip_of(p, "netdnsopt-web-1")});
  // Other names go to the service's own server; the other container's go to the host's
  // (here a port where nothing answers).
  CHECK(lookup(p, "custom", "outside.example") == std::set<std::string>{"192.0.2.99"});
  CHECK(own.queries() > 0);
  const int before = own.queries();
  CHECK(lookup(p, "plain", "outside.example").empty());
  CHECK(own.queries() == before);
}
