// render_ruleset: validation of a FirewallSpec and the nft script for it. The script is fed to
// libnftables verbatim, so every name that reaches it is checked against a strict character set
// first (a quote in a bridge name or comment would otherwise change the script).
#include <algorithm>
#include <cerrno>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "stack/network/firewall.h"

namespace stack::network {
namespace {

// nft's limit for a rule comment (NFTNL_UDATA_COMMENT_MAXLEN), terminating NUL included.
constexpr size_t kMaxCommentBytes = 127;

bool is_name_char(char c, bool allow_dot) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || (allow_dot && c == '.');
}

bool valid_name(const std::string& s, bool allow_dot) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return is_name_char(c, allow_dot);
  });
}

bool valid_comment(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f && c != '"' && c != '\\';
  });
}

std::string comment(std::string text) {
  if (text.size() > kMaxCommentBytes) text.resize(kMaxCommentBytes);
  return " comment \"" + text + "\"";
}

const char* family_word(const IpAddress& a) { return a.is_v6() ? "ip6" : "ip"; }

std::string network_label(const FirewallNetwork& n) {
  return n.comment.empty() ? n.bridge : n.comment;
}

std::string port_label(const PublishedPort& p) {
  std::string where = std::to_string(p.host_port) + "/" + p.protocol;
  if (p.host_ip) {
    where = (p.host_ip->is_v6() ? "[" + p.host_ip->to_string() + "]" : p.host_ip->to_string()) +
            ":" + where;
  }
  return p.comment.empty() ? where : p.comment + " " + where;
}

std::string backend_text(const Backend& b) {
  return b.address.is_v6() ? "[" + b.address.to_string() + "]:" + std::to_string(b.port)
                           : b.address.to_string() + ":" + std::to_string(b.port);
}

Status validate_port(const PublishedPort& p) {
  auto fail = [&](const std::string& what) {
    return Error(EINVAL, "published port " + port_label(p) + ": " + what);
  };
  if (!valid_comment(p.comment)) return fail("comment has quotes or control characters");
  if (p.protocol != "tcp" && p.protocol != "udp") {
    return fail("protocol \"" + p.protocol + "\" is neither tcp nor udp");
  }
  if (p.host_port == 0) return fail("host port 0 is not a port");
  for (const Backend& b : p.backends) {
    if (b.port == 0) return fail("backend " + b.address.to_string() + " has port 0");
    if (p.host_ip && p.host_ip->family() != b.address.family()) {
      return fail("backend " + backend_text(b) + " is " + (b.address.is_v6() ? "IPv6" : "IPv4") +
                  " but host_ip " + p.host_ip->to_string() + " is " +
                  (p.host_ip->is_v6() ? "IPv6" : "IPv4"));
    }
  }
  return {};
}

Status validate(const FirewallSpec& spec) {
  if (!valid_name(spec.table, false)) {
    return Error(EINVAL, "firewall table \"" + spec.table +
                             "\": invalid name (letters, digits, '_' and '-' only)");
  }
  if (!valid_name(spec.bridge_prefix, true)) {
    return Error(EINVAL, "firewall table " + spec.table + ": invalid bridge prefix \"" +
                             spec.bridge_prefix + "\"");
  }
  std::set<std::string> bridges;
  for (const FirewallNetwork& n : spec.networks) {
    std::string who = "network " + network_label(n);
    if (!valid_comment(n.comment)) {
      return Error(EINVAL, who + ": comment has quotes or control characters");
    }
    if (!valid_name(n.bridge, true)) {
      return Error(EINVAL, who + ": invalid bridge name \"" + n.bridge + "\"");
    }
    if (n.bridge.rfind(spec.bridge_prefix, 0) != 0) {
      return Error(EINVAL, who + ": bridge " + n.bridge + " does not start with the prefix \"" +
                               spec.bridge_prefix + "\"");
    }
    if (!bridges.insert(n.bridge).second) {
      return Error(EINVAL, who + ": bridge " + n.bridge + " is listed twice");
    }
  }
  std::set<std::tuple<std::string, uint16_t, bool, IpAddress>> seen;
  for (const PublishedPort& p : spec.ports) {
    STACK_TRY_VOID(validate_port(p));
    if (!seen.insert({p.protocol, p.host_port, p.host_ip.has_value(),
                      p.host_ip.value_or(IpAddress())}).second) {
      return Error(EINVAL, "published port " + port_label(p) + ": published twice");
    }
  }
  return {};
}

// The DNAT rules of one port: one per address family among its backends.
void render_port(std::ostringstream& out, const PublishedPort& p) {
  for (Family family : {Family::kV4, Family::kV6}) {
    std::vector<Backend> backends;
    for (const Backend& b : p.backends) {
      if (b.address.family() == family) backends.push_back(b);
    }
    if (backends.empty()) continue;
    std::sort(backends.begin(), backends.end(), [](const Backend& a, const Backend& b) {
      return std::tie(a.address, a.port) < std::tie(b.address, b.port);
    });
    const char* fam = family_word(backends.front().address);
    out << "\t\t";
    if (p.host_ip) {
      out << fam << " daddr " << p.host_ip->to_string() << " ";
    } else {
      out << "meta nfproto " << (family == Family::kV6 ? "ipv6 " : "ipv4 ");
    }
    out << p.protocol << " dport " << p.host_port << " dnat " << fam << " to ";
    if (backends.size() == 1) {
      out << backend_text(backends.front());
    } else {
      // numgen inc advances once per evaluation; the nat chain sees only a connection's first
      // packet, so this is round robin per new connection.
      out << "numgen inc mod " << backends.size() << " map { ";
      for (size_t i = 0; i < backends.size(); ++i) {
        out << (i ? ", " : "") << i << " : " << backends[i].address.to_string() << " . "
            << backends[i].port;
      }
      out << " }";
    }
    out << comment(port_label(p)) << "\n";
  }
}

void render_nat(std::ostringstream& out, const std::vector<const FirewallNetwork*>& networks,
                const std::vector<const PublishedPort*>& ports) {
  out << "\tchain prerouting {\n"
         "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
         "\t\tfib daddr type local jump published"
      << comment("published ports") << "\n\t}\n";
  // nft 1.0.6 accepts the symbolic "dstnat" only in prerouting; -100 is its value.
  out << "\tchain output {\n"
         "\t\ttype nat hook output priority -100; policy accept;\n"
         "\t\tfib daddr type local jump published"
      << comment("published ports from this host") << "\n\t}\n";
  out << "\tchain published {\n";
  for (const PublishedPort* p : ports) render_port(out, *p);
  out << "\t}\n";
  out << "\tchain postrouting {\n"
         "\t\ttype nat hook postrouting priority srcnat; policy accept;\n";
  for (const FirewallNetwork* n : networks) {
    std::string label = network_label(*n);
    std::string br = "\"" + n->bridge + "\"";
    bool has_v4 = false;
    for (const Cidr& s : n->subnets) {
      has_v4 = has_v4 || !s.is_v6();
      if (n->internal) continue;
      out << "\t\t" << family_word(s.network()) << " saddr " << s.to_string() << " oifname != "
          << br << " masquerade" << comment(label + " egress") << "\n";
    }
    // DNATed from 127.0.0.1 (needs route_localnet on the bridge): the container could not
    // answer a loopback source.
    if (has_v4) {
      out << "\t\toifname " << br << " ct status dnat ip saddr 127.0.0.0/8 masquerade"
          << comment(label + " published from localhost") << "\n";
    }
    // Hairpin: a member reaching a published port of its own network through a host address;
    // without masquerade the backend would answer it directly, bypassing the DNAT's reverse.
    for (const Cidr& s : n->subnets) {
      out << "\t\toifname " << br << " ct status dnat " << family_word(s.network()) << " saddr "
          << s.to_string() << " masquerade" << comment(label + " hairpin") << "\n";
    }
  }
  out << "\t}\n";
}

void render_forward(std::ostringstream& out, const FirewallSpec& spec,
                    const std::vector<const FirewallNetwork*>& networks) {
  std::string any_bridge = "\"" + spec.bridge_prefix + "*\"";
  out << "\tchain forward {\n"
         "\t\ttype filter hook forward priority filter; policy accept;\n"
         "\t\tct status dnat accept"
      << comment("published ports are reachable from anywhere") << "\n";
  for (const FirewallNetwork* n : networks) {
    std::string label = network_label(*n);
    std::string br = "\"" + n->bridge + "\"";
    if (n->internal) {
      out << "\t\tiifname " << br << " oifname != " << br << " drop"
          << comment(label + " internal: no egress") << "\n";
      out << "\t\toifname " << br << " iifname != " << br << " drop"
          << comment(label + " internal: no ingress") << "\n";
    } else {
      out << "\t\tiifname " << br << " oifname " << any_bridge << " oifname != " << br << " drop"
          << comment(label + " isolation: to other networks") << "\n";
      out << "\t\toifname " << br << " iifname " << any_bridge << " iifname != " << br << " drop"
          << comment(label + " isolation: from other networks") << "\n";
    }
  }
  out << "\t}\n";
}

}  // namespace

Result<std::string> render_ruleset(const FirewallSpec& spec) {
  STACK_TRY_VOID(validate(spec));
  std::vector<const FirewallNetwork*> networks;
  for (const FirewallNetwork& n : spec.networks) networks.push_back(&n);
  std::sort(networks.begin(), networks.end(),
            [](auto* a, auto* b) { return a->bridge < b->bridge; });
  std::vector<const PublishedPort*> ports;
  for (const PublishedPort& p : spec.ports) ports.push_back(&p);
  // Ports with a host_ip first: a specific address must win over the wildcard rule.
  auto key = [](const PublishedPort* p) {
    return std::make_tuple(p->host_port, p->protocol, !p->host_ip.has_value(),
                           p->host_ip.value_or(IpAddress()));
  };
  std::sort(ports.begin(), ports.end(), [&](auto* a, auto* b) { return key(a) < key(b); });

  std::ostringstream out;
  // Creating the table first makes the delete valid when it does not exist yet; the kernel
  // applies the three commands as one transaction.
  const std::string t = "table inet " + spec.table;
  out << t << " {}\n"
      << "delete " << t << "\n"
      << t << " {\n";
  render_nat(out, networks, ports);
  render_forward(out, spec, networks);
  out << "}\n";
  return out.str();
}

}  // namespace stack::network
