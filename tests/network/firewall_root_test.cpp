// The firewall against the real kernel, proven with real TCP traffic. Every case builds its own
// lab from network namespaces it creates with `ip netns add` and deletes afterwards: "host" (the
// namespace whose nft table is applied; the host's own is never touched), "containers" on
// bridges in it, and an "outside" namespace behind a veth. Servers and clients are sockets
// created inside those namespaces by short-lived threads that setns.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "stack/common/unique_fd.h"
#include "stack/network/firewall.h"
#include "support/require_ok.h"
#include "support/run_command.h"

namespace {

using stack::UniqueFd;
using namespace stack::network;

stack::test::ProgramResult ip(const std::vector<std::string>& args) {
  stack::test::ProgramOptions opts;
  opts.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  opts.timeout = std::chrono::milliseconds(10'000);
  return stack::test::run_program("/usr/sbin/ip", args, opts);
}

void must_ip(const std::vector<std::string>& args) {
  auto r = ip(args);
  INFO("ip " << args.at(0) << " " << (args.size() > 1 ? args[1] : "") << ": " << r.describe());
  REQUIRE(r.exit_code == 0);
}

// Runs f() on a new thread inside the namespace of netns_fd and returns its result; the thread
// ends, so no thread stays in the lab's namespace.
template <class F>
auto in_netns(int netns_fd, F f) -> decltype(f()) {
  std::optional<decltype(f())> out;
  std::thread t([&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) std::abort();
    out.emplace(f());
  });
  t.join();
  return std::move(*out);
}

struct Netns {
  std::string name;
  UniqueFd fd;
  explicit Netns(const std::string& tag) : name("stkfw" + std::to_string(getpid()) + tag) {
    must_ip({"netns", "add", name});
    fd.reset(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd.valid());
    must_ip({"-n", name, "link", "set", "lo", "up"});
  }
  ~Netns() { ip({"netns", "del", name}); }
  // `ip netns exec NAME nft ARGS...`.
  stack::test::ProgramResult nft(std::vector<std::string> args) const {
    args.insert(args.begin(), {"netns", "exec", name, "nft"});
    return ip(args);
  }
};

bool write_sysctl(int netns_fd, const std::string& key, const std::string& value) {
  return in_netns(netns_fd, [&] {
    UniqueFd f(::open(("/proc/sys/" + key).c_str(), O_WRONLY | O_CLOEXEC));
    return f.valid() && ::write(f.get(), value.data(), value.size()) ==
                            static_cast<ssize_t>(value.size());
  });
}

sockaddr_in v4(const std::string& addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  return sa;
}

// A TCP server in a namespace that answers every connection with "NAME from PEER-ADDRESS".
class NameServer {
 public:
  NameServer(int netns_fd, std::string name, uint16_t port) : name_(std::move(name)) {
    sock_ = in_netns(netns_fd, [&] {
      UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      int one = 1;
      ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in sa = v4("0.0.0.0", port);
      if (::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
          ::listen(s.get(), 16) != 0) {
        s.reset();
      }
      return s;
    });
    REQUIRE(sock_.valid());
    thread_ = std::thread([this] { serve(); });
  }
  ~NameServer() {
    stop_ = true;
    thread_.join();
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{sock_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      UniqueFd c(::accept4(sock_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
      if (!c.valid()) continue;
      char text[INET_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
      std::string reply = name_ + " from " + text;
      (void)!::write(c.get(), reply.data(), reply.size());
    }
  }

  std::string name_;
  UniqueFd sock_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Connects from the namespace to addr:port and returns what the server sent, or "" when the
// connection fails or times out (500 ms: dropped SYNs).
std::string fetch(int netns_fd, const std::string& addr, uint16_t port) {
  return in_netns(netns_fd, [&]() -> std::string {
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_in sa = v4(addr, port);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 &&
        errno != EINPROGRESS) {
      return "";
    }
    std::string got;
    for (;;) {
      pollfd p{s.get(), POLLIN, 0};
      if (::poll(&p, 1, 500) <= 0) return "";
      char buf[256];
      ssize_t n = ::read(s.get(), buf, sizeof buf);
      if (n <= 0) return n == 0 ? got : "";
      got.append(buf, n);
    }
  });
}

// The "host" namespace with bridges, "containers" on them and an "outside" namespace.
struct Lab {
  Netns host{"h"};
  std::vector<std::unique_ptr<Netns>> others;
  int links = 0;

  Lab() { REQUIRE(write_sysctl(host.fd.get(), "net/ipv4/ip_forward", "1")); }

  void bridge(const std::string& name, const std::string& gateway_cidr) {
    must_ip({"-n", host.name, "link", "add", name, "type", "bridge"});
    must_ip({"-n", host.name, "addr", "add", gateway_cidr, "dev", name});
    must_ip({"-n", host.name, "link", "set", name, "up"});
    // Lets DNAT from 127.0.0.1 leave through the bridge (the engine sets it for real bridges).
    REQUIRE(write_sysctl(host.fd.get(), "net/ipv4/conf/" + name + "/route_localnet", "1"));
  }

  // A namespace whose eth0 (address `cidr`, default route via `gateway`) is a veth to the host:
  // attached to `bridge`, or, when bridge is "", an address `host_cidr` on the host's end.
  Netns& peer(const std::string& tag, const std::string& bridge, const std::string& cidr,
              const std::string& gateway, const std::string& host_cidr = "") {
    others.push_back(std::make_unique<Netns>(tag));
    Netns& ns = *others.back();
    std::string veth = "v" + std::to_string(links++);
    must_ip({"-n", host.name, "link", "add", veth, "type", "veth", "peer", "name", "eth0",
             "netns", ns.name});
    if (bridge.empty()) {
      must_ip({"-n", host.name, "addr", "add", host_cidr, "dev", veth});
    } else {
      must_ip({"-n", host.name, "link", "set", veth, "master", bridge});
    }
    must_ip({"-n", host.name, "link", "set", veth, "up"});
    must_ip({"-n", ns.name, "addr", "add", cidr, "dev", "eth0"});
    must_ip({"-n", ns.name, "link", "set", "eth0", "up"});
    must_ip({"-n", ns.name, "route", "add", "default", "via", gateway});
    return ns;
  }

  stack::Status apply(const FirewallSpec& spec) {
    return in_netns(host.fd.get(), [&] { return stack::network::apply(spec); });
  }
  stack::Result<std::string> list(const std::string& table) {
    return in_netns(host.fd.get(), [&] { return list_table(table); });
  }
};

Cidr cidr(const char* text) { return Cidr::parse(text).value(); }
IpAddress addr(const char* text) { return IpAddress::parse(text).value(); }

FirewallSpec spec_with(std::vector<FirewallNetwork> networks, std::vector<PublishedPort> ports) {
  return FirewallSpec{"stack", "stk-", std::move(networks), std::move(ports)};
}

// One network stk-t1 (10.77.1.0/24) with container c1 (10.77.1.2) serving on port 80, published
// on the host's 8080.
struct OneBackendLab : Lab {
  Netns* c1;
  std::unique_ptr<NameServer> server;
  OneBackendLab() {
    bridge("stk-t1", "10.77.1.1/24");
    c1 = &peer("c1", "stk-t1", "10.77.1.2/24", "10.77.1.1");
    server = std::make_unique<NameServer>(c1->fd.get(), "c1", 80);
  }
  static FirewallSpec spec() {
    return spec_with({{"stk-t1", {cidr("10.77.1.0/24")}, false, "t1"}},
                     {{"tcp", std::nullopt, 8080, {{addr("10.77.1.2"), 80}}, "web"},
                      {"tcp", addr("127.0.0.1"), 8081, {{addr("10.77.1.2"), 80}}, "local"}});
  }
};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("firewall table appears in the ruleset and leaves other tables alone") {
  Lab lab;
  auto add = lab.host.nft({"add table ip hostfw; add chain ip hostfw input { type filter hook "
                           "input priority 0; policy accept; }; add rule ip hostfw input tcp "
                           "dport 22 accept"});
  INFO(add.describe());
  REQUIRE(add.exit_code == 0);
  std::string hostfw = lab.host.nft({"list", "table", "ip", "hostfw"}).out;
  REQUIRE(hostfw.find("tcp dport 22 accept") != std::string::npos);

  REQUIRE_OK(lab.apply(OneBackendLab::spec()));
  std::string ruleset = lab.host.nft({"list", "ruleset"}).out;
  CHECK(ruleset.find("table inet stack {") != std::string::npos);
  CHECK(ruleset.find("dnat ip to 10.77.1.2:80") != std::string::npos);
  CHECK(lab.host.nft({"list", "table", "ip", "hostfw"}).out == hostfw);
  auto listed = lab.list("stack");
  REQUIRE_OK(listed);
  CHECK(listed.value().find("chain published {") != std::string::npos);

  // Applying twice replaces rather than appends.
  REQUIRE_OK(lab.apply(OneBackendLab::spec()));
  auto again = lab.list("stack");
  REQUIRE_OK(again);
  CHECK(again.value() == listed.value());

  int fd = lab.host.fd.get();
  REQUIRE_OK(in_netns(fd, [] { return remove_table("stack"); }));
  REQUIRE_OK(in_netns(fd, [] { return remove_table("stack"); }));  // absent: no error
  CHECK(lab.host.nft({"list", "ruleset"}).out.find("inet stack") == std::string::npos);
  CHECK(lab.host.nft({"list", "table", "ip", "hostfw"}).out == hostfw);
  auto gone = lab.list("stack");
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().code == ENOENT);
  CHECK(gone.error().to_string().find("firewall table inet stack") != std::string::npos);
}

TEST_CASE("firewall publishes a port on 127.0.0.1, the bridge address and by hairpin") {
  OneBackendLab lab;
  Netns& c2 = lab.peer("c2", "stk-t1", "10.77.1.3/24", "10.77.1.1");
  int host = lab.host.fd.get();
  CHECK(fetch(host, "127.0.0.1", 8080) == "");
  REQUIRE_OK(lab.apply(OneBackendLab::spec()));

  CHECK(fetch(host, "127.0.0.1", 8080) == "c1 from 10.77.1.1");  // masqueraded from loopback
  CHECK(starts_with(fetch(host, "10.77.1.1", 8080), "c1 from "));
  // Hairpin: c2 reaches its neighbour through the host's address; masqueraded so that c1's
  // answer goes back through the host's DNAT.
  CHECK(fetch(c2.fd.get(), "10.77.1.1", 8080) == "c1 from 10.77.1.1");
  // host_ip 127.0.0.1: only that address.
  CHECK(fetch(host, "127.0.0.1", 8081) == "c1 from 10.77.1.1");
  CHECK(fetch(host, "10.77.1.1", 8081) == "");
}

TEST_CASE("firewall spreads new connections round robin over three backends") {
  Lab lab;
  lab.bridge("stk-t1", "10.77.1.1/24");
  std::vector<std::unique_ptr<NameServer>> servers;
  std::vector<Backend> backends;
  for (int i = 0; i < 3; ++i) {
    std::string a = "10.77.1." + std::to_string(i + 2);
    Netns& ns = lab.peer("r" + std::to_string(i), "stk-t1", a + "/24", "10.77.1.1");
    servers.push_back(std::make_unique<NameServer>(ns.fd.get(), "r" + std::to_string(i), 80));
    backends.push_back({addr(a.c_str()), 80});
  }
  REQUIRE_OK(lab.apply(spec_with({{"stk-t1", {cidr("10.77.1.0/24")}, false, "t1"}},
                                 {{"tcp", std::nullopt, 8080, backends, "web"}})));
  std::map<std::string, int> hits;
  for (int i = 0; i < 9; ++i) {
    std::string got = fetch(lab.host.fd.get(), "127.0.0.1", 8080);
    hits[got.substr(0, got.find(' '))]++;
  }
  CHECK(hits == std::map<std::string, int>{{"r0", 3}, {"r1", 3}, {"r2", 3}});
}

TEST_CASE("firewall isolates networks, masquerades egress and closes internal networks") {
  Lab lab;
  lab.bridge("stk-t1", "10.77.1.1/24");
  lab.bridge("stk-t2", "10.77.2.1/24");
  lab.bridge("stk-t3", "10.77.3.1/24");
  Netns& c1 = lab.peer("c1", "stk-t1", "10.77.1.2/24", "10.77.1.1");
  Netns& c2 = lab.peer("c2", "stk-t2", "10.77.2.2/24", "10.77.2.1");  // internal
  Netns& c3 = lab.peer("c3", "stk-t3", "10.77.3.2/24", "10.77.3.1");
  Netns& out = lab.peer("o", "", "192.0.2.2/24", "192.0.2.1", "192.0.2.1/24");
  // The outside routes back to the networks, so only the firewall can stop the internal one.
  must_ip({"-n", out.name, "route", "add", "10.77.0.0/16", "via", "192.0.2.1"});
  NameServer s1(c1.fd.get(), "c1", 80), s2(c2.fd.get(), "c2", 80), s3(c3.fd.get(), "c3", 80);
  NameServer so(out.fd.get(), "o", 80);

  // Without the firewall everything is routed to everything.
  CHECK(fetch(c1.fd.get(), "10.77.3.2", 80) == "c3 from 10.77.1.2");
  CHECK(fetch(c2.fd.get(), "192.0.2.2", 80) == "o from 10.77.2.2");

  REQUIRE_OK(lab.apply(spec_with({{"stk-t1", {cidr("10.77.1.0/24")}, false, "t1"},
                                  {"stk-t2", {cidr("10.77.2.0/24")}, true, "t2"},
                                  {"stk-t3", {cidr("10.77.3.0/24")}, false, "t3"}},
                                 {})));
  CHECK(fetch(c1.fd.get(), "192.0.2.2", 80) == "o from 192.0.2.1");  // masqueraded egress
  CHECK(fetch(c1.fd.get(), "10.77.3.2", 80) == "");                   // isolation
  CHECK(fetch(c3.fd.get(), "10.77.1.2", 80) == "");
  CHECK(fetch(c1.fd.get(), "10.77.2.2", 80) == "");                   // internal: no ingress
  CHECK(fetch(c2.fd.get(), "192.0.2.2", 80) == "");                   // internal: no egress
  CHECK(fetch(c2.fd.get(), "10.77.1.2", 80) == "");
}

TEST_CASE("firewall apply restores the table after nft flush ruleset") {
  OneBackendLab lab;
  int host = lab.host.fd.get();
  REQUIRE_OK(lab.apply(OneBackendLab::spec()));
  REQUIRE(fetch(host, "127.0.0.1", 8080) == "c1 from 10.77.1.1");
  REQUIRE(lab.host.nft({"flush", "ruleset"}).exit_code == 0);
  CHECK(fetch(host, "127.0.0.1", 8080) == "");
  CHECK(lab.list("stack").error().code == ENOENT);
  REQUIRE_OK(lab.apply(OneBackendLab::spec()));
  CHECK(fetch(host, "127.0.0.1", 8080) == "c1 from 10.77.1.1");
}

TEST_CASE("firewall apply is atomic: a rejected spec leaves the previous table") {
  OneBackendLab lab;
  REQUIRE_OK(lab.apply(OneBackendLab::spec()));
  auto before = lab.list("stack");
  REQUIRE_OK(before);

  FirewallSpec bad = OneBackendLab::spec();
  // Valid characters, but longer than an interface name may be: nft rejects the batch.
  bad.networks.push_back({"stk-waytoolongname0", {cidr("10.77.9.0/24")}, false, "long"});
  bad.ports.push_back({"tcp", std::nullopt, 9090, {{addr("10.77.1.2"), 80}}, "new"});
  auto failed = lab.apply(bad);
  REQUIRE_FALSE(failed.ok());
  std::string message = failed.error().to_string();
  CHECK(message.find("firewall table inet stack: apply: ") != std::string::npos);
  INFO(message);
  CHECK(message.find("stk-waytoolongname0") != std::string::npos);
  CHECK(message.find("apply: line ") != std::string::npos);  // nft quotes the rejected line

  auto after = lab.list("stack");
  REQUIRE_OK(after);
  CHECK(after.value() == before.value());
  CHECK(fetch(lab.host.fd.get(), "127.0.0.1", 8080) == "c1 from 10.77.1.1");
  CHECK(fetch(lab.host.fd.get(), "127.0.0.1", 9090) == "");
}
