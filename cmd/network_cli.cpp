#include "network_cli.h"

#include "cli_text.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "stack/common/syscalls.h"
#include "stack/compose/model.h"
#include "stack/engine/local_host.h"
#include "stack/network/ipam.h"

namespace stack::cli {

using engine::LocalHost;
using engine::NetworkInfo;

namespace {

bool regex_matches(const std::string& pattern, const std::string& text) {
  try {
    return std::regex_search(text, std::regex(pattern));
  } catch (const std::regex_error&) {
    return false;  // Docker skips a value that is not a valid expression
  }
}

int print_error(NetworkCli& s, const Error& e) {
  *s.err << "Error: " << e.to_string() << "\n";
  return 1;
}

std::string joined_labels(const compose::Mapping& labels) {
  std::string out;
  for (auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

// RFC 3339 "2024-05-01T10:11:12.5Z" → seconds since the epoch (UTC; an offset is applied).
std::optional<double> parse_rfc3339(const std::string& text) {
  std::tm tm{};
  const char* rest = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return std::nullopt;
  double t = static_cast<double>(::timegm(&tm));
  if (*rest == '.') {
    char* end = nullptr;
    t += std::strtod(rest, &end);
    rest = end;
  }
  if (*rest == 'Z' && rest[1] == 0) return t;
  int hh = 0, mm = 0;
  char sign = 0;
  if (std::sscanf(rest, "%c%2d:%2d", &sign, &hh, &mm) == 3 && (sign == '+' || sign == '-'))
    return t - (sign == '+' ? 1 : -1) * (hh * 3600.0 + mm * 60.0);
  return std::nullopt;
}

// Go's time.Time.String() of an RFC 3339 UTC time, as Docker's `network ls` CreatedAt shows it:
// "2024-05-01 10:11:12.5 +0000 UTC".
std::string go_time_string(const std::string& rfc3339) {
  auto t = rfc3339.find('T');
  if (t == std::string::npos || rfc3339.empty() || rfc3339.back() != 'Z') return rfc3339;
  std::string clock = rfc3339.substr(t + 1, rfc3339.size() - t - 2);
  if (clock.find('.') != std::string::npos) {
    while (clock.back() == '0') clock.pop_back();
    if (clock.back() == '.') clock.pop_back();
  }
  return rfc3339.substr(0, t) + " " + clock + " +0000 UTC";
}

// Docker's `until` filter value: a Go duration before now ("24h", "1h30m", "90s"), a Unix
// timestamp ("1700000000[.5]") or an RFC 3339 time. The cut-off in seconds since the epoch.
std::optional<double> parse_until(const std::string& value) {
  if (auto t = parse_rfc3339(value)) return t;
  char* end = nullptr;
  double unix_time = std::strtod(value.c_str(), &end);
  if (!value.empty() && end && *end == 0) return unix_time;
  static const std::map<std::string, double> kUnits = {
      {"ns", 1e-9}, {"us", 1e-6}, {"µs", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}};
  double seconds = 0;
  size_t i = 0;
  bool any = false;
  while (i < value.size()) {
    size_t start = i;
    while (i < value.size() && (std::isdigit(static_cast<unsigned char>(value[i])) || value[i] == '.'))
      ++i;
    if (i == start) return std::nullopt;
    double n = std::strtod(value.substr(start, i - start).c_str(), nullptr);
    size_t ustart = i;
    while (i < value.size() && !std::isdigit(static_cast<unsigned char>(value[i])) && value[i] != '.')
      ++i;
    auto unit = kUnits.find(value.substr(ustart, i - ustart));
    if (unit == kUnits.end()) return std::nullopt;
    seconds += n * unit->second;
    any = true;
  }
  if (!any) return std::nullopt;
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec) + now.tv_nsec / 1e9 - seconds;
}

// `--filter` as Docker's network list and prune take it: values of one key OR, keys AND;
// labels AND.
struct Filters {
  std::map<std::string, std::vector<std::string>> by_key;
  std::optional<double> until;
};

Result<Filters> parse_filters(const std::vector<std::string>& raw, bool prune) {
  Filters f;
  for (auto& r : raw) {
    auto eq = r.find('=');
    if (eq == std::string::npos) return Error(EINVAL, "bad format of filter (expected name=value)");
    std::string key = r.substr(0, eq), value = r.substr(eq + 1);
    // `label!=k[=v]` arrives as key "label!".
    static const char* kList[] = {"dangling", "driver", "id", "label", "name", "scope", "type"};
    static const char* kPrune[] = {"label", "label!", "until"};
    bool known = prune ? std::find(std::begin(kPrune), std::end(kPrune), key) != std::end(kPrune)
                       : std::find(std::begin(kList), std::end(kList), key) != std::end(kList);
    if (!known) return Error(EINVAL, "invalid filter '" + key + "'");
    if (key == "dangling" && value != "true" && value != "1" && value != "false" && value != "0")
      return Error(EINVAL, "invalid filter 'dangling=" + value + "'");
    if (key == "type" && value != "custom" && value != "builtin")
      return Error(EINVAL, "invalid filter: 'type'='" + value + "'");
    if (key == "until") {
      auto t = parse_until(value);
      if (!t) return Error(EINVAL, "invalid filter 'until=" + value + "': not a time or duration");
      f.until = f.until ? std::min(*f.until, *t) : *t;
    }
    f.by_key[key].push_back(value);
  }
  return f;
}

bool label_matches(const compose::Mapping& labels, const std::string& want) {
  auto [k, val] = split_kv(want);
  auto it = labels.find(k);
  if (it == labels.end()) return false;
  return want.find('=') == std::string::npos || it->second == val;
}

bool matches(const Filters& f, const NetworkInfo& n) {
  for (auto& [key, values] : f.by_key) {
    if (key == "label") {
      for (auto& want : values)
        if (!label_matches(n.labels, want)) return false;
      continue;
    }
    if (key == "label!") {
      for (auto& want : values)
        if (label_matches(n.labels, want)) return false;
      continue;
    }
    if (key == "until") {
      auto created = parse_rfc3339(n.created);
      if (!created || *created >= *f.until) return false;
      continue;
    }
    bool any = false;
    for (auto& want : values) {
      if (key == "dangling") any |= (want == "true" || want == "1") == n.containers.empty();
      if (key == "driver") any |= want == n.driver;
      if (key == "scope") any |= want == n.scope;
      if (key == "type") any |= want == "custom";  // stack has no predefined networks
      if (key == "id") any |= n.id.rfind(want, 0) == 0 || regex_matches(want, n.id);
      if (key == "name") any |= want == n.name || regex_matches(want, n.name);
    }
    if (!any) return false;
  }
  return true;
}

std::string bool_text(bool b) { return b ? "true" : "false"; }

int run_ls(LocalHost& host, NetworkCli& s) {
  auto filters = parse_filters(s.filters, /*prune=*/false);
  if (!filters.ok()) return print_error(s, filters.error());
  auto all = host.networks();
  if (!all.ok()) return print_error(s, all.error());
  std::vector<NetworkInfo> shown;
  for (auto& n : *all)
    if (matches(*filters, n)) shown.push_back(n);
  std::sort(shown.begin(), shown.end(),
            [](auto& a, auto& b) { return natural_less(a.name, b.name); });
  auto id_of = [&](const NetworkInfo& n) { return s.no_trunc ? n.id : n.id.substr(0, 12); };
  if (s.quiet) {
    for (auto& n : shown) *s.out << id_of(n) << "\n";
  } else if (s.format == "json") {
    // `--format json` is `{{json .}}` of Docker's network row: every column, sorted keys,
    // every value a string.
    for (auto& n : shown) {
      nlohmann::json row{{"CreatedAt", go_time_string(n.created)},
                         {"Driver", n.driver},
                         {"ID", id_of(n)},
                         {"IPv4", "true"},
                         {"IPv6", bool_text(n.enable_ipv6)},
                         {"Internal", bool_text(n.internal)},
                         {"Labels", joined_labels(n.labels)},
                         {"Name", n.name},
                         {"Scope", n.scope}};
      *s.out << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
  } else {
    // Docker's tabwriter: minimum width 10, padding 3; the last column is not padded.
    std::vector<std::vector<std::string>> rows = {{"NETWORK ID", "NAME", "DRIVER", "SCOPE"}};
    for (auto& n : shown) rows.push_back({id_of(n), n.name, n.driver, n.scope});
    size_t widths[3] = {0, 0, 0};
    for (auto& r : rows)
      for (size_t c = 0; c < 3; ++c) widths[c] = std::max(widths[c], r[c].size() + 3);
    for (auto& w : widths) w = std::max<size_t>(w, 10);
    for (auto& r : rows) {
      for (size_t c = 0; c < 3; ++c) *s.out << r[c] << std::string(widths[c] - r[c].size(), ' ');
      *s.out << r[3] << "\n";
    }
  }
  return 0;
}

// Docker's network inspect object (api/types/network.Inspect), in its field order.
nlohmann::ordered_json inspect_object(const NetworkInfo& n) {
  using oj = nlohmann::ordered_json;
  oj config = oj::array();
  for (auto& sub : n.subnets) {
    oj c{{"Subnet", sub.subnet}};
    if (!sub.ip_range.empty()) c["IPRange"] = sub.ip_range;
    if (!sub.gateway.empty()) c["Gateway"] = sub.gateway;
    if (!sub.aux_addresses.empty()) c["AuxiliaryAddresses"] = oj(sub.aux_addresses);
    config.push_back(std::move(c));
  }
  oj containers = oj::object();
  for (auto& c : n.containers)
    containers[c.id] = oj{{"Name", c.name},
                          {"MacAddress", c.mac},
                          {"IPv4Address", c.ipv4},
                          {"IPv6Address", c.ipv6}};
  return oj{{"Name", n.name},
            {"Id", n.id},
            {"Created", n.created},
            {"Scope", n.scope},
            {"Driver", n.driver},
            {"EnableIPv4", true},
            {"EnableIPv6", n.enable_ipv6},
            {"IPAM", oj{{"Driver", n.ipam_driver.empty() ? "default" : n.ipam_driver},
                        {"Options", oj::object()},
                        {"Config", config}}},
            {"Internal", n.internal},
            {"Attachable", n.attachable},
            {"Ingress", false},
            {"ConfigFrom", oj{{"Network", ""}}},
            {"ConfigOnly", false},
            {"Containers", containers},
            {"Options", n.options.empty() ? oj::object() : oj(n.options)},
            {"Labels", n.labels.empty() ? oj::object() : oj(n.labels)}};
}

int run_inspect(LocalHost& host, NetworkCli& s) {
  nlohmann::ordered_json found = nlohmann::ordered_json::array();
  std::vector<std::string> errors;
  for (auto& name : s.names) {
    auto n = host.inspect_network(name);
    if (n.ok()) {
      found.push_back(inspect_object(*n));
    } else if (n.error().code == ENOENT) {
      errors.push_back("No such network: " + name);
    } else {
      errors.push_back(n.error().to_string());
    }
  }
  *s.out << found.dump(4, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  for (auto& e : errors) *s.err << "Error: " << e << "\n";
  return errors.empty() ? 0 : 1;
}

// Docker's createIPAMConfig: every --ip-range, --gateway and --aux-address goes to the one
// --subnet that contains it.
Result<std::vector<compose::IpamPool>> ipam_pools(const NetworkCli& s) {
  if (s.subnets.size() < s.ip_ranges.size() || s.subnets.size() < s.gateways.size())
    return Error(EINVAL, "every ip-range or gateway must have a corresponding subnet");
  std::vector<compose::IpamPool> pools;
  std::vector<network::Cidr> cidrs;
  for (auto& text : s.subnets) {
    STACK_TRY(auto cidr, network::Cidr::parse(text));
    for (auto& other : cidrs)
      if (other.overlaps(cidr))
        return Error(EINVAL, "multiple overlapping subnet configuration is not supported");
    cidrs.push_back(cidr);
    compose::IpamPool p;
    p.subnet = text;
    pools.push_back(std::move(p));
  }
  for (auto& text : s.ip_ranges) {
    STACK_TRY(auto range, network::Cidr::parse(text).wrap("--ip-range"));
    bool match = false;
    for (size_t i = 0; i < cidrs.size(); ++i) {
      if (!cidrs[i].contains(range)) continue;
      if (!pools[i].ip_range.empty())
        return Error(EINVAL, "cannot configure multiple ranges (" + text + ", " +
                                 pools[i].ip_range + ") on the same subnet (" + pools[i].subnet +
                                 ")");
      pools[i].ip_range = text;
      match = true;
    }
    if (!match) return Error(EINVAL, "no matching subnet for range " + text);
  }
  for (auto& text : s.gateways) {
    STACK_TRY(auto ip, network::IpAddress::parse(text).wrap("--gateway"));
    bool match = false;
    for (size_t i = 0; i < cidrs.size(); ++i) {
      if (!cidrs[i].contains(ip)) continue;
      if (!pools[i].gateway.empty())
        return Error(EINVAL, "cannot configure multiple gateways (" + text + ", " +
                                 pools[i].gateway + ") for the same subnet (" + pools[i].subnet +
                                 ")");
      pools[i].gateway = text;
      match = true;
    }
    if (!match) return Error(EINVAL, "no matching subnet for gateway " + text);
  }
  for (auto& kv : s.aux_addresses) {
    auto [key, text] = split_kv(kv);
    if (key.empty() || kv.find('=') == std::string::npos)
      return Error(EINVAL, "invalid --aux-address \"" + kv + "\": expected NAME=IP");
    STACK_TRY(auto ip, network::IpAddress::parse(text).wrap("--aux-address " + key));
    bool match = false;
    for (size_t i = 0; i < cidrs.size(); ++i) {
      if (!cidrs[i].contains(ip)) continue;
      pools[i].aux_addresses[key] = text;
      match = true;
    }
    if (!match) return Error(EINVAL, "no matching subnet for aux-address " + text);
  }
  return pools;
}

int run_create(LocalHost& host, NetworkCli& s) {
  if (s.names.size() != 1) return print_error(s, Error(EINVAL, "exactly one network name"));
  const std::string& name = s.names[0];
  compose::Network config;
  config.name = name;
  config.driver = s.driver.empty() ? "bridge" : s.driver;
  config.internal = s.internal;
  config.attachable = s.attachable;
  if (s.ipv6) config.enable_ipv6 = true;
  for (auto& o : s.opts) {
    auto [k, v] = split_kv(o);
    if (k.empty()) return print_error(s, Error(EINVAL, "invalid option '" + o + "': empty name"));
    config.driver_opts[k] = v;
  }
  for (auto& l : s.labels) {
    auto [k, v] = split_kv(l);
    if (k.empty()) return print_error(s, Error(EINVAL, "invalid label '" + l + "': empty name"));
    config.labels[k] = v;
  }
  auto pools = ipam_pools(s);
  if (!pools.ok()) return print_error(s, std::move(pools).error().wrap("network " + name));
  if (!pools->empty() || !s.ipam_driver.empty()) {
    compose::Ipam ipam;
    ipam.driver = s.ipam_driver;
    ipam.config = std::move(*pools);
    config.ipam = std::move(ipam);
  }
  // The engine's create is idempotent (a project's `up` re-creates its networks); the verb is
  // not, as Docker's.
  auto all = host.networks();
  if (!all.ok()) return print_error(s, all.error());
  for (auto& n : *all)
    if (n.name == name)
      return print_error(s, Error(EEXIST, "network with name " + name + " already exists"));
  if (Status st = host.create_network(name, config, config.labels); !st.ok())
    return print_error(s, st.error());
  auto made = host.inspect_network(name);
  if (!made.ok()) return print_error(s, made.error());
  *s.out << made->id << "\n";
  return 0;
}

int run_rm(LocalHost& host, NetworkCli& s) {
  int status = 0;
  for (auto& name : s.names) {
    // By name, else by id prefix (as Docker).
    auto n = host.inspect_network(name);
    if (!n.ok()) {
      if (n.error().code != ENOENT)
        status = print_error(s, n.error());
      else if (!s.force)
        status = print_error(s, Error(ENOENT, "No such network: " + name));
      continue;
    }
    if (Status st = host.remove_network(n->name); !st.ok()) {
      status = print_error(s, st.error());
      continue;
    }
    *s.out << name << "\n";
  }
  return status;
}

int run_prune(LocalHost& host, NetworkCli& s) {
  auto filters = parse_filters(s.filters, /*prune=*/true);
  if (!filters.ok()) return print_error(s, filters.error());
  auto all = host.networks();
  if (!all.ok()) return print_error(s, all.error());
  std::sort(all->begin(), all->end(),
            [](auto& a, auto& b) { return natural_less(a.name, b.name); });
  std::vector<std::string> deleted;
  int status = 0;
  for (auto& n : *all) {
    if (!n.containers.empty() || !matches(*filters, n)) continue;
    if (Status st = host.remove_network(n.name); !st.ok()) {
      // A container took it since the listing: it stays, as Docker's prune leaves it.
      if (st.error().code != EBUSY) status = print_error(s, st.error());
      continue;
    }
    deleted.push_back(n.name);
  }
  if (!deleted.empty()) {
    *s.out << "Deleted Networks:\n";
    for (auto& name : deleted) *s.out << name << "\n";
    *s.out << "\n";
  }
  return status;
}

}  // namespace

void add_network_commands(CLI::App& app, NetworkCli& s) {
  s.network = app.add_subcommand("network", "Manage networks");
  s.network->require_subcommand(1);

  s.ls = s.network->add_subcommand("ls", "List networks")->alias("list");
  s.ls->add_flag("-q,--quiet", s.quiet, "Only display network IDs");
  s.ls->add_flag("--no-trunc", s.no_trunc, "Do not truncate the output");
  s.ls->add_option("--format", s.format, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  s.ls->add_option("-f,--filter", s.filters,
                   "Filter: name=…, id=…, label=KEY[=VALUE], driver=…, scope=…, type=custom|builtin, "
                   "dangling=true|false")
      ->allow_extra_args(false);

  s.inspect = s.network->add_subcommand("inspect", "Display detailed information on networks");
  s.inspect->add_option("-f,--format", s.format, "Output format: json (the default)")
      ->check(CLI::IsMember({"json"}));
  s.inspect->add_option("network", s.names, "Networks (names or id prefixes)")->required();

  s.create = s.network->add_subcommand("create", "Create a network");
  s.create->add_option("-d,--driver", s.driver, "Driver to manage the network (only bridge)");
  s.create->add_option("--ipam-driver", s.ipam_driver, "IP address management driver (only default)");
  s.create->add_option("--subnet", s.subnets, "Subnet in CIDR format")->allow_extra_args(false);
  s.create->add_option("--gateway", s.gateways, "Gateway for the subnet it lies in")
      ->allow_extra_args(false);
  s.create->add_option("--ip-range", s.ip_ranges, "Allocate container IPs from a sub-range")
      ->allow_extra_args(false);
  s.create->add_option("--aux-address", s.aux_addresses,
                       "Auxiliary IPv4 or IPv6 addresses the IPAM must not hand out (NAME=IP)")
      ->allow_extra_args(false);
  s.create->add_flag("--internal", s.internal, "Restrict external access to the network");
  s.create->add_flag("--attachable", s.attachable, "Enable manual container attachment");
  s.create->add_flag("--ipv6", s.ipv6, "Enable IPv6 networking");
  s.create->add_option("--label", s.labels, "Set metadata on a network (KEY=VALUE)")
      ->allow_extra_args(false);
  s.create->add_option("-o,--opt", s.opts, "Set driver specific options (KEY=VALUE)")
      ->allow_extra_args(false);
  s.create->add_option("network", s.names, "Network name")->required()->expected(1);

  s.rm = s.network->add_subcommand("rm", "Remove one or more networks")->alias("remove");
  s.rm->add_flag("-f,--force", s.force, "Do not error if the network does not exist");
  s.rm->add_option("network", s.names, "Networks (names or id prefixes)")->required();

  s.prune = s.network->add_subcommand("prune", "Remove all unused networks");
  s.prune->add_flag("-f,--force", s.force, "Do not prompt (there is no prompt)");
  s.prune->add_option("--filter", s.filters, "Filter: label=KEY[=VALUE], label!=KEY[=VALUE], until=…")
      ->allow_extra_args(false);
}

int run_network_cli(const std::string& state_root, NetworkCli& s) {
  auto parsed = [](CLI::App* c) { return c && c->parsed(); };
  if (!parsed(s.network)) return -1;
  RealSyscalls sys;
  engine::LocalHostOptions options;
  options.root = state_root;
  auto host = LocalHost::open(options, sys);
  if (!host.ok()) return print_error(s, host.error());
  if (parsed(s.ls)) return run_ls(**host, s);
  if (parsed(s.inspect)) return run_inspect(**host, s);
  if (parsed(s.create)) return run_create(**host, s);
  if (parsed(s.rm)) return run_rm(**host, s);
  if (parsed(s.prune)) return run_prune(**host, s);
  return -1;
}

}  // namespace stack::cli
