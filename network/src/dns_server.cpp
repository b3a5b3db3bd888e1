// DnsServer: one epoll loop for every listener, TCP client and forwarded query. Per-query state
// lives in the loop (no thread per query), so many queries may be in flight at once.
#include "stack/network/dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <unordered_map>

#include "stack/common/log.h"

namespace stack::network {
namespace {

using Clock = std::chrono::steady_clock;

// Bytes read from one TCP client before its frames are processed: two maximal messages.
constexpr size_t kMaxTcpBuffer = 2 * (65535 + 2);

// epoll tokens: kind in the top byte, an attempt index in the next, the object's id below.
enum Kind : uint64_t { kWake = 1, kUdpListener, kTcpListener, kTcpClient, kUpstream };
uint64_t token(Kind kind, uint64_t id, uint64_t index = 0) {
  return kind << 56 | index << 48 | id;
}

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

uint16_t read16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) << 8 | static_cast<uint8_t>(b[at + 1]));
}

void write16(std::string& b, size_t at, uint16_t v) {
  b[at] = static_cast<char>(v >> 8);
  b[at + 1] = static_cast<char>(v & 0xff);
}

bool same_question(const dns::Question& a, const dns::Question& b) {
  return a.type == b.type && a.qclass == b.qclass && a.name.size() == b.name.size() &&
         ::strncasecmp(a.name.c_str(), b.name.c_str(), a.name.size()) == 0;
}

// recvfrom that also reports the IPv4 address the datagram was sent to (IP_PKTINFO).
ssize_t recv_with_local(int fd, char* buf, size_t size, sockaddr_storage& from,
                        socklen_t& from_len, in_addr& local) {
  iovec iov{buf, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))];
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = from_len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(fd, &msg, 0);
  if (n < 0) return n;
  from_len = msg.msg_namelen;
  local.s_addr = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
      local = reinterpret_cast<in_pktinfo*>(CMSG_DATA(c))->ipi_addr;
  return n;
}

// sendto whose source is `local` when set: an answer always comes from the address the query
// went to, whatever the socket's own source address is.
void send_from(int fd, std::string_view data, const sockaddr_storage& to, socklen_t to_len,
               const in_addr& local) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr_storage*>(&to);
  msg.msg_namelen = to_len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (local.s_addr != 0 && to.ss_family == AF_INET) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    reinterpret_cast<in_pktinfo*>(CMSG_DATA(c))->ipi_spec_dst = local;
  }
  (void)::sendmsg(fd, &msg, MSG_NOSIGNAL);
}

socklen_t to_sockaddr(const DnsUpstream& up, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (up.address.is_v6()) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(up.port);
    Uint128 v = up.address.value();
    for (int i = 0; i < 16; ++i) {
      sa->sin6_addr.s6_addr[i] = static_cast<uint8_t>(v >> (120 - 8 * i));
    }
    return sizeof(sockaddr_in6);
  }
  auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(up.port);
  sa->sin_addr.s_addr = htonl(static_cast<uint32_t>(up.address.value()));
  return sizeof(sockaddr_in);
}

struct Listener {
  UniqueFd udp, tcp;
  std::shared_ptr<const std::vector<std::string>> view;
  std::shared_ptr<const std::vector<DnsUpstream>> upstreams;  // null: the server's
};

struct TcpClient {
  UniqueFd fd;
  std::shared_ptr<const std::vector<std::string>> view;
  std::shared_ptr<const std::vector<DnsUpstream>> upstreams;  // its listener's
  std::string in, out;
  int in_flight = 0;
  bool eof = false;
};

// One upstream try of a forwarded query: its own socket (so its own random source port) and a
// fresh random id; answers are matched on both plus the question.
struct Attempt {
  UniqueFd fd;
  uint16_t id = 0;
  bool connected = false;  // TCP: the connect finished and the query was written
  std::string in;          // TCP: the framed answer so far
};

struct Pending {
  uint16_t client_id = 0;
  dns::Question question;
  std::string query;
  Clock::time_point deadline;
  bool tcp = false;
  uint64_t listener = 0;  // UDP client: the listener whose socket answers it
  sockaddr_storage client{};
  socklen_t client_len = 0;
  in_addr local{};  // UDP: the address the query was sent to (IPv4), which the answer comes from
  uint64_t conn = 0;  // TCP client
  std::vector<Attempt> attempts;
  std::vector<DnsUpstream> upstreams;  // TCP: tried in order
  size_t next_upstream = 0;
};

}  // namespace

struct DnsServer::Impl {
  UniqueFd epoll, wake;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> next_listener{1};
  std::atomic<int64_t> timeout_ms{2000};

  std::mutex mu;  // guards the fields below it up to the loop-only ones
  std::vector<std::function<void()>> ops;
  std::shared_ptr<const DnsTable> table = std::make_shared<DnsTable>();
  std::vector<DnsUpstream> upstreams;

  // Loop-only state.
  std::unordered_map<uint64_t, Listener> listeners;
  std::unordered_map<uint64_t, TcpClient> clients;
  std::unordered_map<uint64_t, Pending> pending;
  std::set<std::pair<Clock::time_point, uint64_t>> deadlines;
  uint64_t next_id = 1;
  uint64_t reading_client = 0;  // the client on_tcp_client works on: finish() must not close it
  std::mt19937_64 rng{static_cast<uint64_t>(::arc4random()) << 32 | ::arc4random()};

  void post(std::function<void()> op) {
    {
      std::lock_guard lock(mu);
      ops.push_back(std::move(op));
    }
    uint64_t one = 1;
    (void)!::write(wake.get(), &one, sizeof one);
  }

  void add(int fd, uint64_t tok, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tok;
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      log::error("dns: epoll_ctl: " + std::string(std::strerror(errno)));
    }
  }
  void modify(int fd, uint64_t tok, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tok;
    ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, fd, &ev);
  }

  std::shared_ptr<const DnsTable> current_table() {
    std::lock_guard lock(mu);
    return table;
  }

  void on_udp_listener(uint64_t id);
  void on_tcp_listener(uint64_t id);
  void on_tcp_client(uint64_t id, uint32_t events);
  void handle_tcp_message(uint64_t id, TcpClient& c, std::string_view msg);
  void flush(uint64_t id, TcpClient& c);
  void watch(uint64_t id, TcpClient& c);
  void maybe_close(uint64_t id, TcpClient& c);
  void forward(Pending p);
  bool start_tcp_attempt(uint64_t qid, Pending& p);
  void on_upstream(uint64_t qid, size_t index, uint32_t events);
  void on_upstream_tcp(uint64_t qid, Pending& p, Attempt& a, uint32_t events);
  bool accept_answer(Pending& p, const Attempt& a, std::string_view answer);
  void finish(uint64_t qid, std::string response);
  void expire();
};

void DnsServer::Impl::on_udp_listener(uint64_t id) {
  auto it = listeners.find(id);
  if (it == listeners.end()) return;
  char buf[65536];
  for (int n = 0; n < 64; ++n) {  // bounded, so one busy container cannot starve the others
    Pending p;
    p.client_len = sizeof p.client;
    ssize_t len = recv_with_local(it->second.udp.get(), buf, sizeof buf, p.client,
                                  p.client_len, p.local);
    if (len < 0) return;
    std::string_view query(buf, static_cast<size_t>(len));
    auto table = current_table();
    DnsAnswer a = answer_query(*table, *it->second.view, query, false, rng);
    if (a.kind == DnsAnswer::Kind::kRespond) {
      send_from(it->second.udp.get(), a.response, p.client, p.client_len, p.local);
    } else if (a.kind == DnsAnswer::Kind::kForward) {
      p.client_id = a.id;
      p.question = std::move(a.question);
      p.query = std::string(query);
      p.listener = id;
      if (it->second.upstreams) p.upstreams = *it->second.upstreams;
      forward(std::move(p));
    }
  }
}

void DnsServer::Impl::on_tcp_listener(uint64_t id) {
  auto it = listeners.find(id);
  if (it == listeners.end()) return;
  for (int n = 0; n < 64; ++n) {
    int fd = ::accept4(it->second.tcp.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    uint64_t cid = next_id++;
    TcpClient& c = clients[cid];
    c.fd.reset(fd);
    c.view = it->second.view;
    c.upstreams = it->second.upstreams;
    add(fd, token(kTcpClient, cid), EPOLLIN | EPOLLRDHUP);
  }
}

void DnsServer::Impl::on_tcp_client(uint64_t id, uint32_t events) {
  auto it = clients.find(id);
  if (it == clients.end()) return;
  TcpClient& c = it->second;
  if (events & (EPOLLERR | EPOLLHUP)) {
    clients.erase(it);
    return;
  }
  reading_client = id;
  if (events & EPOLLOUT) flush(id, c);
  if (events & (EPOLLIN | EPOLLRDHUP)) {
    char buf[16384];
    while (true) {
      ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        if (c.in.size() > kMaxTcpBuffer) break;  // the rest after these frames (level-triggered)
        continue;
      }
      if (n == 0) c.eof = true;
      else if (errno != EAGAIN && errno != EINTR) c.eof = true;
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    size_t pos = 0;
    while (c.in.size() - pos >= 2) {
      size_t len = read16(c.in, pos);
      if (c.in.size() - pos - 2 < len) break;
      handle_tcp_message(id, c, std::string_view(c.in).substr(pos + 2, len));
      pos += 2 + len;
    }
    c.in.erase(0, pos);
    watch(id, c);
  }
  reading_client = 0;
  maybe_close(id, c);
}

void DnsServer::Impl::handle_tcp_message(uint64_t id, TcpClient& c, std::string_view msg) {
  auto table = current_table();
  DnsAnswer a = answer_query(*table, *c.view, msg, true, rng);
  if (a.kind == DnsAnswer::Kind::kRespond) {
    std::string framed(2, '\0');
    write16(framed, 0, static_cast<uint16_t>(a.response.size()));
    c.out += framed + a.response;
    flush(id, c);
  } else if (a.kind == DnsAnswer::Kind::kForward) {
    Pending p;
    p.client_id = a.id;
    p.question = std::move(a.question);
    p.query = std::string(msg);
    p.tcp = true;
    p.conn = id;
    if (c.upstreams) p.upstreams = *c.upstreams;
    ++c.in_flight;
    forward(std::move(p));
  }
}

void DnsServer::Impl::flush(uint64_t id, TcpClient& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      c.out.clear();
      c.eof = true;
      break;
    }
    if (n < 0) break;
    c.out.erase(0, static_cast<size_t>(n));
  }
  watch(id, c);
}

void DnsServer::Impl::watch(uint64_t id, TcpClient& c) {
  // After the peer's EOF, level-triggered EPOLLRDHUP would fire forever: stop reading then.
  uint32_t events = (c.eof ? 0u : uint32_t{EPOLLIN | EPOLLRDHUP}) |
                    (c.out.empty() ? 0u : uint32_t{EPOLLOUT});
  modify(c.fd.get(), token(kTcpClient, id), events);
}

void DnsServer::Impl::maybe_close(uint64_t id, TcpClient& c) {
  if (c.eof && c.in_flight == 0 && c.out.empty()) clients.erase(id);
}

void DnsServer::Impl::forward(Pending p) {
  if (p.upstreams.empty()) {  // no listener's own: the server's
    std::lock_guard lock(mu);
    p.upstreams = upstreams;
  }
  const std::vector<DnsUpstream> ups = p.upstreams;
  uint64_t qid = next_id++;
  p.deadline = Clock::now() + std::chrono::milliseconds(timeout_ms.load());
  auto [it, inserted] = pending.emplace(qid, std::move(p));
  Pending& q = it->second;
  deadlines.emplace(q.deadline, qid);
  if (q.tcp) {
    if (!start_tcp_attempt(qid, q)) finish(qid, error_response(q.query, dns::kRcodeServFail));
    return;
  }
  // UDP: every upstream at once; the first good answer wins.
  for (size_t i = 0; i < ups.size(); ++i) {
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(ups[i], ss);
    UniqueFd fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) continue;
    Attempt a;
    a.id = static_cast<uint16_t>(::arc4random());
    std::string msg = q.query;
    write16(msg, 0, a.id);
    if (::send(fd.get(), msg.data(), msg.size(), 0) < 0) continue;
    add(fd.get(), token(kUpstream, qid, q.attempts.size()), EPOLLIN);
    a.fd = std::move(fd);
    q.attempts.push_back(std::move(a));
  }
  if (q.attempts.empty()) finish(qid, error_response(q.query, dns::kRcodeServFail));
}

bool DnsServer::Impl::start_tcp_attempt(uint64_t qid, Pending& p) {
  while (p.next_upstream < p.upstreams.size()) {
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(p.upstreams[p.next_upstream++], ss);
    UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) continue;
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
      continue;
    }
    Attempt a;
    a.id = static_cast<uint16_t>(::arc4random());
    add(fd.get(), token(kUpstream, qid, p.attempts.size()), EPOLLOUT | EPOLLIN | EPOLLRDHUP);
    a.fd = std::move(fd);
    p.attempts.push_back(std::move(a));
    return true;
  }
  return false;
}

bool DnsServer::Impl::accept_answer(Pending& p, const Attempt& a, std::string_view answer) {
  auto m = dns::parse_message(answer);
  if (!m || !m->qr || m->id != a.id || m->questions.size() != 1 ||
      !same_question(m->questions[0], p.question)) {
    return false;  // not ours (spoofed or stale): keep waiting
  }
  return true;
}

void DnsServer::Impl::on_upstream(uint64_t qid, size_t index, uint32_t events) {
  auto it = pending.find(qid);
  if (it == pending.end() || index >= it->second.attempts.size()) return;
  Pending& p = it->second;
  Attempt& a = p.attempts[index];
  if (!a.fd) return;
  if (p.tcp) {
    on_upstream_tcp(qid, p, a, events);
    return;
  }
  char buf[65536];
  for (int n = 0; n < 16; ++n) {
    ssize_t len = ::recv(a.fd.get(), buf, sizeof buf, 0);
    if (len < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      a.fd.reset();  // e.g. ECONNREFUSED from an ICMP port unreachable
      break;
    }
    std::string_view answer(buf, static_cast<size_t>(len));
    if (!accept_answer(p, a, answer)) continue;
    uint8_t rcode = static_cast<uint8_t>(answer[3]) & 0xf;
    if (rcode == dns::kRcodeServFail || rcode == dns::kRcodeRefused) {
      a.fd.reset();  // a failing upstream: let the others answer
      break;
    }
    std::string out(answer);
    write16(out, 0, p.client_id);
    finish(qid, std::move(out));
    return;
  }
  for (const auto& other : p.attempts) {
    if (other.fd) return;
  }
  finish(qid, error_response(p.query, dns::kRcodeServFail));
}

void DnsServer::Impl::on_upstream_tcp(uint64_t qid, Pending& p, Attempt& a, uint32_t events) {
  bool failed = false;
  if (!a.connected && (events & EPOLLOUT)) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(a.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    std::string msg(2, '\0');
    write16(msg, 0, static_cast<uint16_t>(p.query.size()));
    msg += p.query;
    write16(msg, 2, a.id);
    // A fresh connection's send buffer holds a whole query, so one send suffices.
    if (err != 0 || ::send(a.fd.get(), msg.data(), msg.size(), MSG_NOSIGNAL) !=
                        static_cast<ssize_t>(msg.size())) {
      failed = true;
    } else {
      a.connected = true;
      modify(a.fd.get(), token(kUpstream, qid, p.attempts.size() - 1), EPOLLIN | EPOLLRDHUP);
    }
  }
  if (!failed && a.connected && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
    char buf[16384];
    ssize_t n;
    while ((n = ::read(a.fd.get(), buf, sizeof buf)) > 0) a.in.append(buf, static_cast<size_t>(n));
    if (a.in.size() >= 2 && a.in.size() - 2 >= read16(a.in, 0)) {
      std::string answer = a.in.substr(2, read16(a.in, 0));
      if (accept_answer(p, a, answer)) {
        write16(answer, 0, p.client_id);
        finish(qid, std::move(answer));
        return;
      }
      failed = true;
    } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      failed = true;
    }
  } else if (!a.connected && (events & (EPOLLERR | EPOLLHUP))) {
    failed = true;
  }
  if (!failed) return;
  a.fd.reset();
  if (!start_tcp_attempt(qid, p)) finish(qid, error_response(p.query, dns::kRcodeServFail));
}

void DnsServer::Impl::finish(uint64_t qid, std::string response) {
  auto it = pending.find(qid);
  if (it == pending.end()) return;
  Pending p = std::move(it->second);
  pending.erase(it);
  deadlines.erase({p.deadline, qid});
  if (response.empty()) return;
  if (!p.tcp) {
    auto l = listeners.find(p.listener);
    if (l != listeners.end()) {
      send_from(l->second.udp.get(), response, p.client, p.client_len, p.local);
    }
    return;
  }
  auto c = clients.find(p.conn);
  if (c == clients.end()) return;
  --c->second.in_flight;
  std::string framed(2, '\0');
  write16(framed, 0, static_cast<uint16_t>(response.size()));
  c->second.out += framed + response;
  flush(p.conn, c->second);
  if (p.conn != reading_client) maybe_close(p.conn, c->second);
}

void DnsServer::Impl::expire() {
  auto now = Clock::now();
  while (!deadlines.empty() && deadlines.begin()->first <= now) {
    uint64_t qid = deadlines.begin()->second;
    auto it = pending.find(qid);
    if (it == pending.end()) {
      deadlines.erase(deadlines.begin());
      continue;
    }
    finish(qid, error_response(it->second.query, dns::kRcodeServFail));
  }
}

DnsServer::DnsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DnsServer::~DnsServer() = default;

Result<std::unique_ptr<DnsServer>> DnsServer::create(std::vector<DnsUpstream> upstreams) {
  auto impl = std::make_unique<Impl>();
  impl->epoll.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!impl->epoll) return errno_error("dns server: epoll_create1");
  impl->wake.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!impl->wake) return errno_error("dns server: eventfd");
  impl->add(impl->wake.get(), token(kWake, 0), EPOLLIN);
  impl->upstreams = std::move(upstreams);
  return std::unique_ptr<DnsServer>(new DnsServer(std::move(impl)));
}

uint64_t DnsServer::add_listener(UniqueFd udp, UniqueFd tcp, std::vector<std::string> view,
                                 std::vector<DnsUpstream> upstreams) {
  uint64_t id = impl_->next_listener++;
  std::shared_ptr<const std::vector<DnsUpstream>> shared_ups;
  if (!upstreams.empty())
    shared_ups = std::make_shared<const std::vector<DnsUpstream>>(std::move(upstreams));
  auto shared_udp = std::make_shared<UniqueFd>(std::move(udp));
  auto shared_tcp = std::make_shared<UniqueFd>(std::move(tcp));
  auto shared_view = std::make_shared<const std::vector<std::string>>(std::move(view));
  Impl* impl = impl_.get();
  impl_->post([impl, id, shared_udp, shared_tcp, shared_view, shared_ups] {
    Listener& l = impl->listeners[id];
    l.upstreams = shared_ups;
    l.udp = std::move(*shared_udp);
    l.tcp = std::move(*shared_tcp);
    l.view = shared_view;
    if (l.udp) {
      set_nonblocking(l.udp.get());
      int one = 1;  // learn each query's destination address (send_from answers from it)
      ::setsockopt(l.udp.get(), IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
      impl->add(l.udp.get(), token(kUdpListener, id), EPOLLIN);
    }
    if (l.tcp) {
      set_nonblocking(l.tcp.get());
      impl->add(l.tcp.get(), token(kTcpListener, id), EPOLLIN);
    }
  });
  return id;
}

void DnsServer::remove_listener(uint64_t id) {
  Impl* impl = impl_.get();
  impl_->post([impl, id] { impl->listeners.erase(id); });
}

void DnsServer::set_table(std::shared_ptr<const DnsTable> table) {
  std::lock_guard lock(impl_->mu);
  impl_->table = std::move(table);
}

void DnsServer::set_upstreams(std::vector<DnsUpstream> upstreams) {
  std::lock_guard lock(impl_->mu);
  impl_->upstreams = std::move(upstreams);
}

void DnsServer::set_upstream_timeout(std::chrono::milliseconds timeout) {
  impl_->timeout_ms = timeout.count();
}

void DnsServer::stop() {
  impl_->stopping = true;
  uint64_t one = 1;
  (void)!::write(impl_->wake.get(), &one, sizeof one);
}

Status DnsServer::run() {
  Impl& s = *impl_;
  epoll_event events[64];
  while (!s.stopping) {
    int timeout = -1;
    if (!s.deadlines.empty()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(s.deadlines.begin()->first -
                                                               Clock::now());
      timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    int n = ::epoll_wait(s.epoll.get(), events, 64, timeout);
    if (n < 0 && errno != EINTR) return errno_error("dns server: epoll_wait");
    for (int i = 0; i < n; ++i) {
      uint64_t tok = events[i].data.u64;
      uint64_t id = tok & ((uint64_t{1} << 48) - 1);
      auto index = static_cast<size_t>((tok >> 48) & 0xff);
      switch (static_cast<Kind>(tok >> 56)) {
        case kWake: {
          uint64_t count;
          (void)!::read(s.wake.get(), &count, sizeof count);
          std::vector<std::function<void()>> ops;
          {
            std::lock_guard lock(s.mu);
            ops.swap(s.ops);
          }
          for (auto& op : ops) op();
          break;
        }
        case kUdpListener: s.on_udp_listener(id); break;
        case kTcpListener: s.on_tcp_listener(id); break;
        case kTcpClient: s.on_tcp_client(id, events[i].events); break;
        case kUpstream: s.on_upstream(id, index, events[i].events); break;
      }
    }
    s.expire();
  }
  return {};
}

}  // namespace stack::network
