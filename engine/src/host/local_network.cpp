// LocalHost networks: bridge networks (records, IPAM, the bridge and its sysctls) and the
// firewall table rebuilt from the records (local_impl.h).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "local_impl.h"
#include "stack/common/atomic_file.h"
#include "stack/common/log.h"
#include "stack/engine/netd.h"
#include "stack/network/firewall.h"
#include "stack/network/netlink.h"
#include "stack/network/netns.h"

namespace stack::engine {

namespace {

constexpr const char* kBridgePrefix = "stk-";
constexpr const char* kOptBridgeName = "com.docker.network.bridge.name";
constexpr const char* kOptMtu = "com.docker.network.driver.mtu";

std::string record_path(const std::string& dir, const std::string& name) {
  return dir + "/" + name + ".json";
}

// Docker's network name rule ([a-zA-Z0-9][a-zA-Z0-9_.-]*), which also keeps names usable as
// file names.
Status check_network_name(const std::string& name) {
  bool ok = !name.empty() && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  if (!ok)
    return Error(EINVAL, "invalid network name \"" + name +
                             "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  return {};
}

// ipam.config as IPAM takes it; errors name the field.
Result<std::vector<network::IpamConfig>> ipam_configs(const std::vector<compose::IpamPool>& pools) {
  std::vector<network::IpamConfig> out;
  for (const auto& p : pools) {
    network::IpamConfig c;
    if (p.subnet.empty()) return Error(EINVAL, "ipam.config: subnet is required");
    STACK_TRY(c.subnet, network::Cidr::parse(p.subnet).wrap("ipam.config.subnet"));
    if (!p.ip_range.empty()) {
      STACK_TRY(c.ip_range, network::Cidr::parse(p.ip_range).wrap("ipam.config.ip_range"));
    }
    if (!p.gateway.empty()) {
      STACK_TRY(c.gateway, network::IpAddress::parse(p.gateway).wrap("ipam.config.gateway"));
    }
    for (const auto& [k, v] : p.aux_addresses) {
      STACK_TRY(c.aux_addresses[k],
                network::IpAddress::parse(v).wrap("ipam.config.aux_addresses." + k));
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<network::SubnetSources> subnet_sources() {
  network::SubnetSources s;
  std::string seed = read_file("/etc/machine-id").value_or("stack");
  s.pools_v6 = network::default_pools_v6(seed);
  STACK_TRY(s.host_routes, network::host_routes());
  STACK_TRY(s.nameservers, network::resolv_conf_nameservers());
  return s;
}

}  // namespace

Result<UniqueFd> LocalHost::Impl::lock_networks() const {
  std::string path = networks_dir + "/.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return errno_error("opening " + path);
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return errno_error("locking " + path);
  return fd;
}

Result<local::NetworkRecord> LocalHost::Impl::load_network(const std::string& name) const {
  const std::string path = record_path(networks_dir, name);
  auto text = read_file(path);
  if (!text.ok()) {
    if (text.error().code == ENOENT) return Error(ENOENT, "network " + name + " not found");
    return std::move(text).error();
  }
  return local::parse_network_record(*text, path);
}

std::vector<local::NetworkRecord> LocalHost::Impl::load_networks() const {
  std::vector<local::NetworkRecord> out;
  for (const auto& file : local::list_dir(networks_dir)) {
    if (!file.ends_with(".json")) continue;
    auto r = load_network(file.substr(0, file.size() - 5));
    if (!r.ok()) {
      log::warn(r.error().to_string());
      continue;
    }
    out.push_back(std::move(*r));
  }
  return out;
}

std::string LocalHost::Impl::firewall_table() const {
  if (options.root == "/var/lib/stack") return "stack";
  // FNV-1a of the root: stable across runs and builds, so each state root keeps its table.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : options.root) h = (h ^ c) * 1099511628211ull;
  char buf[24];
  std::snprintf(buf, sizeof buf, "stack_%08x", static_cast<unsigned>(h ^ (h >> 32)));
  return buf;
}

Status LocalHost::Impl::ensure_bridge(const local::NetworkRecord& record) {
  auto fail = [&](Error e) { return std::move(e).wrap("network " + record.name); };
  STACK_TRY(auto state, ipam.get(record.name).wrap("network " + record.name));
  STACK_TRY(auto nl, network::Netlink::open());
  auto index = nl.link_index(record.bridge);
  if (!index.ok()) {
    if (index.error().code != ENODEV) return fail(index.error());
    if (Status st = nl.create_bridge(record.bridge, record.mtu); !st.ok()) return fail(st.error());
  }
  STACK_TRY(auto have, nl.addresses(record.bridge).wrap("network " + record.name));
  for (const auto& subnet : state.subnets) {
    std::string address =
        subnet.gateway.to_string() + "/" + std::to_string(subnet.subnet.prefix_len());
    if (std::find(have.begin(), have.end(), address) != have.end()) continue;
    if (Status st = nl.add_address(record.bridge, address); !st.ok() && st.error().code != EEXIST)
      return fail(st.error());
  }
  if (Status st = nl.set_up(record.bridge); !st.ok()) return fail(st.error());
  // Published ports answer on 127.0.0.1 too: the DNATed packets keep their loopback source
  // on the way to the bridge, which the kernel only routes with route_localnet.
  STACK_TRY_VOID(network::write_sysctl("net.ipv4.conf." + record.bridge + ".route_localnet", "1")
                     .wrap("network " + record.name));
  STACK_TRY_VOID(network::write_sysctl("net.ipv4.ip_forward", "1").wrap("network " + record.name));
  if (state.find(network::Family::kV6))
    STACK_TRY_VOID(network::write_sysctl("net.ipv6.conf.all.forwarding", "1")
                       .wrap("network " + record.name));
  return {};
}

Status LocalHost::create_network(const std::string& name, const compose::Network& config,
                                 const compose::Mapping& labels) {
  auto fail = [&](Error e) { return std::move(e).wrap("network " + name); };
  STACK_TRY_VOID(check_network_name(name));
  STACK_TRY(auto lock, impl_->lock_networks());
  if (auto existing = impl_->load_network(name); existing.ok()) {
    STACK_TRY_VOID(impl_->ensure_bridge(*existing));
    return impl_->sync_firewall_locked();
  }
  const std::string driver = config.driver.empty() ? "bridge" : config.driver;
  if (driver != "bridge")
    return fail(Error(ENOTSUP, "driver \"" + driver + "\" is not supported (only bridge)"));
  if (config.ipam && !config.ipam->driver.empty() && config.ipam->driver != "default")
    return fail(Error(ENOTSUP, "ipam driver \"" + config.ipam->driver + "\" is not supported"));
  if (config.enable_ipv4 && !*config.enable_ipv4)
    return fail(Error(ENOTSUP, "enable_ipv4: false (IPv6-only networks) is not supported"));

  local::NetworkRecord r;
  r.name = name;
  r.id = local::random_hex(32);
  r.created = rfc3339_nano_now();
  r.labels = labels;
  r.options = config.driver_opts;
  r.internal = config.internal;
  r.attachable = config.attachable;
  r.enable_ipv6 = config.enable_ipv6.value_or(false);
  if (config.ipam) {
    r.ipam_config = config.ipam->config;
    if (!config.ipam->driver.empty()) r.ipam_driver = config.ipam->driver;
  }
  if (auto it = r.options.find(kOptMtu); it != r.options.end()) {
    char* end = nullptr;
    unsigned long mtu = std::strtoul(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end || mtu < 68 || mtu > 65535)
      return fail(Error(EINVAL, std::string(kOptMtu) + ": invalid MTU \"" + it->second + "\""));
    r.mtu = static_cast<unsigned>(mtu);
  }
  r.bridge = kBridgePrefix + r.id.substr(0, 11);
  if (auto it = r.options.find(kOptBridgeName); it != r.options.end()) {
    // Isolation between networks matches stack's bridges by their prefix.
    if (it->second.rfind(kBridgePrefix, 0) != 0 || it->second.size() > 15)
      return fail(Error(EINVAL, std::string(kOptBridgeName) + " \"" + it->second +
                                    "\": must start with " + kBridgePrefix +
                                    " and have at most 15 characters"));
    r.bridge = it->second;
  }

  STACK_TRY(auto configs, ipam_configs(r.ipam_config).wrap("network " + name));
  STACK_TRY(auto sources, subnet_sources());
  STACK_TRY(auto state, impl_->ipam.create_network(name, configs, r.enable_ipv6, sources));
  Status st;
  // Two bridges with overlapping subnets would break each other's routing: a configured subnet
  // must also stay clear of the host's routes (another state root's bridges, a VPN, the LAN).
  // Chosen subnets already do.
  for (const auto& subnet : state.subnets)
    for (const auto& route : sources.host_routes)
      if (st.ok() && subnet.subnet.overlaps(route))
        st = Error(EEXIST, "subnet " + subnet.subnet.to_string() +
                               " overlaps the host's route to " + route.to_string() +
                               " (another network, or an interface of this host)");
  if (st.ok()) st = impl_->ensure_bridge(r);
  if (st.ok()) st = write_file_atomic(record_path(impl_->networks_dir, name),
                                      local::network_record_to_json(r));
  if (!st.ok()) {
    // Nothing half-made stays: no bridge, no subnet held.
    if (auto nl = network::Netlink::open(); nl.ok())
      (void)nl->delete_link(r.bridge, network::IfMissing::kOk);
    (void)impl_->ipam.remove_network(name);
    return fail(st.error());
  }
  return impl_->sync_firewall_locked();
}

Status LocalHost::remove_network(const std::string& name) {
  STACK_TRY(auto lock, impl_->lock_networks());
  auto r = impl_->load_network(name);
  if (!r.ok()) return r.error().code == ENOENT ? Status{} : Status(r.error());
  for (const auto& l : impl_->load_all("")) {
    for (const auto& e : l.record.endpoints)
      if (e.info.network == name)
        return Error(EBUSY, "error while removing network: network " + name + " id " +
                                r->id.substr(0, 12) + " has active endpoints (" +
                                l.record.name + ")");
  }
  // Teardown goes on past errors and reports them all.
  std::vector<std::string> errors;
  if (auto nl = network::Netlink::open(); !nl.ok()) {
    errors.push_back(nl.error().to_string());
  } else if (Status st = nl->delete_link(r->bridge, network::IfMissing::kOk); !st.ok()) {
    errors.push_back(st.error().to_string());
  }
  if (Status st = impl_->ipam.remove_network(name); !st.ok())
    errors.push_back(st.error().to_string());
  const std::string path = record_path(impl_->networks_dir, name);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    errors.push_back(errno_error("removing " + path).to_string());
  if (Status st = impl_->sync_firewall_locked(); !st.ok()) errors.push_back(st.error().to_string());
  return local::all_errors(errors, "removing network " + name);
}

Status LocalHost::reassert_networks() {
  STACK_TRY(auto lock, impl_->lock_networks());
  std::vector<std::string> errors;
  for (const auto& n : impl_->load_networks())
    if (Status st = impl_->ensure_bridge(n); !st.ok()) errors.push_back(st.error().to_string());
  if (Status st = impl_->sync_firewall_locked(); !st.ok()) errors.push_back(st.error().to_string());
  lock.reset();
  // The embedded DNS too: a helper that was killed (or whose binary was upgraded) is started
  // again and rebinds every container's listener.
  bool bridged = false;
  for (const auto& l : impl_->load_all(""))
    bridged = bridged || (l.record.network_mode == "bridge" && !l.record.endpoints.empty());
  if (bridged)
    if (Status st = netd_sync(options_, options_.netd_binary, true); !st.ok())
      errors.push_back(st.error().to_string());
  return local::all_errors(errors, "");
}

Status LocalHost::sync_firewall() { return impl_->sync_firewall(); }

Result<std::vector<NetworkInfo>> LocalHost::networks() {
  std::vector<NetworkInfo> out;
  std::map<std::string, size_t> index;
  for (const auto& r : impl_->load_networks()) {
    NetworkInfo n;
    n.name = r.name;
    n.id = r.id;
    n.created = r.created;
    n.driver = r.driver;
    n.bridge = r.bridge;
    n.labels = r.labels;
    n.options = r.options;
    n.internal = r.internal;
    n.attachable = r.attachable;
    n.enable_ipv6 = r.enable_ipv6;
    n.ipam_driver = r.ipam_driver;
    if (auto state = impl_->ipam.get(r.name); state.ok()) {
      for (const auto& s : state->subnets) {
        NetworkInfo::Subnet sub;
        sub.subnet = s.subnet.to_string();
        sub.gateway = s.gateway.to_string();
        if (s.ip_range) sub.ip_range = s.ip_range->to_string();
        for (const auto& [k, v] : s.aux_addresses) sub.aux_addresses[k] = v.to_string();
        n.subnets.push_back(std::move(sub));
      }
    }
    index[n.name] = out.size();
    out.push_back(std::move(n));
  }
  for (const auto& l : impl_->load_all("")) {
    for (const auto& e : l.record.endpoints) {
      auto it = index.find(e.info.network);
      if (it == index.end()) continue;
      NetworkInfo::Attached a{l.record.name, l.record.id, "", "", e.info.mac};
      if (!e.info.ipv4.empty()) a.ipv4 = e.info.ipv4 + "/" + std::to_string(e.info.ipv4_prefix);
      if (!e.info.ipv6.empty()) a.ipv6 = e.info.ipv6 + "/" + std::to_string(e.info.ipv6_prefix);
      out[it->second].containers.push_back(std::move(a));
    }
  }
  return out;
}

Result<NetworkInfo> LocalHost::inspect_network(const std::string& name) {
  STACK_TRY(auto all, networks());
  const NetworkInfo* found = nullptr;
  for (const auto& n : all)
    if (n.name == name) return n;
  for (const auto& n : all) {
    if (name.size() < 1 || n.id.rfind(name, 0) != 0) continue;
    if (found) return Error(EINVAL, "network " + name + " is ambiguous (several ids match)");
    found = &n;
  }
  if (!found) return Error(ENOENT, "network " + name + " not found");
  return *found;
}

Status LocalHost::Impl::sync_firewall() {
  STACK_TRY(auto lock, lock_networks());
  return sync_firewall_locked();
}

Status LocalHost::Impl::sync_firewall_locked() {
  network::FirewallSpec spec;
  spec.table = firewall_table();
  spec.bridge_prefix = kBridgePrefix;
  std::map<std::string, bool> internal;
  for (const auto& n : load_networks()) {
    auto state = ipam.get(n.name);
    if (!state.ok()) continue;
    network::FirewallNetwork fn;
    fn.bridge = n.bridge;
    fn.internal = n.internal;
    fn.comment = n.name;
    for (const auto& s : state->subnets) fn.subnets.push_back(s.subnet);
    internal[n.name] = n.internal;
    spec.networks.push_back(std::move(fn));
  }
  // Published ports: one rule per (protocol, host address, port) over the replicas that run,
  // and, when some of them have a healthcheck and are healthy, only over the healthy ones.
  struct Group {
    network::PublishedPort port;
    std::vector<network::Backend> healthy, running;
  };
  std::map<std::tuple<std::string, std::string, uint16_t>, Group> groups;
  for (const auto& l : load_all("")) {
    ObservedContainer o = observed(l, "local");
    if (o.state != ContainerState::kRunning && o.state != ContainerState::kPaused) continue;
    for (const auto& p : l.record.published) {
      auto host_ip = network::IpAddress::parse(p.host_ip);
      if (!host_ip.ok()) continue;
      const bool v6 = host_ip->is_v6();
      std::optional<network::IpAddress> backend;
      for (const auto& e : l.record.endpoints) {
        if (internal[e.info.network]) continue;
        const std::string& a = v6 ? e.info.ipv6 : e.info.ipv4;
        if (a.empty()) continue;
        if (auto ip = network::IpAddress::parse(a); ip.ok()) backend = *ip;
        break;
      }
      if (!backend) continue;
      // 0.0.0.0 and :: are one rule: every host address, each family to its backends.
      const bool any = host_ip->value() == 0;
      Group& g = groups[{p.protocol, any ? "" : p.host_ip, p.host_port}];
      g.port.protocol = p.protocol;
      g.port.host_port = p.host_port;
      if (!any) g.port.host_ip = *host_ip;
      g.port.comment = o.labels.project + " " + o.labels.service;
      network::Backend b{*backend, static_cast<uint16_t>(p.target)};
      g.running.push_back(b);
      if (o.health == Health::kHealthy) g.healthy.push_back(b);
    }
  }
  for (auto& [key, g] : groups) {
    // Replicas that are starting or unhealthy get no new connections while a healthy one
    // exists; with none healthy, every running replica does (better than refusing all).
    g.port.backends = g.healthy.empty() ? g.running : g.healthy;
    spec.ports.push_back(std::move(g.port));
  }
  if (spec.networks.empty() && spec.ports.empty()) {
    // Nothing left to guard: the table goes with the last network.
    return network::remove_table(spec.table).wrap("firewall table " + spec.table);
  }
  return network::apply(spec).wrap("firewall table " + spec.table);
}

}  // namespace stack::engine
