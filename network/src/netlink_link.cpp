// Netlink: creating and changing links (bridges, veth pairs, ports, MTU, namespace, name).
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>

#include <cstdio>

#include "netlink_internal.h"
#include "stack/network/netlink.h"

namespace stack::network {

using detail::Request;
using detail::wrap_iface;

namespace {

Status check_name(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string::npos) {
    return Error(EINVAL, "interface " + name + ": invalid interface name (1 to " +
                             std::to_string(IFNAMSIZ - 1) + " characters, no '/')");
  }
  return {};
}

// An RTM_NEWLINK that changes the existing link `index`.
struct Change {
  Request req{RTM_NEWLINK, 0};
  explicit Change(int index) {
    auto* ifi = req.header<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
  }
};

}  // namespace

Status Netlink::create_bridge(const std::string& name, unsigned mtu) {
  STACK_TRY_VOID(check_name(name));
  Request req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  nlmsghdr* nlh = req.nlh();
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  if (mtu != 0) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  // No IFLA_BR_VLAN_FILTERING: off is the default, and a kernel built without
  // CONFIG_BRIDGE_VLAN_FILTERING (this machine's) refuses the attribute with EOPNOTSUPP.
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, info);
  return wrap_iface(transact(nlh, nullptr, nullptr), name, "create bridge");
}

Status Netlink::create_veth(const std::string& host_name, const std::string& peer_name,
                            unsigned mtu, int peer_netns_fd) {
  STACK_TRY_VOID(check_name(host_name));
  STACK_TRY_VOID(check_name(peer_name));
  Request req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  nlmsghdr* nlh = req.nlh();
  mnl_attr_put_strz(nlh, IFLA_IFNAME, host_name.c_str());
  if (mtu != 0) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  // VETH_INFO_PEER holds a whole ifinfomsg followed by the peer's own IFLA_* attributes.
  nlattr* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)))->ifi_family =
      AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name.c_str());
  if (mtu != 0) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  if (peer_netns_fd >= 0) mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, peer_netns_fd);
  mnl_attr_nest_end(nlh, peer);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  return wrap_iface(transact(nlh, nullptr, nullptr), host_name,
                    "create veth pair with peer " + peer_name);
}

Status Netlink::set_master(const std::string& ifname, const std::string& bridge) {
  STACK_TRY(int index, link_index(ifname));
  Result<int> master = link_index(bridge);
  if (!master.ok()) {
    return Error(master.error().code,
                 "interface " + ifname + ": attach to bridge: " + master.error().message);
  }
  Change c(index);
  mnl_attr_put_u32(c.req.nlh(), IFLA_MASTER, *master);
  return wrap_iface(transact(c.req.nlh(), nullptr, nullptr), ifname, "attach to bridge " + bridge);
}

Status Netlink::set_up(const std::string& ifname) {
  STACK_TRY(int index, link_index(ifname));
  Change c(index);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(c.req.nlh()));
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  return wrap_iface(transact(c.req.nlh(), nullptr, nullptr), ifname, "set up");
}

Status Netlink::set_mtu(const std::string& ifname, unsigned mtu) {
  STACK_TRY(int index, link_index(ifname));
  Change c(index);
  mnl_attr_put_u32(c.req.nlh(), IFLA_MTU, mtu);
  return wrap_iface(transact(c.req.nlh(), nullptr, nullptr), ifname,
                    "set mtu " + std::to_string(mtu));
}

Status Netlink::set_mac(const std::string& ifname, const std::string& mac) {
  unsigned char bytes[6];
  unsigned v[6];
  char tail = 0;
  if (std::sscanf(mac.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
                  &v[5], &tail) != 6 || mac.size() != 17)
    return Error(EINVAL, "interface " + ifname + ": invalid MAC address \"" + mac + "\"");
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<unsigned char>(v[i]);
  STACK_TRY(int index, link_index(ifname));
  Change c(index);
  mnl_attr_put(c.req.nlh(), IFLA_ADDRESS, sizeof bytes, bytes);
  return wrap_iface(transact(c.req.nlh(), nullptr, nullptr), ifname, "set MAC address " + mac);
}

Status Netlink::set_netns(const std::string& ifname, int netns_fd) {
  STACK_TRY(int index, link_index(ifname));
  Change c(index);
  mnl_attr_put_u32(c.req.nlh(), IFLA_NET_NS_FD, netns_fd);
  return wrap_iface(transact(c.req.nlh(), nullptr, nullptr), ifname, "move to network namespace");
}

Status Netlink::rename(const std::string& ifname, const std::string& new_name) {
  STACK_TRY_VOID(check_name(new_name));
  STACK_TRY(int index, link_index(ifname));
  Change c(index);
  mnl_attr_put_strz(c.req.nlh(), IFLA_IFNAME, new_name.c_str());
  return wrap_iface(transact(c.req.nlh(), nullptr, nullptr), ifname, "rename to " + new_name);
}

Status Netlink::set_hairpin(const std::string& ifname, bool on) {
  STACK_TRY(int index, link_index(ifname));
  // As `bridge link set dev X hairpin on`: an AF_BRIDGE RTM_SETLINK whose IFLA_PROTINFO (flagged
  // nested) carries the bridge port attributes.
  Request req(RTM_SETLINK, 0);
  auto* ifi = req.header<ifinfomsg>();
  ifi->ifi_family = AF_BRIDGE;
  ifi->ifi_index = index;
  nlmsghdr* nlh = req.nlh();
  nlattr* prot = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
  prot->nla_type |= NLA_F_NESTED;  // without it the kernel reads IFLA_PROTINFO as a port state
  mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end(nlh, prot);
  return wrap_iface(transact(nlh, nullptr, nullptr), ifname,
                    std::string("set hairpin ") + (on ? "on" : "off"));
}

Status Netlink::set_vlan_filtering(const std::string& bridge, bool on) {
  STACK_TRY(int index, link_index(bridge));
  Change c(index);
  nlmsghdr* nlh = c.req.nlh();
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  mnl_attr_put_u8(nlh, IFLA_BR_VLAN_FILTERING, on ? 1 : 0);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  Status s = transact(nlh, nullptr, nullptr);
  // Without CONFIG_BRIDGE_VLAN_FILTERING the kernel refuses the attribute, and filtering is off.
  if (!s.ok() && s.error().code == EOPNOTSUPP && !on) return {};
  return wrap_iface(std::move(s), bridge, std::string("set vlan_filtering ") + (on ? "on" : "off"));
}

}  // namespace stack::network
