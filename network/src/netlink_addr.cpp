// Netlink: addresses and routes.
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "netlink_internal.h"
#include "stack/network/netlink.h"

namespace stack::network {

using detail::Request;
using detail::wrap_iface;

namespace {

struct Cidr {
  int family = AF_INET;
  unsigned char bytes[16] = {};
  int prefix = 0;
  size_t size() const { return family == AF_INET ? 4 : 16; }
};

Result<Cidr> parse_address(const std::string& text, bool need_prefix) {
  Cidr c;
  auto slash = text.find('/');
  std::string addr = text.substr(0, slash);
  c.family = addr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (inet_pton(c.family, addr.c_str(), c.bytes) != 1) {
    return Error(EINVAL, "invalid IP address " + text);
  }
  int max = c.family == AF_INET ? 32 : 128;
  c.prefix = max;
  if (slash == std::string::npos) {
    if (need_prefix) return Error(EINVAL, "invalid address " + text + ": missing /prefix");
    return c;
  }
  std::string p = text.substr(slash + 1);
  if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(p) > max) {
    return Error(EINVAL, "invalid prefix length in " + text);
  }
  c.prefix = std::stoi(p);
  return c;
}

std::string format_address(int family, const void* bytes, int prefix) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, bytes, buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(prefix);
}

struct AddrDump {
  int index;
  std::vector<std::string> out;
};

int collect_address(const nlmsghdr* nlh, void* data) {
  auto* dump = static_cast<AddrDump*>(data);
  if (nlh->nlmsg_type != RTM_NEWADDR) return MNL_CB_OK;
  auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (static_cast<int>(ifa->ifa_index) != dump->index) return MNL_CB_OK;
  size_t len = ifa->ifa_family == AF_INET ? 4 : 16;
  const void* local = nullptr;
  const void* address = nullptr;
  detail::for_each_attr(nlh, sizeof(*ifa), [&](const nlattr* attr) {
    int type = mnl_attr_get_type(attr);
    if (mnl_attr_get_payload_len(attr) != len) return;
    if (type == IFA_LOCAL) local = mnl_attr_get_payload(attr);
    if (type == IFA_ADDRESS) address = mnl_attr_get_payload(attr);
  });
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS differs only on point-to-point links.
  const void* own = local != nullptr ? local : address;
  if (own != nullptr) dump->out.push_back(format_address(ifa->ifa_family, own, ifa->ifa_prefixlen));
  return MNL_CB_OK;
}

}  // namespace

Status Netlink::add_address(const std::string& ifname, const std::string& cidr) {
  Result<Cidr> parsed = parse_address(cidr, true);
  if (!parsed.ok()) return detail::iface_error(ifname, "add address", parsed.error());
  STACK_TRY(int index, link_index(ifname));
  const Cidr& c = *parsed;
  Request req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifa = req.header<ifaddrmsg>();
  ifa->ifa_family = c.family;
  ifa->ifa_prefixlen = c.prefix;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = index;
  nlmsghdr* nlh = req.nlh();
  mnl_attr_put(nlh, IFA_LOCAL, c.size(), c.bytes);
  mnl_attr_put(nlh, IFA_ADDRESS, c.size(), c.bytes);
  if (c.family == AF_INET6) mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
  if (c.family == AF_INET && c.prefix < 31) {
    uint32_t addr;
    std::memcpy(&addr, c.bytes, 4);
    uint32_t host_mask = c.prefix == 0 ? 0xffffffffu : (0xffffffffu >> c.prefix);
    uint32_t broadcast = addr | htonl(host_mask);
    mnl_attr_put_u32(nlh, IFA_BROADCAST, broadcast);
  }
  return wrap_iface(transact(nlh, nullptr, nullptr), ifname, "add address " + cidr);
}

Result<std::vector<std::string>> Netlink::addresses(const std::string& ifname) {
  STACK_TRY(int index, link_index(ifname));
  Request req(RTM_GETADDR, NLM_F_DUMP);
  auto* ifa = req.header<ifaddrmsg>();
  ifa->ifa_family = AF_UNSPEC;
  ifa->ifa_index = index;  // a filter under NETLINK_GET_STRICT_CHK; checked again in the callback
  AddrDump dump{index, {}};
  Status s = wrap_iface(transact(req.nlh(), collect_address, &dump), ifname, "list addresses");
  if (!s.ok()) return std::move(s).error();
  return std::move(dump.out);
}

Status Netlink::add_route(const std::string& dest, const std::string& gateway,
                          const std::string& ifname) {
  std::string what = "add route to " + dest + (gateway.empty() ? "" : " via " + gateway);
  Result<Cidr> dst = parse_address(dest, false);
  if (!dst.ok()) return detail::iface_error(ifname, what, dst.error());
  Cidr gw;
  if (!gateway.empty()) {
    Result<Cidr> g = parse_address(gateway, false);
    if (!g.ok()) return detail::iface_error(ifname, what, g.error());
    if (g->family != dst->family) {
      return detail::iface_error(ifname, what,
                                 Error(EINVAL, "gateway and destination differ in family"));
    }
    gw = *g;
  }
  STACK_TRY(int index, link_index(ifname));
  Request req(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto* rtm = req.header<rtmsg>();
  rtm->rtm_family = dst->family;
  rtm->rtm_dst_len = dst->prefix;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = gateway.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  nlmsghdr* nlh = req.nlh();
  if (dst->prefix > 0) mnl_attr_put(nlh, RTA_DST, dst->size(), dst->bytes);
  if (!gateway.empty()) mnl_attr_put(nlh, RTA_GATEWAY, gw.size(), gw.bytes);
  mnl_attr_put_u32(nlh, RTA_OIF, index);
  return wrap_iface(transact(nlh, nullptr, nullptr), ifname, what);
}

}  // namespace stack::network
