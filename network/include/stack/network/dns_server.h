// DnsServer: the embedded DNS's event loop (epoll). It answers queries arriving on listeners
// (a UDP and a TCP socket per container, bound to 127.0.0.11:53 inside that container's network
// namespace by the caller) from a DnsTable, and forwards everything else to upstream resolvers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/unique_fd.h"
#include "stack/network/dns.h"

namespace stack::network {

class DnsServer {
 public:
  // An idle server with no listeners, an empty table and these upstreams. Errors: epoll or
  // eventfd creation.
  static Result<std::unique_ptr<DnsServer>> create(std::vector<DnsUpstream> upstreams);
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Serves a container: `udp` is a bound UDP socket, `tcp` a listening TCP socket (either may be
  // invalid to serve one transport only); both are made non-blocking and owned from now on.
  // `view` lists the container's networks in lookup order. Thread-safe; takes effect at the
  // loop's next wake-up. Returns the listener's id for remove_listener.
  // `upstreams`, when not empty, replace the server's for this listener's forwarded queries
  // (a container's own `dns:` servers).
  uint64_t add_listener(UniqueFd udp, UniqueFd tcp, std::vector<std::string> view,
                        std::vector<DnsUpstream> upstreams = {});
  // Closes a listener's sockets (open TCP connections it accepted finish their queries).
  // Unknown ids are ignored. Thread-safe.
  void remove_listener(uint64_t id);
  // Replaces the table; the next query sees it. Thread-safe.
  void set_table(std::shared_ptr<const DnsTable> table);
  // Replaces the upstreams for queries forwarded from now on; none → SERVFAIL. Thread-safe.
  void set_upstreams(std::vector<DnsUpstream> upstreams);
  // How long forwarded queries wait for an upstream before SERVFAIL (default 2 s).
  void set_upstream_timeout(std::chrono::milliseconds timeout);

  // Runs the loop on the calling thread until stop(). Errors only when epoll_wait fails; a
  // failing socket operation for one query is logged and answered with SERVFAIL or dropped.
  Status run();
  // Makes run() return soon (wakes it through an eventfd). Thread-safe; may precede run(), in
  // which case run() returns at once.
  void stop();

 private:
  struct Impl;
  explicit DnsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stack::network
