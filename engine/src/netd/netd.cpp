// stack-netd: the embedded DNS and the firewall's follower for one state root (netd.h).
#include "stack/engine/netd.h"

#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "stack/common/log.h"
#include "stack/common/syscalls.h"
#include "stack/common/unique_fd.h"
#include "stack/network/dns_server.h"
#include "stack/network/netns.h"

namespace stack::engine {

namespace {

using network::IpAddress;

bool runs(const ContainerInfo& c) {
  return c.observed.state == ContainerState::kRunning ||
         c.observed.state == ContainerState::kPaused;
}

std::vector<IpAddress> addresses_of(const EndpointInfo& e) {
  std::vector<IpAddress> out;
  for (const auto* a : {&e.ipv4, &e.ipv6})
    if (!a->empty())
      if (auto ip = IpAddress::parse(*a); ip.ok()) out.push_back(*ip);
  return out;
}

// "service:alias" / "service" → {service, alias}.
std::pair<std::string, std::string> split_link(const std::string& link) {
  size_t colon = link.find(':');
  if (colon == std::string::npos) return {link, link};
  return {link.substr(0, colon), link.substr(colon + 1)};
}

}  // namespace

DnsState dns_state(const std::vector<ContainerInfo>& containers) {
  // Per network and name: the addresses of every running container holding the name, and of
  // those that are healthy or have no healthcheck.
  struct Names {
    std::vector<IpAddress> preferred, running;
    bool reverse = false;
  };
  std::map<std::string, std::map<std::string, Names>> nets;
  for (const auto& c : containers) {
    if (!runs(c)) continue;
    const bool preferred =
        c.observed.health == Health::kNone || c.observed.health == Health::kHealthy;
    for (const auto& e : c.endpoints) {
      auto addrs = addresses_of(e);
      auto& names = nets[e.network];
      auto add = [&](const std::string& name, bool reverse) {
        if (name.empty()) return;
        Names& n = names[name];
        n.running.insert(n.running.end(), addrs.begin(), addrs.end());
        if (preferred) n.preferred.insert(n.preferred.end(), addrs.begin(), addrs.end());
        n.reverse = n.reverse || reverse;
      };
      add(c.observed.name, true);
      add(c.observed.id.substr(0, 12), false);
      for (const auto& a : e.aliases) add(a, false);
    }
  }
  DnsState out;
  for (auto& [net, names] : nets) {
    auto& records = out.networks[net];
    for (auto& [name, n] : names)
      records.push_back({name, n.preferred.empty() ? n.running : n.preferred, n.reverse});
  }
  // Links: per container, its own first network in the view.
  for (const auto& c : containers) {
    if (c.endpoints.empty()) continue;
    std::vector<std::string>& view = out.views[c.observed.id];
    std::vector<network::DnsRecordSet> links;
    auto shared_addresses = [&](const ContainerInfo& target) {
      for (const auto& mine : c.endpoints)
        for (const auto& theirs : target.endpoints)
          if (mine.network == theirs.network) return addresses_of(theirs);
      return std::vector<IpAddress>{};
    };
    for (const auto& link : c.links) {
      auto [service, alias] = split_link(link);
      network::DnsRecordSet set{alias, {}, false};
      for (const auto& t : containers)
        if (runs(t) && t.observed.labels.project == c.observed.labels.project &&
            t.observed.labels.service == service && !t.observed.labels.oneoff) {
          auto a = shared_addresses(t);
          set.addresses.insert(set.addresses.end(), a.begin(), a.end());
        }
      if (!set.addresses.empty()) links.push_back(std::move(set));
    }
    for (const auto& link : c.external_links) {
      auto [name, alias] = split_link(link);
      for (const auto& t : containers)
        if (runs(t) && t.observed.name == name)
          if (auto a = shared_addresses(t); !a.empty()) links.push_back({alias, a, false});
    }
    if (!c.links.empty() || !c.external_links.empty()) {
      // In the view even while no linked container runs, so the view (and with it the
      // listener) stays the same for the container's life.
      const std::string own = "@" + c.observed.id;
      out.networks[own] = std::move(links);
      view.push_back(own);
    }
    for (const auto& e : c.endpoints) view.push_back(e.network);
  }
  return out;
}

namespace {

// UDP and TCP sockets on 127.0.0.11:53 inside the namespace bound at `path`.
Result<std::pair<UniqueFd, UniqueFd>> dns_sockets(const std::string& path) {
  UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return errno_error("opening " + path);
  std::pair<UniqueFd, UniqueFd> out;
  STACK_TRY_VOID(network::run_in_netns(ns.get(), [&]() -> Status {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(53);
    a.sin_addr.s_addr = htonl(0x7f00000b);  // 127.0.0.11
    UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    UniqueFd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!udp || !tcp) return errno_error("socket");
    // Not before the loopback is up: while it is down, binding 127.0.0.11 still succeeds, but
    // the socket then answers from 127.0.0.1, which resolvers that connect their socket drop.
    // The start that brings it up asks for a sync right after.
    ifreq lo{};
    std::strncpy(lo.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(udp.get(), SIOCGIFFLAGS, &lo) != 0) return errno_error("reading lo's flags");
    if (!(lo.ifr_flags & IFF_UP)) return Error(EAGAIN, "the loopback is not up yet");
    int one = 1;
    ::setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(udp.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return errno_error("binding 127.0.0.11:53/udp");
    if (::bind(tcp.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return errno_error("binding 127.0.0.11:53/tcp");
    if (::listen(tcp.get(), 64) != 0) return errno_error("listen 127.0.0.11:53/tcp");
    out = {std::move(udp), std::move(tcp)};
    return {};
  }).wrap("embedded DNS in " + path));
  return out;
}

class Netd {
 public:
  Netd(LocalHost& host, network::DnsServer& server, int inotify_fd)
      : host_(host), server_(server), inotify_(inotify_fd) {}

  // Applies the records. Returns how many containers have a network namespace of their own
  // with endpoints (0: the helper is not needed any more).
  size_t sync() {
    auto infos = host_.containers("");
    if (!infos.ok()) {
      log::warn("netd: " + infos.error().to_string());
      return 1;  // keep serving what we have
    }
    DnsState state = dns_state(*infos);
    auto table = std::make_shared<network::DnsTable>();
    for (const auto& [net, records] : state.networks) table->set_network(net, records);
    server_.set_table(table);

    std::set<std::string> present;
    size_t needed = 0;
    std::string firewall_key;
    for (const auto& c : *infos) {
      watch(host_.root() + "/containers/" + c.observed.id);
      if (c.network_mode != "bridge" || c.endpoints.empty()) continue;
      ++needed;
      if (!c.published.empty() && runs(c))
        firewall_key += c.observed.id + std::string(to_string(c.observed.health)) + ";";
      if (!network::netns_mounted(c.netns)) continue;
      present.insert(c.observed.id);
      const auto& view = state.views[c.observed.id];
      auto it = listeners_.find(c.observed.id);
      if (it != listeners_.end() && it->second.view == view) continue;
      if (it != listeners_.end()) server_.remove_listener(it->second.id);
      auto sockets = dns_sockets(c.netns);
      if (!sockets.ok()) {
        errors_[c.observed.id] = sockets.error().to_string();
        if (sockets.error().code != EAGAIN)
          log::warn("netd: container " + c.observed.name + ": " + sockets.error().to_string());
        continue;
      }
      errors_.erase(c.observed.id);
      // A service's dns: servers are its container's upstreams.
      std::vector<network::DnsUpstream> own;
      for (const auto& server : c.dns) {
        auto parsed = network::parse_dns_upstreams(server);
        if (parsed.ok()) own.insert(own.end(), parsed->begin(), parsed->end());
        else log::warn("netd: container " + c.observed.name + ": dns: " + parsed.error().to_string());
      }
      uint64_t id = server_.add_listener(std::move(sockets->first), std::move(sockets->second),
                                         view, std::move(own));
      listeners_[c.observed.id] = Listener{id, view};
    }
    for (auto it = listeners_.begin(); it != listeners_.end();) {
      if (present.count(it->first)) {
        ++it;
        continue;
      }
      server_.remove_listener(it->second.id);
      it = listeners_.erase(it);
    }
    // Replicas behind published ports that started, stopped, died or changed health.
    if (firewall_key != firewall_key_) {
      if (Status st = host_.sync_firewall(); !st.ok())
        log::warn("netd: " + st.error().to_string());
      else
        firewall_key_ = firewall_key;
    }
    return needed;
  }

  // "ok" when container `id` (or, with "", every container) has its DNS listener, else why not.
  std::string outcome(const std::string& id) const {
    if (id.empty() || listeners_.count(id)) return "ok";
    auto it = errors_.find(id);
    return it != errors_.end() ? it->second : "no DNS listener for container " + id;
  }

 private:
  void watch(const std::string& dir) {
    if (watched_.count(dir)) return;
    int wd = ::inotify_add_watch(inotify_, dir.c_str(),
                                 IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_DELETE_SELF);
    if (wd >= 0) watched_.insert(dir);
  }

  struct Listener {
    uint64_t id;
    std::vector<std::string> view;
  };
  LocalHost& host_;
  network::DnsServer& server_;
  int inotify_;
  std::map<std::string, Listener> listeners_;
  std::set<std::string> watched_;
  std::map<std::string, std::string> errors_;  // container id → why its listener is missing
  std::string firewall_key_ = "-";
};

// True when this process's binary was replaced or removed (an upgrade): the helper then makes
// way for a new one, which the next client starts.
bool binary_replaced() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 10 && std::string_view(buf, static_cast<size_t>(n)).ends_with(" (deleted)");
}

void report_ready(int& fd, const std::string& text) {
  if (fd < 0) return;
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
  fd = -1;
}

}  // namespace

int run_netd(const LocalHostOptions& options, int ready_fd) {
  const std::string lock_path = options.root + "/" + kNetdLock;
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) {
    report_ready(ready_fd, errno_error("opening " + lock_path).to_string());
    return 1;
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    report_ready(ready_fd, "0");  // another helper serves this root
    return 0;
  }
  RealSyscalls sys;
  auto host = LocalHost::open(options, sys);
  if (!host.ok()) {
    report_ready(ready_fd, host.error().to_string());
    return 1;
  }
  auto upstreams = network::host_dns_upstreams();
  if (!upstreams.ok()) log::warn("netd: " + upstreams.error().to_string());
  auto server = network::DnsServer::create(upstreams.ok() ? *upstreams
                                                          : std::vector<network::DnsUpstream>{});
  if (!server.ok()) {
    report_ready(ready_fd, server.error().to_string());
    return 1;
  }
  const std::string sock_path = options.root + "/" + kNetdSocket;
  ::unlink(sock_path.c_str());
  UniqueFd listener(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (sock_path.size() >= sizeof addr.sun_path) {
    report_ready(ready_fd, "netd: socket path too long: " + sock_path);
    return 1;
  }
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  if (!listener || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener.get(), 64) != 0) {
    report_ready(ready_fd, errno_error("netd: listening on " + sock_path).to_string());
    return 1;
  }
  UniqueFd inotify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  const std::string containers = options.root + "/containers";
  ::inotify_add_watch(inotify.get(), containers.c_str(),
                      IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_DELETE_SELF | IN_ONLYDIR);

  std::thread dns([&] {
    if (Status st = (*server)->run(); !st.ok()) log::warn("netd: " + st.error().to_string());
  });
  Netd netd(**host, **server, inotify.get());
  size_t needed = netd.sync();
  report_ready(ready_fd, "0");

  // Clients waiting for the next sync: "sync <container id>" is answered "ok" once that
  // container's DNS listener exists, else with the reason.
  std::vector<std::pair<int, std::string>> waiters;
  bool dirty = false;
  while (needed > 0) {
    pollfd fds[2] = {{listener.get(), POLLIN, 0}, {inotify.get(), POLLIN, 0}};
    // Changes come in bursts (a scale writes many files): apply them 10 ms after the last one,
    // at once when a client waits; look again every 5 s regardless.
    int timeout = dirty ? (waiters.empty() ? 10 : 0) : 5000;
    int n = ::poll(fds, 2, timeout);
    if (n < 0 && errno != EINTR) break;
    if (n > 0 && (fds[0].revents & POLLIN)) {
      if (binary_replaced()) break;  // unanswered clients retry and start the new binary
      while (true) {
        int c = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) break;
        timeval tv{1, 0};
        ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[128];
        ssize_t got = ::recv(c, buf, sizeof buf, 0);
        std::string_view req(buf, got > 0 ? static_cast<size_t>(got) : 0);
        if (req.rfind("sync", 0) == 0) {
          waiters.emplace_back(c, std::string(req.size() > 5 ? req.substr(5) : ""));
        } else if (req == "kick") {
          ::close(c);  // no answer wanted
        } else {
          ::close(c);
          continue;
        }
        dirty = true;
      }
    }
    if (n > 0 && (fds[1].revents & POLLIN)) {
      char buf[4096];
      while (::read(inotify.get(), buf, sizeof buf) > 0) {
      }
      dirty = true;
      continue;  // debounce: wait for the burst to end
    }
    if (n == 0 || !waiters.empty()) {
      needed = netd.sync();
      dirty = false;
      for (const auto& [c, id] : waiters) {
        std::string reply = netd.outcome(id);
        (void)!::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(c);
      }
      waiters.clear();
    }
  }
  // Nothing left to serve. New clients find no socket and start a new helper.
  ::unlink(sock_path.c_str());
  listener.reset();
  (*server)->stop();
  dns.join();
  return 0;
}

}  // namespace stack::engine
