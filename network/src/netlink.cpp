// Netlink: the socket, its namespace, request/ACK and dumps, and link lookups.
#include "stack/network/netlink.h"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>

#include <cstring>
#include <thread>

#include "netlink_internal.h"

namespace stack::network {

using detail::Request;

void Netlink::Deleter::operator()(mnl_socket* s) const { mnl_socket_close(s); }

Netlink::Netlink(mnl_socket* sock) : sock_(sock), port_id_(mnl_socket_get_portid(sock)) {}
Netlink::Netlink(Netlink&&) noexcept = default;
Netlink& Netlink::operator=(Netlink&&) noexcept = default;
Netlink::~Netlink() = default;

Result<Netlink> Netlink::open() {
  mnl_socket* sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (sock == nullptr) return errno_error("netlink: socket");
  Netlink nl(sock);
  if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) return errno_error("netlink: bind");
  nl.port_id_ = mnl_socket_get_portid(sock);
  // Extended ACKs are not parsed, but strict checking makes dumps honour their filters.
  int one = 1;
  mnl_socket_setsockopt(sock, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
  return nl;
}

Result<Netlink> Netlink::open_in(int netns_fd) {
  // The network namespace is per thread: a dedicated thread enters it, opens the socket (which
  // stays bound to the namespace it was created in, see netlink(7)/network_namespaces(7)) and
  // ends, so neither the caller nor any pooled thread is ever left in the other namespace.
  Result<Netlink> out = Error(EINVAL, "netlink: not opened");
  std::thread worker([&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      out = errno_error("netlink: setns into network namespace");
      return;
    }
    out = open();
  });
  worker.join();
  return out;
}

Status Netlink::transact(void* msg, int (*cb)(const nlmsghdr*, void*), void* data) {
  auto* nlh = static_cast<nlmsghdr*>(msg);
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = ++seq_;
  if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
    return Error(errno, std::strerror(errno));
  }
  std::vector<char> buf(32768);  // MNL_SOCKET_DUMP_SIZE of later libmnl releases
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
    if (n < 0) return Error(errno, std::strerror(errno));
    // mnl_cb_run stops at the ACK (an NLMSG_ERROR with error 0) or NLMSG_DONE, and turns an
    // NLMSG_ERROR with an errno into -1 with errno set.
    int ret = mnl_cb_run(buf.data(), n, nlh->nlmsg_seq, port_id_, cb, data);
    if (ret == MNL_CB_ERROR) return Error(errno, std::strerror(errno));
    if (ret == MNL_CB_STOP) return {};
  }
}

namespace {

int collect_link(const nlmsghdr* nlh, void* data) {
  auto* out = static_cast<std::vector<LinkInfo>*>(data);
  if (nlh->nlmsg_type != RTM_NEWLINK) return MNL_CB_OK;
  auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  LinkInfo link;
  link.index = ifi->ifi_index;
  link.up = (ifi->ifi_flags & IFF_UP) != 0;
  detail::for_each_attr(nlh, sizeof(*ifi), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case IFLA_IFNAME:
        if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) link.name = mnl_attr_get_str(attr);
        break;
      case IFLA_MASTER:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) link.master = mnl_attr_get_u32(attr);
        break;
      case IFLA_MTU:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) link.mtu = mnl_attr_get_u32(attr);
        break;
      default:
        break;
    }
  });
  out->push_back(std::move(link));
  return MNL_CB_OK;
}

}  // namespace

Result<std::vector<LinkInfo>> Netlink::links() {
  Request req(RTM_GETLINK, NLM_F_DUMP);
  req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  std::vector<LinkInfo> out;
  Status s = transact(req.nlh(), collect_link, &out);
  if (!s.ok()) return Error(s.error().code, "listing links: " + s.error().message);
  return out;
}

Result<int> Netlink::link_index(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return Error(EINVAL, "interface " + name + ": invalid interface name");
  }
  Request req(RTM_GETLINK, 0);
  req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(req.nlh(), IFLA_IFNAME, name.c_str());
  std::vector<LinkInfo> found;
  Status s = detail::wrap_iface(transact(req.nlh(), collect_link, &found), name, "look up");
  if (!s.ok()) return std::move(s).error();
  if (found.empty()) return Error(ENODEV, "interface " + name + ": look up: no such device");
  return found.front().index;
}

Status Netlink::delete_link(const std::string& ifname, IfMissing missing) {
  Request req(RTM_DELLINK, 0);
  req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(req.nlh(), IFLA_IFNAME, ifname.c_str());
  Status s = transact(req.nlh(), nullptr, nullptr);
  if (!s.ok() && s.error().code == ENODEV && missing == IfMissing::kOk) return {};
  return detail::wrap_iface(std::move(s), ifname, "delete");
}

}  // namespace stack::network
