// DnsServer over real sockets on 127.0.0.1 with ephemeral ports (never port 53, never a
// non-loopback address). Fake upstreams run in the test; nothing reaches the host's resolver.
#include "stack/network/dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "support/require_ok.h"

using namespace stack;
using namespace stack::network;
using Clock = std::chrono::steady_clock;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

sockaddr_in loopback(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

uint16_t port_of(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

UniqueFd bound(int type) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  sockaddr_in sa = loopback(0);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  if (type == SOCK_STREAM) REQUIRE(::listen(fd.get(), 128) == 0);
  return fd;
}

std::string query(const std::string& name, uint16_t id, uint16_t type = dns::kTypeA) {
  dns::Message m;
  m.id = id;
  m.rd = true;
  m.questions.push_back({name, type, dns::kClassIn});
  return dns::build_message(m);
}

std::set<std::string> a_texts(const dns::Message& m) {
  std::set<std::string> out;
  for (const auto& rr : m.answers) {
    if (rr.type != dns::kTypeA || rr.rdata.size() != 4) continue;
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, rr.rdata.data(), buf, sizeof buf);
    out.insert(buf);
  }
  return out;
}

// How a FakeUpstream behaves.
enum class Mode {
  kAnswer,     // answers 192.0.2.1
  kSilent,     // never reads
  kSpoofFirst, // first a wrong-id answer with 198.51.100.66, then the right one
  kTruncated,  // answers with TC set and no records
};

// A fake upstream resolver: answers every A query with 192.0.2.1 (or as its mode says), over UDP
// and TCP, recording the ids it saw.
class FakeUpstream {
 public:
  explicit FakeUpstream(bool answers) : FakeUpstream(answers ? Mode::kAnswer : Mode::kSilent) {}
  explicit FakeUpstream(Mode mode) : mode_(mode), answers_(mode != Mode::kSilent) {
    udp_ = bound(SOCK_DGRAM);
    tcp_ = bound(SOCK_STREAM);
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    thread_.join();
  }
  DnsUpstream upstream() const { return {ip("127.0.0.1"), port_of(udp_.get())}; }
  DnsUpstream tcp_upstream() const { return {ip("127.0.0.1"), port_of(tcp_.get())}; }
  int queries() const { return queries_; }
  std::vector<uint16_t> ids() {
    std::lock_guard lock(mu_);
    return ids_;
  }

 private:
  std::string answer(std::string_view q) {
    auto m = dns::parse_message(q);
    if (!m) return {};
    {
      std::lock_guard lock(mu_);
      ids_.push_back(m->id);
    }
    ++queries_;
    m->qr = true;
    m->ra = true;
    if (mode_ == Mode::kTruncated) {
      m->tc = true;
      return dns::build_message(*m);
    }
    m->answers.push_back({m->questions[0].name, dns::kTypeA, dns::kClassIn, 60,
                          std::string("\xc0\x00\x02\x01", 4)});
    return dns::build_message(*m);
  }
  void loop() {
    while (!stop_) {
      pollfd fds[2] = {{udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}};
      if (!answers_) {  // silent: never reads, so nothing is ever answered
        ::poll(nullptr, 0, 20);
        continue;
      }
      if (::poll(fds, 2, 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        char buf[4096];
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        ssize_t n = ::recvfrom(udp_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from),
                               &len);
        std::string a = answer(std::string_view(buf, n > 0 ? static_cast<size_t>(n) : 0));
        if (!a.empty() && mode_ == Mode::kSpoofFirst) {
          std::string spoof = a;
          spoof[1] = static_cast<char>(spoof[1] ^ 1);
          spoof.replace(spoof.size() - 4, 4, "\xc6\x33\x64\x42");
          ::sendto(udp_.get(), spoof.data(), spoof.size(), 0, reinterpret_cast<sockaddr*>(&from),
                   len);
        }
        if (!a.empty()) {
          ::sendto(udp_.get(), a.data(), a.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
      if (fds[1].revents & POLLIN) {
        UniqueFd c(::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        unsigned char len[2];
        if (::recv(c.get(), len, 2, MSG_WAITALL) != 2) continue;
        std::string q(static_cast<size_t>(len[0] << 8 | len[1]), '\0');
        if (::recv(c.get(), q.data(), q.size(), MSG_WAITALL) != static_cast<ssize_t>(q.size())) {
          continue;
        }
        std::string a = answer(q);
        std::string framed{static_cast<char>(a.size() >> 8), static_cast<char>(a.size() & 0xff)};
        framed += a;
        ::send(c.get(), framed.data(), framed.size(), MSG_NOSIGNAL);
      }
    }
  }

  Mode mode_;
  bool answers_;
  UniqueFd udp_, tcp_;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::mutex mu_;
  std::vector<uint16_t> ids_;
  std::thread thread_;
};

// A server on its own thread with one listener (view {"front"}) on ephemeral loopback ports.
struct Running {
  std::unique_ptr<DnsServer> server;
  uint16_t udp_port = 0, tcp_port = 0;
  std::thread thread;

  explicit Running(std::vector<DnsUpstream> upstreams) {
    auto s = DnsServer::create(std::move(upstreams));
    REQUIRE_OK(s);
    server = std::move(*s);
    auto t = std::make_shared<DnsTable>();
    t->set_network("front", {{"web", {ip("10.1.0.2"), ip("10.1.0.3")}, false}});
    server->set_table(t);
    UniqueFd udp = bound(SOCK_DGRAM), tcp = bound(SOCK_STREAM);
    udp_port = port_of(udp.get());
    tcp_port = port_of(tcp.get());
    server->add_listener(std::move(udp), std::move(tcp), {"front"});
    thread = std::thread([this] { REQUIRE_OK(server->run()); });
  }
  ~Running() {
    server->stop();
    thread.join();
  }
};

// A connected UDP client socket to the server.
UniqueFd client(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa = loopback(port);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  return fd;
}

// Receives one message within timeout_ms, or "" on timeout.
std::string receive(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return {};
  char buf[65536];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

dns::Message ask_udp(uint16_t port, const std::string& q, int timeout_ms = 4000) {
  UniqueFd fd = client(port);
  REQUIRE(::send(fd.get(), q.data(), q.size(), 0) == static_cast<ssize_t>(q.size()));
  std::string r = receive(fd.get(), timeout_ms);
  REQUIRE_FALSE(r.empty());
  auto m = dns::parse_message(r);
  REQUIRE_OK(m);
  return *m;
}

dns::Message ask_tcp(uint16_t port, const std::string& q) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa = loopback(port);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  std::string framed{static_cast<char>(q.size() >> 8), static_cast<char>(q.size() & 0xff)};
  framed += q;
  REQUIRE(::send(fd.get(), framed.data(), framed.size(), 0) ==
          static_cast<ssize_t>(framed.size()));
  timeval tv{4, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  unsigned char len[2];
  REQUIRE(::recv(fd.get(), len, 2, MSG_WAITALL) == 2);
  std::string r(static_cast<size_t>(len[0] << 8 | len[1]), '\0');
  REQUIRE(::recv(fd.get(), r.data(), r.size(), MSG_WAITALL) == static_cast<ssize_t>(r.size()));
  auto m = dns::parse_message(r);
  REQUIRE_OK(m);
  return *m;
}

}  // namespace

TEST_CASE("local names are answered over UDP and a replaced table is seen at once") {
  Running r({});
  auto m = ask_udp(r.udp_port, query("web", 0x1111));
  CHECK(m.id == 0x1111);
  CHECK(a_texts(m) == std::set<std::string>{"10.1.0.2", "10.1.0.3"});

  auto t = std::make_shared<DnsTable>();
  t->set_network("front", {{"web", {ip("10.1.0.7")}, false}});
  r.server->set_table(t);
  CHECK(a_texts(ask_udp(r.udp_port, query("web", 0x1112))) == std::set<std::string>{"10.1.0.7"});
}

TEST_CASE("unknown names are forwarded with a fresh id and relayed with the client's") {
  FakeUpstream up(true);
  Running r({up.upstream()});
  std::set<uint16_t> seen;
  for (uint16_t id = 1; id <= 5; ++id) {
    auto m = ask_udp(r.udp_port, query("Example.ORG", id));
    CHECK(m.id == id);
    CHECK(m.rcode == dns::kRcodeNoError);
    REQUIRE(m.questions.size() == 1);
    CHECK(m.questions[0].name == "Example.ORG");
    CHECK(a_texts(m) == std::set<std::string>{"192.0.2.1"});
  }
  auto ids = up.ids();
  CHECK(ids.size() == 5);
  // Random upstream ids: not the client's 1..5 in order.
  CHECK(ids != std::vector<uint16_t>{1, 2, 3, 4, 5});
}

TEST_CASE("an upstream answer with the wrong id is ignored, a truncated one relayed") {
  FakeUpstream spoofer(Mode::kSpoofFirst);
  Running r({spoofer.upstream()});
  for (uint16_t id = 1; id <= 20; ++id) {
    auto m = ask_udp(r.udp_port, query("example.org", id));
    CHECK(m.id == id);
    CHECK(a_texts(m) == std::set<std::string>{"192.0.2.1"});
  }
  FakeUpstream truncating(Mode::kTruncated);
  Running t({truncating.upstream()});
  auto m = ask_udp(t.udp_port, query("example.org", 0x4444));
  CHECK(m.id == 0x4444);
  CHECK(m.tc);
  CHECK(m.rcode == dns::kRcodeNoError);
}

TEST_CASE("one silent upstream does not delay the answer of the other") {
  FakeUpstream silent(false), good(true);
  Running r({silent.upstream(), good.upstream()});
  auto start = Clock::now();
  auto m = ask_udp(r.udp_port, query("example.org", 9));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  CHECK(m.rcode == dns::kRcodeNoError);
  CHECK(a_texts(m) == std::set<std::string>{"192.0.2.1"});
  CHECK(ms < 500);
}

TEST_CASE("all upstreams silent gives SERVFAIL after about 2 s, none gives it at once") {
  FakeUpstream a(false), b(false);
  Running r({a.upstream(), b.upstream()});
  auto start = Clock::now();
  auto m = ask_udp(r.udp_port, query("example.org", 0x2222));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  CHECK(m.id == 0x2222);
  CHECK(m.rcode == dns::kRcodeServFail);
  CHECK(ms >= 1900);
  CHECK(ms < 3000);

  Running none({});
  start = Clock::now();
  CHECK(ask_udp(none.udp_port, query("example.org", 3)).rcode == dns::kRcodeServFail);
  CHECK(Clock::now() - start < std::chrono::milliseconds(500));
}

TEST_CASE("TCP queries: local answers and forwarding over TCP") {
  FakeUpstream up(true);
  Running r({up.tcp_upstream()});
  auto local = ask_tcp(r.tcp_port, query("WEB", 0x3333));
  CHECK(local.id == 0x3333);
  CHECK(a_texts(local) == std::set<std::string>{"10.1.0.2", "10.1.0.3"});
  auto fwd = ask_tcp(r.tcp_port, query("example.org", 0x3334));
  CHECK(fwd.id == 0x3334);
  CHECK(a_texts(fwd) == std::set<std::string>{"192.0.2.1"});
  CHECK(up.queries() == 1);
}

TEST_CASE("two pipelined TCP queries on one connection, then half-close, both answered") {
  FakeUpstream up(true);
  Running r({up.tcp_upstream()});
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa = loopback(r.tcp_port);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  std::string both;
  for (auto [name, id] : {std::pair{"example.org", 7}, std::pair{"web", 8}}) {
    std::string q = query(name, static_cast<uint16_t>(id));
    both += std::string{static_cast<char>(q.size() >> 8), static_cast<char>(q.size() & 0xff)};
    both += q;
  }
  REQUIRE(::send(fd.get(), both.data(), both.size(), 0) == static_cast<ssize_t>(both.size()));
  ::shutdown(fd.get(), SHUT_WR);
  timeval tv{4, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::set<uint16_t> ids;
  for (int i = 0; i < 2; ++i) {
    unsigned char len[2];
    REQUIRE(::recv(fd.get(), len, 2, MSG_WAITALL) == 2);
    std::string a(static_cast<size_t>(len[0] << 8 | len[1]), '\0');
    REQUIRE(::recv(fd.get(), a.data(), a.size(), MSG_WAITALL) == static_cast<ssize_t>(a.size()));
    auto m = dns::parse_message(a);
    REQUIRE_OK(m);
    CHECK_FALSE(m->answers.empty());
    ids.insert(m->id);
  }
  CHECK(ids == std::set<uint16_t>{7, 8});
  char c;
  CHECK(::recv(fd.get(), &c, 1, 0) == 0);  // the server closes after the last answer
}

TEST_CASE("a removed listener no longer answers") {
  auto s = DnsServer::create({});
  REQUIRE_OK(s);
  auto& server = *s;
  UniqueFd udp = bound(SOCK_DGRAM);
  uint16_t port = port_of(udp.get());
  auto t = std::make_shared<DnsTable>();
  t->set_network("front", {{"web", {ip("10.1.0.2")}, false}});
  server->set_table(t);
  uint64_t id = server->add_listener(std::move(udp), UniqueFd(), {"front"});
  std::thread loop([&] { REQUIRE_OK(server->run()); });
  CHECK(a_texts(ask_udp(port, query("web", 1))) == std::set<std::string>{"10.1.0.2"});
  server->remove_listener(id);
  ::usleep(100000);  // the removal happens on the loop's thread after its wake-up
  UniqueFd fd = client(port);
  std::string q = query("web", 2);
  ::send(fd.get(), q.data(), q.size(), 0);
  CHECK(receive(fd.get(), 300).empty());
  server->stop();
  loop.join();
}

TEST_CASE("100 concurrent queries are all answered with their own ids") {
  FakeUpstream up(true);
  Running r({up.upstream()});
  UniqueFd fd = client(r.udp_port);
  for (uint16_t id = 1000; id < 1100; ++id) {
    // Half local, half forwarded, all in flight before any answer is read.
    std::string q = query(id % 2 ? "web" : "name" + std::to_string(id) + ".example", id);
    REQUIRE(::send(fd.get(), q.data(), q.size(), 0) == static_cast<ssize_t>(q.size()));
  }
  std::set<uint16_t> ids;
  for (int i = 0; i < 100; ++i) {
    std::string a = receive(fd.get(), 3000);
    REQUIRE_FALSE(a.empty());
    auto m = dns::parse_message(a);
    REQUIRE_OK(m);
    std::string expected = m->id % 2 ? "web" : "name" + std::to_string(m->id) + ".example";
    CHECK(m->questions.at(0).name == expected);
    CHECK_FALSE(m->answers.empty());
    ids.insert(m->id);
  }
  CHECK(ids.size() == 100);
  CHECK(*ids.begin() == 1000);
  CHECK(*ids.rbegin() == 1099);
}

TEST_CASE("busybox nslookup resolves a service name through the server") {
  if (::access("/usr/bin/busybox", X_OK) != 0) {
    WARN("busybox not installed: skipped");
    return;
  }
  Running r({});
  std::string server = "127.0.0.1:" + std::to_string(r.udp_port);
  std::string cmd = "timeout 10 /usr/bin/busybox nslookup -type=a web " + server + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[512];
  while (size_t n = ::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  INFO(out);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(out.find("10.1.0.2") != std::string::npos);
  CHECK(out.find("10.1.0.3") != std::string::npos);
}

TEST_CASE("latency of local A queries (printed, not asserted)") {
  Running r({});
  UniqueFd fd = client(r.udp_port);
  std::vector<double> us;
  us.reserve(10000);
  for (int i = 0; i < 10000; ++i) {
    std::string q = query("web", static_cast<uint16_t>(i));
    auto start = Clock::now();
    ::send(fd.get(), q.data(), q.size(), 0);
    std::string a = receive(fd.get(), 1000);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    REQUIRE_FALSE(a.empty());
  }
  std::sort(us.begin(), us.end());
  std::printf("dns local A latency over 10000 queries: median %.1f us, p99 %.1f us\n",
              us[us.size() / 2], us[us.size() * 99 / 100]);
  CHECK(us.size() == 10000);
}

TEST_CASE("a listener's own upstreams replace the server's for its forwarded queries") {
  FakeUpstream shared(true), own(Mode::kSpoofFirst);
  Running r({shared.upstream()});
  UniqueFd udp = bound(SOCK_DGRAM), tcp = bound(SOCK_STREAM);
  const uint16_t port = port_of(udp.get());
  r.server->add_listener(std::move(udp), std::move(tcp), {"front"}, {own.upstream()});
  auto m = ask_udp(port, query("example.org", 0x7777));
  CHECK(m.id == 0x7777);
  CHECK(a_texts(m) == std::set<std::string>{"192.0.2.1"});
  CHECK(own.ids().size() == 1);
  CHECK(shared.ids().empty());
  // The server's other listener still uses the server's upstreams.
  ask_udp(r.udp_port, query("example.org", 0x7778));
  CHECK(shared.ids().size() == 1);
  CHECK(own.ids().size() == 1);
}
