// IpamStore: one JSON file per network under a directory, every change under an exclusive flock
// on <dir>/.lock and written atomically. The one file of stack_network's IPAM that uses
// nlohmann/json; its exceptions stay here.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "stack/common/atomic_file.h"
#include "stack/common/unique_fd.h"
#include "stack/network/ipam.h"

namespace stack::network {

namespace {

using nlohmann::json;

Status check_name(const std::string& network) {
  if (network.empty() || network[0] == '.' || network.find('/') != std::string::npos ||
      network.size() > 255) {
    return Error(EINVAL, "invalid network name \"" + network + "\"");
  }
  return {};
}

Status make_dirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error(ec.value(), "create " + dir + ": " + ec.message());
  return {};
}

// Held for the whole read-modify-write; released when the descriptor closes.
Result<UniqueFd> lock_store(const std::string& dir) {
  STACK_TRY_VOID(make_dirs(dir));
  std::string path = dir + "/.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return errno_error("open " + path);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return errno_error("flock " + path);
  }
  return fd;
}

json subnet_to_json(const SubnetState& s) {
  json aux = json::object(), alloc = json::object();
  for (auto& [name, addr] : s.aux_addresses) aux[name] = addr.to_string();
  for (auto& [addr, owner] : s.allocations) alloc[addr.to_string()] = owner;
  json j{{"subnet", s.subnet.to_string()}, {"gateway", s.gateway.to_string()},
         {"aux_addresses", aux}, {"allocations", alloc}};
  if (s.ip_range) j["ip_range"] = s.ip_range->to_string();
  return j;
}

std::string to_json(const NetworkIpam& n) {
  json subnets = json::array();
  for (auto& s : n.subnets) subnets.push_back(subnet_to_json(s));
  return json{{"network", n.network}, {"subnets", subnets}}.dump(2) + "\n";
}

Result<std::string> str(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return Error(EINVAL, where + ": " + key + " missing");
  return it->get<std::string>();
}

Result<SubnetState> subnet_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) return Error(EINVAL, where + ": subnet is not an object");
  SubnetState s;
  STACK_TRY(std::string subnet, str(j, "subnet", where));
  STACK_TRY(s.subnet, Cidr::parse(subnet).wrap(where));
  STACK_TRY(std::string gateway, str(j, "gateway", where));
  STACK_TRY(s.gateway, IpAddress::parse(gateway).wrap(where));
  if (j.contains("ip_range")) {
    STACK_TRY(std::string range, str(j, "ip_range", where));
    STACK_TRY(s.ip_range, Cidr::parse(range).wrap(where));
  }
  for (const char* key : {"aux_addresses", "allocations"}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    if (!it->is_object()) return Error(EINVAL, where + ": " + key + " is not an object");
    for (auto& [k, v] : it->items()) {
      if (!v.is_string()) return Error(EINVAL, where + ": " + key + "." + k + " is not a string");
      std::string value = v.get<std::string>();
      if (std::string(key) == "aux_addresses") {
        STACK_TRY(s.aux_addresses[k], IpAddress::parse(value).wrap(where));
      } else {
        STACK_TRY(IpAddress a, IpAddress::parse(k).wrap(where));
        s.allocations[a] = value;
      }
    }
  }
  return s;
}

Result<NetworkIpam> from_json(const std::string& text, const std::string& where) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Error(EINVAL, where + ": invalid JSON");
  NetworkIpam n;
  STACK_TRY(n.network, str(doc, "network", where));
  auto it = doc.find("subnets");
  if (it == doc.end() || !it->is_array()) return Error(EINVAL, where + ": subnets missing");
  for (auto& s : *it) {
    STACK_TRY(SubnetState st, subnet_from_json(s, where));
    n.subnets.push_back(std::move(st));
  }
  return n;
}

std::string file_of(const std::string& dir, const std::string& network) {
  return dir + "/" + network + ".json";
}

Result<NetworkIpam> load(const std::string& dir, const std::string& network) {
  std::string path = file_of(dir, network);
  auto text = read_file(path);
  if (!text) {
    if (text.error().code == ENOENT) return Error(ENOENT, "network " + network + " not found");
    return std::move(text).error();
  }
  return from_json(*text, path);
}

Status save(const std::string& dir, const NetworkIpam& n) {
  return write_file_atomic(file_of(dir, n.network), to_json(n), 0600);
}

Result<std::vector<NetworkIpam>> load_all(const std::string& dir) {
  std::vector<NetworkIpam> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return Error(ec.value(), "list " + dir + ": " + ec.message());
  }
  for (; it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() <= 5 || name[0] == '.' || !name.ends_with(".json")) continue;
    STACK_TRY(NetworkIpam n, load(dir, name.substr(0, name.size() - 5)));
    out.push_back(std::move(n));
  }
  if (ec) return Error(ec.value(), "list " + dir + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](auto& a, auto& b) { return a.network < b.network; });
  return out;
}

// A subnet's state from its config: gateway defaults to the first host; everything must lie
// inside the subnet.
Result<SubnetState> subnet_from_config(const std::string& network, const IpamConfig& c) {
  SubnetState s;
  s.subnet = c.subnet;
  std::string where = "network " + network + ": ";
  if (c.ip_range && !c.subnet.contains(*c.ip_range)) {
    return Error(EINVAL, where + "ip_range " + c.ip_range->to_string() + " is outside subnet " +
                             c.subnet.to_string());
  }
  s.ip_range = c.ip_range;
  if (c.gateway) {
    if (!c.subnet.contains(*c.gateway)) {
      return Error(EINVAL, where + "gateway " + c.gateway->to_string() + " is outside subnet " +
                               c.subnet.to_string());
    }
    s.gateway = *c.gateway;
  } else {
    auto first = c.subnet.nth(1);
    if (!first) return Error(EINVAL, where + "subnet " + c.subnet.to_string() + " has no hosts");
    s.gateway = *first;
  }
  for (auto& [name, addr] : c.aux_addresses) {
    if (!c.subnet.contains(addr)) {
      return Error(EINVAL, where + "aux address " + name + "=" + addr.to_string() +
                               " is outside subnet " + c.subnet.to_string());
    }
  }
  s.aux_addresses = c.aux_addresses;
  return s;
}

Status check_overlaps(const std::string& network, const SubnetState& s,
                      const std::vector<NetworkIpam>& others) {
  for (auto& o : others) {
    for (auto& os : o.subnets) {
      if (os.subnet.overlaps(s.subnet)) {
        return Error(EEXIST, "network " + network + ": subnet " + s.subnet.to_string() +
                                 " overlaps network " + o.network + "'s subnet " +
                                 os.subnet.to_string());
      }
    }
  }
  return {};
}

// Why `a` may not be handed out in `s` (empty when it may).
std::string reserved_reason(const SubnetState& s, const IpAddress& a) {
  if (a == s.subnet.network()) return "the network address";
  if (!s.subnet.is_v6() && s.subnet.prefix_len() < 31 && a == s.subnet.last()) {
    return "the broadcast address";
  }
  if (a == s.gateway) return "the gateway";
  for (auto& [name, aux] : s.aux_addresses) {
    if (aux == a) return "reserved as aux address " + name;
  }
  return "";
}

Result<IpAddress> next_free(const std::string& network, const SubnetState& s) {
  const Cidr& range = s.ip_range ? *s.ip_range : s.subnet;
  Uint128 pos = range.network().value(), end = range.last().value();
  for (;; ++pos) {
    IpAddress a = s.subnet.is_v6() ? IpAddress::v6(pos) : IpAddress::v4(static_cast<uint32_t>(pos));
    if (reserved_reason(s, a).empty() && !s.allocations.count(a)) return a;
    if (pos == end) break;
  }
  return Error(ENOSPC, "no free address in network " + network + " (" + range.to_string() + ")");
}

}  // namespace

const SubnetState* NetworkIpam::find(Family family) const {
  for (auto& s : subnets) {
    if (s.subnet.family() == family) return &s;
  }
  return nullptr;
}

Result<NetworkIpam> IpamStore::create_network(const std::string& network,
                                              const std::vector<IpamConfig>& configs,
                                              bool enable_ipv6, const SubnetSources& sources) {
  STACK_TRY_VOID(check_name(network));
  STACK_TRY(UniqueFd lock, lock_store(dir_));
  auto existing = load(dir_, network);
  if (existing || existing.error().code != ENOENT) return existing;
  STACK_TRY(std::vector<NetworkIpam> others, load_all(dir_));
  NetworkIpam n{network, {}};
  for (auto& c : configs) {
    if (n.find(c.subnet.family())) {
      return Error(EINVAL, "network " + network + ": more than one " +
                               (c.subnet.is_v6() ? "IPv6" : "IPv4") + " subnet");
    }
    STACK_TRY(SubnetState s, subnet_from_config(network, c));
    STACK_TRY_VOID(check_overlaps(network, s, others));
    n.subnets.push_back(std::move(s));
  }
  std::vector<Cidr> in_use;
  for (auto& o : others) {
    for (auto& s : o.subnets) in_use.push_back(s.subnet);
  }
  for (Family f : {Family::kV4, Family::kV6}) {
    if (n.find(f) || (f == Family::kV6 && !enable_ipv6)) continue;
    auto& pools = f == Family::kV4 ? sources.pools_v4 : sources.pools_v6;
    auto subnet = choose_subnet(pools, f, in_use, sources.host_routes, sources.nameservers);
    if (!subnet) return std::move(subnet).error().wrap("network " + network);
    STACK_TRY(SubnetState s, subnet_from_config(network, IpamConfig{*subnet, {}, {}, {}}));
    n.subnets.push_back(std::move(s));
  }
  std::stable_sort(n.subnets.begin(), n.subnets.end(), [](auto& a, auto& b) {
    return a.subnet.family() < b.subnet.family();
  });
  STACK_TRY_VOID(save(dir_, n));
  return n;
}

Result<NetworkIpam> IpamStore::get(const std::string& network) const {
  STACK_TRY_VOID(check_name(network));
  STACK_TRY(UniqueFd lock, lock_store(dir_));
  return load(dir_, network);
}

Result<std::vector<NetworkIpam>> IpamStore::list() const {
  STACK_TRY(UniqueFd lock, lock_store(dir_));
  return load_all(dir_);
}

Status IpamStore::remove_network(const std::string& network) {
  STACK_TRY_VOID(check_name(network));
  STACK_TRY(UniqueFd lock, lock_store(dir_));
  std::string path = file_of(dir_, network);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("remove " + path);
  return {};
}

Result<IpAddress> IpamStore::allocate(const std::string& network, const std::string& owner,
                                      Family family, std::optional<IpAddress> static_address) {
  STACK_TRY_VOID(check_name(network));
  STACK_TRY(UniqueFd lock, lock_store(dir_));
  STACK_TRY(NetworkIpam n, load(dir_, network));
  auto it = std::find_if(n.subnets.begin(), n.subnets.end(),
                         [&](auto& s) { return s.subnet.family() == family; });
  if (it == n.subnets.end()) {
    return Error(EINVAL, "network " + network + " has no " +
                             (family == Family::kV6 ? "IPv6" : "IPv4") + " subnet");
  }
  SubnetState& s = *it;
  for (auto& [addr, holder] : s.allocations) {
    if (holder != owner) continue;
    if (static_address && *static_address != addr) {
      return Error(EEXIST, "network " + network + ": " + owner + " already holds address " +
                               addr.to_string() + ", not " + static_address->to_string());
    }
    return addr;
  }
  IpAddress chosen;
  if (static_address) {
    std::string a = static_address->to_string();
    if (!s.subnet.contains(*static_address)) {
      return Error(EINVAL, "address " + a + " is outside network " + network + "'s subnet " +
                               s.subnet.to_string());
    }
    std::string why = reserved_reason(s, *static_address);
    if (!why.empty()) {
      return Error(EINVAL, "address " + a + " in network " + network + " is " + why);
    }
    auto held = s.allocations.find(*static_address);
    if (held != s.allocations.end()) {
      return Error(EADDRINUSE, "address " + a + " in network " + network +
                                   " is already allocated to " + held->second);
    }
    chosen = *static_address;
  } else {
    STACK_TRY(chosen, next_free(network, s));
  }
  s.allocations[chosen] = owner;
  STACK_TRY_VOID(save(dir_, n));
  return chosen;
}

Status IpamStore::release(const std::string& network, const std::string& owner) {
  STACK_TRY_VOID(check_name(network));
  STACK_TRY(UniqueFd lock, lock_store(dir_));
  STACK_TRY(NetworkIpam n, load(dir_, network));
  bool changed = false;
  for (auto& s : n.subnets) {
    changed |= std::erase_if(s.allocations, [&](auto& kv) { return kv.second == owner; }) > 0;
  }
  if (!changed) return {};
  return save(dir_, n);
}

}  // namespace stack::network
