// Netlink: rtnetlink requests through libmnl for links (bridges, veth pairs), addresses and
// routes, with no `ip` or `bridge` child processes. One object owns one NETLINK_ROUTE socket bound
// to one network namespace; every operation is one request answered by one ACK (or a dump).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "stack/common/result.h"

struct mnl_socket;
struct nlmsghdr;

namespace stack::network {

// One link as a dump reports it.
struct LinkInfo {
  std::string name;
  int index = 0;
  int master = 0;     // index of the bridge it is attached to; 0: none
  bool up = false;    // IFF_UP (administratively up)
  unsigned mtu = 0;
};

// Whether delete_link treats a missing link as success.
enum class IfMissing { kFail, kOk };

// Owns one rtnetlink socket in one network namespace. Move-only; not thread-safe (one request
// at a time per object). Errors carry the kernel's errno as code and name the interface, e.g.
// "interface br0: create bridge: File exists".
class Netlink {
 public:
  // A socket in the calling thread's network namespace.
  static Result<Netlink> open();
  // A socket in the namespace of netns_fd (an fd of /proc/PID/ns/net or /run/netns/NAME; the
  // caller keeps ownership). A short-lived thread enters the namespace (setns CLONE_NEWNET),
  // opens the socket and exits, so no thread stays in the wrong namespace; the socket keeps
  // talking to that namespace for its whole life.
  static Result<Netlink> open_in(int netns_fd);

  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;
  ~Netlink();

  // Creates bridge `name` (vlan_filtering off, the kernel default), down; mtu 0 keeps the
  // kernel's default MTU.
  // EEXIST when a link of that name exists.
  Status create_bridge(const std::string& name, unsigned mtu = 0);
  // Creates veth pair host_name <-> peer_name (both down). With peer_netns_fd >= 0 the peer is
  // created directly in that namespace (IFLA_NET_NS_FD), so it never appears in this one.
  Status create_veth(const std::string& host_name, const std::string& peer_name,
                     unsigned mtu = 0, int peer_netns_fd = -1);
  // Attaches ifname to bridge `bridge`.
  Status set_master(const std::string& ifname, const std::string& bridge);
  // Sets IFF_UP.
  Status set_up(const std::string& ifname);
  Status set_mtu(const std::string& ifname, unsigned mtu);
  // Sets the hardware address, "02:42:ac:11:00:02" (EINVAL for other text).
  Status set_mac(const std::string& ifname, const std::string& mac);
  // Moves ifname into the namespace of netns_fd (the caller keeps the fd).
  Status set_netns(const std::string& ifname, int netns_fd);
  Status rename(const std::string& ifname, const std::string& new_name);
  // Adds "10.1.0.2/24" or "fd00::2/64" to ifname (IPv6 without duplicate address detection:
  // addresses come from IPAM and are usable at once). EINVAL for a malformed address.
  Status add_address(const std::string& ifname, const std::string& cidr);
  // Adds a route in the main table to `dest` ("0.0.0.0/0", "::/0" or a CIDR) through ifname,
  // via `gateway` when not empty (else a link-scope route).
  Status add_route(const std::string& dest, const std::string& gateway, const std::string& ifname);
  // Deletes ifname (for a veth, its peer goes too). ENODEV unless missing is IfMissing::kOk.
  Status delete_link(const std::string& ifname, IfMissing missing = IfMissing::kFail);
  // The index of link `name`; ENODEV when there is none.
  Result<int> link_index(const std::string& name);
  // Every link of the namespace.
  Result<std::vector<LinkInfo>> links();
  // The addresses of ifname as "address/prefix" (IPv4 and IPv6, link-local included).
  Result<std::vector<std::string>> addresses(const std::string& ifname);
  // Sets hairpin mode (IFLA_BRPORT_MODE) on bridge port ifname, which lets a container reach a
  // published port of its own network through the bridge. EOPNOTSUPP/EINVAL if not a port.
  Status set_hairpin(const std::string& ifname, bool on);
  // Turns VLAN filtering of bridge `bridge` on or off. Off succeeds on a kernel without bridge
  // VLAN filtering (EOPNOTSUPP there means it is off); on fails there with EOPNOTSUPP.
  Status set_vlan_filtering(const std::string& bridge, bool on);

 private:
  struct Deleter {
    void operator()(mnl_socket* s) const;
  };
  explicit Netlink(mnl_socket* sock);

  // Sends the message in buf (flags REQUEST|ACK added, seq assigned) and reads until the ACK
  // or, with dump, until NLMSG_DONE; cb (libmnl mnl_cb_t) sees each data message.
  Status transact(void* nlh, int (*cb)(const ::nlmsghdr*, void*), void* data);

  std::unique_ptr<mnl_socket, Deleter> sock_;
  unsigned port_id_ = 0;
  uint32_t seq_ = 0;
};

}  // namespace stack::network
