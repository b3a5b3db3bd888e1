// Helpers shared by the netlink*.cpp files: request buffers and error text.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstring>
#include <string>
#include <vector>

#include "stack/common/result.h"

namespace stack::network::detail {

// A request buffer with its netlink header already placed (type and extra flags set).
class Request {
 public:
  Request(uint16_t type, uint16_t flags) : buf_(MNL_SOCKET_BUFFER_SIZE, 0) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = type;
    nlh_->nlmsg_flags = flags;
  }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  nlmsghdr* nlh() { return nlh_; }
  // Appends a zeroed family header (ifinfomsg, ifaddrmsg, rtmsg) and returns it.
  template <class T>
  T* header() {
    return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(T)));
  }

 private:
  std::vector<char> buf_;
  nlmsghdr* nlh_;
};

// Calls fn(const nlattr*) for each attribute after the family header of `offset` bytes
// (mnl_attr_for_each, which assigns void* and so is C only).
template <class Fn>
void for_each_attr(const nlmsghdr* nlh, size_t offset, Fn fn) {
  auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, offset));
       mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)));
       attr = mnl_attr_next(attr)) {
    fn(attr);
  }
}

// "interface NAME: WHAT: strerror(err)", with err as code.
inline Error iface_error(const std::string& ifname, const std::string& what, const Error& e) {
  Error out(e.code, "interface " + ifname + ": " + what + ": " + e.message);
  return out;
}

inline Status wrap_iface(Status s, const std::string& ifname, const std::string& what) {
  if (s.ok()) return s;
  return iface_error(ifname, what, s.error());
}

}  // namespace stack::network::detail
