// LocalHost endpoints: a container's network mode, addresses and published ports (chosen at
// create, recorded in container.json), its namespace, veths and routes (made at start, again
// after a reboot), and their release at remove (local_impl.h).
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "local_impl.h"
#include "stack/common/atomic_file.h"
#include "stack/common/log.h"
#include "stack/network/netlink.h"
#include "stack/network/netns.h"

namespace stack::engine {

namespace {

using network::Family;
using network::IpAddress;

constexpr const char* kPortClaimFile = "ports.claim";

bool is_join_mode(const std::string& mode) {
  return mode.rfind("container:", 0) == 0 || mode.rfind("service:", 0) == 0;
}

// Docker's MAC for an IPv4 endpoint: 02:42 and the four address bytes.
std::string mac_for(const IpAddress& v4) {
  uint32_t a = static_cast<uint32_t>(v4.value());
  char buf[18];
  std::snprintf(buf, sizeof buf, "02:42:%02x:%02x:%02x:%02x", (a >> 24) & 255, (a >> 16) & 255,
                (a >> 8) & 255, a & 255);
  return buf;
}

// Whether nothing on the host holds ip:port (a listener, or a bound UDP socket). The socket is
// closed at once: published ports are DNAT rules, not sockets.
bool port_free(const IpAddress& ip, uint16_t port, bool udp) {
  int fd = ::socket(ip.is_v6() ? AF_INET6 : AF_INET,
                    (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  if (!udp) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (ip.is_v6()) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    network::Uint128 v = ip.value();
    for (int i = 15; i >= 0; --i, v >>= 8) a.sin6_addr.s6_addr[i] = static_cast<uint8_t>(v & 255);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(static_cast<uint32_t>(ip.value()));
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  int err = errno;
  ::close(fd);
  return rc == 0 || err != EADDRINUSE;
}

// "8080" or "8080-8090" → [first, last]; "" → the kernel's ephemeral range.
Result<std::pair<uint16_t, uint16_t>> port_range(const std::string& published) {
  auto number = [&](const std::string& t) -> Result<uint16_t> {
    char* end = nullptr;
    unsigned long v = std::strtoul(t.c_str(), &end, 10);
    if (t.empty() || *end || v == 0 || v > 65535)
      return Error(EINVAL, "invalid published port \"" + published + "\"");
    return static_cast<uint16_t>(v);
  };
  if (published.empty()) {
    unsigned lo = 32768, hi = 60999;
    if (auto text = read_file("/proc/sys/net/ipv4/ip_local_port_range"); text.ok())
      std::sscanf(text->c_str(), "%u %u", &lo, &hi);
    return std::pair<uint16_t, uint16_t>(static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
  }
  size_t dash = published.find('-');
  STACK_TRY(uint16_t first, number(published.substr(0, dash)));
  uint16_t last = first;
  if (dash != std::string::npos) {
    STACK_TRY(last, number(published.substr(dash + 1)));
  }
  if (last < first) return Error(EINVAL, "invalid published port range \"" + published + "\"");
  return std::pair(first, last);
}

struct Holder {
  std::string project, service, container;
};
using PortKey = std::tuple<std::string, std::string, uint16_t>;  // protocol, host ip, port

nlohmann::json claim_json(const std::vector<PublishedPort>& ports, const std::string& project,
                          const std::string& service, const std::string& name) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : ports)
    list.push_back({{"host_ip", p.host_ip}, {"host_port", p.host_port}, {"protocol", p.protocol}});
  return {{"project", project}, {"service", service}, {"name", name}, {"ports", list}};
}

}  // namespace

Status LocalHost::Impl::allocate_endpoints(const ContainerRequest& req, const std::string& id,
                                           const std::string& dir,
                                           local::ContainerRecord& rec) {
  const compose::Service& svc = req.service;
  const std::string& mode = svc.network_mode;
  rec.endpoints.clear();
  rec.published.clear();
  if (mode == "host") {
    rec.network_mode = "host";
    rec.netns.clear();
    return {};  // Docker ignores published ports with the host's network
  }
  if (is_join_mode(mode)) {
    if (!svc.ports.empty())
      return Error(EINVAL, "conflicting options: port publishing and network_mode \"" + mode +
                               "\"");
    const size_t colon = mode.find(':');
    const std::string target = mode.substr(colon + 1);
    std::string target_id;
    if (mode.rfind("service:", 0) == 0) {
      // The lowest-numbered replica of the service, preferring one that runs.
      int best = -1;
      for (const auto& l : load_all(req.project)) {
        if (l.record.labels.count(std::string(kLabelService)) == 0 ||
            l.record.labels.at(std::string(kLabelService)) != target)
          continue;
        ObservedContainer o = observed(l, "local");
        if (o.labels.oneoff) continue;
        int score = (o.state == ContainerState::kRunning ? 0 : 100000) + o.labels.number;
        if (best < 0 || score < best) {
          best = score;
          target_id = l.record.id;
        }
      }
      if (target_id.empty())
        return Error(ENOENT, "network_mode \"" + mode + "\": service " + target +
                                 " has no container");
    } else {
      STACK_TRY(target_id, find_id(target).wrap("network_mode \"" + mode + "\""));
    }
    STACK_TRY(auto t, load(target_id));
    if (t.record.netns.empty()) {
      rec.network_mode = "host";  // joining a container that uses the host's network
      return {};
    }
    rec.network_mode = "container:" + target_id;
    rec.netns = t.record.netns;
    return {};
  }
  rec.netns = netns_dir + "/" + id;
  if (mode == "none") {
    rec.network_mode = "none";
    return {};
  }
  if (!mode.empty() && mode != "bridge" && mode != "default")
    return Error(EINVAL, "network_mode \"" + mode + "\": unknown mode");
  rec.network_mode = "bridge";
  rec.links = svc.links;
  rec.external_links = svc.external_links;
  rec.dns = svc.dns;

  // The service's networks by priority (highest first), then name: the first one carries the
  // default route.
  std::vector<std::pair<std::string, compose::ServiceNetwork>> nets;
  for (const auto& [key, sn] : svc.networks) nets.emplace_back(key, sn.value_or(compose::ServiceNetwork{}));
  std::stable_sort(nets.begin(), nets.end(), [](const auto& a, const auto& b) {
    return a.second.priority > b.second.priority;
  });
  if (nets.size() > 36) return Error(EINVAL, "a container can join at most 36 networks");
  for (size_t i = 0; i < nets.size(); ++i) {
    const auto& [key, sn] = nets[i];
    auto name_it = req.network_names.find(key);
    const std::string name = name_it == req.network_names.end() ? key : name_it->second;
    auto nrec = load_network(name);
    if (!nrec.ok()) {
      const auto& ext = req.external_networks;
      if (nrec.error().code == ENOENT && std::find(ext.begin(), ext.end(), name) != ext.end())
        return Error(ENOENT, "network " + name + " declared as external, but could not be found");
      return std::move(nrec).error();
    }
    local::Endpoint e;
    e.info.network = name;
    e.ifname = "eth" + std::to_string(i);
    e.host_ifname = "stv" + id.substr(0, 10) + "0123456789abcdefghijklmnopqrstuvwxyz"[i];
    STACK_TRY(auto state, ipam.get(name).wrap("network " + name));
    // Recorded before allocating, so that a failure releases what was taken.
    rec.endpoints.push_back(e);
    local::Endpoint& ep = rec.endpoints.back();
    if (const auto* s4 = state.find(Family::kV4)) {
      std::optional<IpAddress> want;
      if (!sn.ipv4_address.empty()) {
        STACK_TRY(want, IpAddress::parse(sn.ipv4_address).wrap("ipv4_address"));
      }
      STACK_TRY(auto ip, ipam.allocate(name, id, Family::kV4, want));
      ep.info.ipv4 = ip.to_string();
      ep.info.ipv4_prefix = s4->subnet.prefix_len();
      ep.info.gateway4 = s4->gateway.to_string();
      ep.info.mac = mac_for(ip);
    }
    if (const auto* s6 = state.find(Family::kV6)) {
      std::optional<IpAddress> want;
      if (!sn.ipv6_address.empty()) {
        STACK_TRY(want, IpAddress::parse(sn.ipv6_address).wrap("ipv6_address"));
      }
      STACK_TRY(auto ip, ipam.allocate(name, id, Family::kV6, want));
      ep.info.ipv6 = ip.to_string();
      ep.info.ipv6_prefix = s6->subnet.prefix_len();
      ep.info.gateway6 = s6->gateway.to_string();
    } else if (!sn.ipv6_address.empty()) {
      return Error(EINVAL, "ipv6_address " + sn.ipv6_address + ": network " + name +
                               " has no IPv6 subnet (enable_ipv6)");
    }
    if (!sn.mac_address.empty()) ep.info.mac = sn.mac_address;
    else if (i == 0 && !svc.mac_address.empty()) ep.info.mac = svc.mac_address;
    ep.info.aliases.push_back(svc.name);
    if (!svc.hostname.empty()) ep.info.aliases.push_back(svc.hostname);
    for (const auto& a : sn.aliases)
      if (std::find(ep.info.aliases.begin(), ep.info.aliases.end(), a) == ep.info.aliases.end())
        ep.info.aliases.push_back(a);
  }
  if (svc.ports.empty()) return {};

  // Published ports. Every container's choice is visible to the others under the networks
  // lock: its record, or the claim file a create in progress writes before it unlocks.
  STACK_TRY(auto lock, lock_networks());
  std::map<PortKey, Holder> held;
  for (const auto& other : local::list_dir(containers_dir)) {
    if (other == id) continue;
    auto add = [&](const std::string& ip, uint16_t port, const std::string& proto,
                   const Holder& h) { held[{proto, ip, port}] = h; };
    if (has_record(other)) {
      auto l = load(other);
      if (!l.ok()) continue;
      auto& labels = l->record.labels;
      Holder h{labels[std::string(kLabelProject)], labels[std::string(kLabelService)],
               l->record.name};
      for (const auto& p : l->record.published) add(p.host_ip, p.host_port, p.protocol, h);
    } else if (auto text = read_file(dir_of(other) + "/" + kPortClaimFile); text.ok()) {
      auto j = nlohmann::json::parse(*text, nullptr, false);
      if (!j.is_object()) continue;
      Holder h{j.value("project", ""), j.value("service", ""), j.value("name", "")};
      for (const auto& p : j.value("ports", nlohmann::json::array()))
        add(p.value("host_ip", ""), p.value("host_port", uint16_t{0}), p.value("protocol", ""), h);
    }
  }
  const bool has_v6 = std::any_of(rec.endpoints.begin(), rec.endpoints.end(),
                                  [](const local::Endpoint& e) { return !e.info.ipv6.empty(); });
  std::set<PortKey> mine;
  for (const auto& p : svc.ports) {
    const std::string proto = p.protocol.empty() ? "tcp" : p.protocol;
    if (proto != "tcp" && proto != "udp")
      return Error(ENOTSUP, "port " + std::to_string(p.target) + "/" + proto +
                                ": only tcp and udp ports can be published");
    if (p.target == 0 || p.target > 65535)
      return Error(EINVAL, "invalid target port " + std::to_string(p.target));
    std::vector<IpAddress> ips;
    if (p.host_ip.empty()) {
      ips.push_back(IpAddress::v4(0));
      if (has_v6) ips.push_back(IpAddress::v6(0));
    } else {
      STACK_TRY(auto ip, IpAddress::parse(p.host_ip).wrap("port " + std::to_string(p.target)));
      if (ip.is_v6() && !has_v6)
        return Error(EINVAL, "port " + p.host_ip + ":" + p.published + ":" +
                                 std::to_string(p.target) + ": the container has no IPv6 "
                                 "address (enable_ipv6 on its network)");
      ips.push_back(ip);
    }
    STACK_TRY(auto range, port_range(p.published).wrap("port " + std::to_string(p.target)));
    const bool single = !p.published.empty() && range.first == range.second;
    const std::string service = svc.name;
    std::optional<uint16_t> chosen;
    std::string why;
    for (uint32_t port = range.first; port <= range.second && !chosen; ++port) {
      bool ok = true;
      for (const auto& ip : ips) {
        PortKey key{proto, ip.to_string(), static_cast<uint16_t>(port)};
        if (mine.count(key)) {
          ok = false;
          why = "used twice by this container";
          break;
        }
        auto h = held.find(key);
        // Replicas of one service share a single published port: new connections are spread
        // over them. A range gives each replica its own port.
        if (h != held.end() && (!single || h->second.project != req.project ||
                                h->second.service != service)) {
          ok = false;
          why = "in use by container " + h->second.container;
          break;
        }
        if (h == held.end() && !port_free(ip, static_cast<uint16_t>(port), proto == "udp")) {
          ok = false;
          why = "in use by another process";
          break;
        }
      }
      if (ok) chosen = static_cast<uint16_t>(port);
    }
    if (!chosen) {
      std::string shown = (p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" +
                          (p.published.empty() ? "(any)" : p.published);
      return Error(EADDRINUSE, "Bind for " + shown + " failed: port is already allocated (" +
                                   why + ")");
    }
    for (const auto& ip : ips) {
      mine.insert({proto, ip.to_string(), *chosen});
      rec.published.push_back(PublishedPort{ip.to_string(), *chosen, p.target, proto});
    }
  }
  return write_file_atomic(dir + "/" + kPortClaimFile,
                           claim_json(rec.published, req.project, svc.name, req.name).dump(),
                           0600, Durability::kNoSync);
}

Status LocalHost::Impl::attach_endpoints(const local::ContainerRecord& rec) {
  auto fail = [&](Error e) { return std::move(e).wrap("container " + rec.name + ": network"); };
  if (rec.netns.empty()) return {};
  if (rec.network_mode.rfind("container:", 0) == 0) {
    if (!network::netns_mounted(rec.netns))
      return fail(Error(ENOENT, "the network namespace of container " +
                                    rec.network_mode.substr(10, 12) +
                                    " is gone; start that container first"));
    return {};
  }
  if (!network::netns_mounted(rec.netns))
    if (Status st = network::create_netns(rec.netns); !st.ok()) return fail(st.error());
  UniqueFd ns(::open(rec.netns.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return fail(errno_error("opening " + rec.netns));
  STACK_TRY(auto inner, network::Netlink::open_in(ns.get()));
  if (Status st = inner.set_up("lo"); !st.ok()) return fail(st.error());
  if (rec.endpoints.empty()) return {};

  STACK_TRY(auto lock, lock_networks());
  STACK_TRY(auto host, network::Netlink::open());
  bool routed = false;
  for (const auto& e : rec.endpoints) {
    STACK_TRY(auto nrec, load_network(e.info.network).wrap("container " + rec.name));
    STACK_TRY_VOID(ensure_bridge(nrec));
    const std::string v4 = e.info.ipv4.empty()
                               ? ""
                               : e.info.ipv4 + "/" + std::to_string(e.info.ipv4_prefix);
    const std::string v6 = e.info.ipv6.empty()
                               ? ""
                               : e.info.ipv6 + "/" + std::to_string(e.info.ipv6_prefix);
    bool attached = false;
    if (host.link_index(e.host_ifname).ok()) {
      // Made by an earlier start: keep it when the inside end still has its address.
      auto have = inner.addresses(e.ifname);
      attached = have.ok() && (v4.empty() || std::find(have->begin(), have->end(), v4) !=
                                                 have->end());
      if (!attached) (void)host.delete_link(e.host_ifname, network::IfMissing::kOk);
    }
    if (!attached) {
      (void)inner.delete_link(e.ifname, network::IfMissing::kOk);
      Status st = host.create_veth(e.host_ifname, e.ifname, nrec.mtu, ns.get());
      if (st.ok()) st = host.set_master(e.host_ifname, nrec.bridge);
      // Hairpin: a container may reach a published port of its own through the host.
      if (st.ok()) st = host.set_hairpin(e.host_ifname, true);
      if (st.ok()) st = host.set_up(e.host_ifname);
      if (st.ok() && !e.info.mac.empty()) st = inner.set_mac(e.ifname, e.info.mac);
      if (st.ok() && !v4.empty()) st = inner.add_address(e.ifname, v4);
      if (st.ok() && !v6.empty()) st = inner.add_address(e.ifname, v6);
      if (st.ok()) st = inner.set_up(e.ifname);
      if (!st.ok()) {
        (void)host.delete_link(e.host_ifname, network::IfMissing::kOk);
        return fail(st.error());
      }
    }
    // The default route goes through the first network that is not internal.
    if (!routed && !nrec.internal) {
      routed = true;
      for (const auto& [dest, gw] : {std::pair{std::string("0.0.0.0/0"), e.info.gateway4},
                                     std::pair{std::string("::/0"), e.info.gateway6}}) {
        if (gw.empty()) continue;
        if (Status st = inner.add_route(dest, gw, e.ifname); !st.ok() && st.error().code != EEXIST)
          return fail(st.error());
      }
    }
  }
  return {};
}

Status LocalHost::Impl::release_endpoints(const local::ContainerRecord& rec) const {
  std::vector<std::string> errors;
  const bool own = rec.network_mode == "bridge" || rec.network_mode == "none";
  if (own && !rec.endpoints.empty()) {
    // Deleting the host end takes the pair down at once (the namespace's cleanup is
    // asynchronous).
    auto host = network::Netlink::open();
    for (const auto& e : rec.endpoints) {
      if (!host.ok()) break;
      if (Status st = host->delete_link(e.host_ifname, network::IfMissing::kOk); !st.ok())
        errors.push_back(st.error().to_string());
    }
  }
  if (own && !rec.netns.empty())
    if (Status st = network::remove_netns(rec.netns); !st.ok())
      errors.push_back(st.error().to_string());
  for (const auto& e : rec.endpoints) {
    Status st = ipam.release(e.info.network, rec.id);
    if (!st.ok() && st.error().code != ENOENT) errors.push_back(st.error().to_string());
  }
  return local::all_errors(errors, "container " + rec.name + ": releasing its network");
}

}  // namespace stack::engine
