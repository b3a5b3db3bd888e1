// stack-netd: the network helper of one state root. There is no daemon to install: the engine
// starts it on demand (the first container on a bridge network) and it exits once no container
// of its root has a network namespace. It
//   - serves the embedded DNS: a UDP and a TCP socket bound to 127.0.0.11:53 inside every
//     container's network namespace (made on a thread that enters the namespace), answering
//     service names, container names, short ids, hostnames, aliases and links per network from
//     the records, forwarding everything else to the host's resolvers;
//   - watches the containers (inotify on their directories: the shims rewrite status.json on
//     every start, exit and health change) and rebuilds the DNS table and the firewall table,
//     so that a replica that dies or turns unhealthy stops getting names and connections.
//
// Files under the root: netd.lock (flock held for the helper's life: at most one per root),
// netd.sock (AF_UNIX SOCK_SEQPACKET: "sync [ID]" → "ok" once the records are applied and ID's
// DNS listener exists, else the reason; "kick" → no answer), netd.log.
#pragma once

#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/engine/host.h"
#include "stack/engine/local_host.h"
#include "stack/network/dns.h"

namespace stack::engine {

inline constexpr const char* kNetdSocket = "netd.sock";
inline constexpr const char* kNetdLock = "netd.lock";
inline constexpr const char* kNetdLog = "netd.log";

// The DNS records of every network from the containers' records: per network, each name
// (service, container name, short id, aliases) → the addresses of the containers that run and,
// among those with a healthcheck, are healthy (when a name has no healthy container, every
// running one). Links of a container form the network "@<container id>", listed first in
// its view. Pure.
struct DnsState {
  std::map<std::string, std::vector<network::DnsRecordSet>> networks;
  std::map<std::string, std::vector<std::string>> views;  // container id → its view
};
DnsState dns_state(const std::vector<ContainerInfo>& containers);

// Runs the helper for the root of `options` until no container needs it. ready_fd (>= 0)
// receives "0" once the first sync is done (or when another helper already serves the root),
// else an error text. Returns the process exit code.
int run_netd(const LocalHostOptions& options, int ready_fd);

// Asks the root's helper to apply the records now, starting it when none runs (`netd_binary`:
// stack-netd). With wait, returns once it has, and fails with the helper's reason when
// `container_id`'s DNS listener could not be made; without, returns after sending.
Status netd_sync(const LocalHostOptions& options, const std::string& netd_binary, bool wait,
                 const std::string& container_id = "");

}  // namespace stack::engine
