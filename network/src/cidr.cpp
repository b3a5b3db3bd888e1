// IpAddress and Cidr: parsing, formatting and prefix arithmetic for both families.
#include <arpa/inet.h>

#include <charconv>

#include "stack/network/ipam.h"

namespace stack::network {

namespace {

Uint128 host_mask(int bits, int prefix_len) {
  int host_bits = bits - prefix_len;
  if (host_bits <= 0) return 0;
  if (host_bits >= 128) return ~Uint128{0};
  return (Uint128{1} << host_bits) - 1;
}

}  // namespace

Result<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  if (s.find(':') == std::string::npos) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) == 1) return v4(ntohl(a.s_addr));
  } else {
    in6_addr a{};
    if (inet_pton(AF_INET6, s.c_str(), &a) == 1) {
      Uint128 v = 0;
      for (unsigned char byte : a.s6_addr) v = (v << 8) | byte;
      return v6(v);
    }
  }
  return Error(EINVAL, "invalid IP address \"" + s + "\"");
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!is_v6()) {
    in_addr a{};
    a.s_addr = htonl(static_cast<uint32_t>(value_));
    inet_ntop(AF_INET, &a, buf, sizeof buf);
  } else {
    in6_addr a{};
    for (int i = 15; i >= 0; --i) {
      a.s6_addr[i] = static_cast<unsigned char>(value_ >> (8 * (15 - i)));
    }
    inet_ntop(AF_INET6, &a, buf, sizeof buf);
  }
  return buf;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  std::string quoted = "\"" + std::string(text) + "\"";
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Error(EINVAL, "invalid subnet " + quoted + ": missing prefix length");
  }
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return Error(EINVAL, "invalid subnet " + quoted + ": invalid address");
  std::string_view len_text = text.substr(slash + 1);
  int len = -1;
  auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (len_text.empty() || ec != std::errc() || end != len_text.data() + len_text.size() ||
      len < 0 || len > addr->bits()) {
    return Error(EINVAL, "invalid subnet " + quoted + ": invalid prefix length");
  }
  Cidr c = of(*addr, len);
  if (c.network_ != *addr) {
    return Error(EINVAL, "invalid subnet " + std::string(text) + ": it has host bits set");
  }
  return c;
}

Cidr Cidr::of(const IpAddress& address, int prefix_len) {
  Cidr c;
  Uint128 v = address.value() & ~host_mask(address.bits(), prefix_len);
  c.network_ = address.is_v6() ? IpAddress::v6(v) : IpAddress::v4(static_cast<uint32_t>(v));
  c.prefix_len_ = prefix_len;
  return c;
}

IpAddress Cidr::last() const {
  Uint128 v = network_.value() | host_mask(network_.bits(), prefix_len_);
  return is_v6() ? IpAddress::v6(v) : IpAddress::v4(static_cast<uint32_t>(v));
}

bool Cidr::contains(const IpAddress& address) const {
  return address.family() == family() && address >= network_ && address <= last();
}

bool Cidr::contains(const Cidr& other) const {
  return other.family() == family() && other.prefix_len_ >= prefix_len_ &&
         contains(other.network_);
}

bool Cidr::overlaps(const Cidr& other) const { return contains(other) || other.contains(*this); }

Result<IpAddress> Cidr::nth(Uint128 n) const {
  if (n > host_mask(network_.bits(), prefix_len_)) {
    return Error(ERANGE, "address index past the end of subnet " + to_string());
  }
  Uint128 v = network_.value() + n;
  return is_v6() ? IpAddress::v6(v) : IpAddress::v4(static_cast<uint32_t>(v));
}

std::string Cidr::to_string() const {
  return network_.to_string() + "/" + std::to_string(prefix_len_);
}

}  // namespace stack::network
