// Host: what the engine asks of one machine. observe() takes the snapshot reconcile plans
// from; the other calls perform plan nodes. LocalHost (local_host.h) is this machine; an SSH
// host implements the same calls through `stack agent` later, so the engine above needs no
// redesign. Every call is thread-safe: the executor runs nodes in parallel.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/compose/model.h"
#include "stack/engine/model.h"

namespace stack::engine {

// Everything the host needs to create one container. The host builds the OCI spec itself
// (the rootfs, volumes and /etc files are its own paths).
struct ContainerRequest {
  std::string name;
  compose::Service service;        // the canonical service from the loaded project
  std::string project;
  std::string working_dir;         // the project directory (relative seccomp profiles)
  int number = 1;
  std::string image_ref;           // as written in the file, for display
  std::string image_digest;        // config digest of the resolved image ("sha256:…")
  compose::Mapping labels;         // identity labels and the service's own labels
  // Project volumes by the service's source key → the volume's full name (<project>_<key>,
  // `name:` or external).
  std::map<std::string, std::string> volume_names;
  // Project secrets and configs by key, resolved by the caller (file content or environment).
  std::map<std::string, std::string> secrets, configs;
  bool oneoff = false;
  // Project networks by the service's network key → the network's full name (<project>_<key>,
  // `name:` or external).
  std::map<std::string, std::string> network_names;
  std::vector<std::string> external_networks;  // full names of the external ones among them
  // The id (or a unique prefix) of the container this one replaces (a recreate): its anonymous volumes are reused
  // at the same mount points, as Compose does, so a recreate keeps e.g. a database's data.
  std::string replaces;
};

// A published port as bound: "0.0.0.0:8080->80/tcp".
struct PublishedPort {
  std::string host_ip;  // "0.0.0.0", "::" or the configured address
  uint16_t host_port = 0;
  uint32_t target = 0;
  std::string protocol = "tcp";
  bool operator==(const PublishedPort&) const = default;
};

// A container's attachment to one network.
struct EndpointInfo {
  std::string network;               // the network's full name
  std::string ipv4, ipv6;            // "172.18.0.2", "" when the network lacks the family
  int ipv4_prefix = 0, ipv6_prefix = 0;
  std::string gateway4, gateway6;
  std::string mac;
  std::vector<std::string> aliases;  // names it answers to on this network (DNS)
};

// One container as a host records it: observe's ObservedContainer plus what `ps`, `port`
// and `inspect` show.
struct ContainerInfo {
  ObservedContainer observed;
  compose::Mapping labels;       // every label
  std::string image;             // the reference it was created from
  std::string command;           // the process args, space-joined as `docker ps` shows them
  std::string created;           // RFC 3339
  std::string running_for;       // Docker's "2 minutes ago" since created
  std::string started_at, finished_at;
  int pid = 0;                   // init's host pid while running
  int restart_count = 0;
  std::string status_text;       // Docker's "Up 2 minutes (healthy)", "Exited (0) 3 seconds ago"
  std::string error;             // why the last start failed
  std::vector<compose::ServicePort> ports;  // as configured
  std::vector<PublishedPort> published;     // as bound on the host
  std::string network_mode;                 // "bridge", "none", "host", "container:<id>"
  std::vector<EndpointInfo> endpoints;      // in priority order (the first has the default route)
  std::string netns;                        // its network namespace file ("" = the host's)
  // Compose links: "service" or "service:alias", and external_links: "container[:alias]".
  std::vector<std::string> links, external_links;
  std::vector<std::string> dns;  // its own upstream resolvers (Compose `dns:`)
  std::vector<std::string> exposed;  // "80/tcp", sorted: EXPOSE, expose: and published targets
  std::vector<std::string> anonymous_volumes;  // the anonymous volumes it mounts
};

struct StopOptions {
  std::optional<int64_t> timeout_ms;  // default: the container's stop_grace_period
};

class Host {
 public:
  virtual ~Host() = default;
  virtual const std::string& name() const = 0;

  // Every container, network and volume labelled with `project` ("" = every project).
  virtual Result<Snapshot> observe(const std::string& project) = 0;
  // The same containers with the details `ps` shows (one-offs included), sorted by name.
  virtual Result<std::vector<ContainerInfo>> containers(const std::string& project) = 0;

  // Creates (does not start) a container. EEXIST "container name x is already in use" when
  // the name is taken. A failure leaves nothing behind.
  virtual Status create_container(const ContainerRequest& request) = 0;
  // Starts a created or exited container and returns once its process runs (or failed to).
  virtual Status start_container(const std::string& name) = 0;
  // Stops a running container (stop signal, SIGKILL after the grace period); no-op when it is
  // not running.
  virtual Status stop_container(const std::string& name, const StopOptions& options) = 0;
  virtual Status kill_container(const std::string& name, const std::string& signal) = 0;
  // Removes a container and everything it owns on the host (rootfs, logs, anonymous volume
  // references). ENOENT when missing; EBUSY when running unless `force` (then killed first).
  virtual Status remove_container(const std::string& name, bool force) = 0;
  virtual Status rename_container(const std::string& name, const std::string& to) = 0;
  virtual Status pause_container(const std::string& name) = 0;
  virtual Status unpause_container(const std::string& name) = 0;

  // Project networks and volumes. Creating one that exists is a no-op (a network whose bridge
  // is gone, after a reboot, gets it back).
  virtual Status create_network(const std::string& name, const compose::Network& config,
                                const compose::Mapping& labels) = 0;
  virtual Status remove_network(const std::string& name) = 0;
  // Puts back what the host's network setup lost behind its back: bridges gone after a reboot,
  // the firewall table after someone flushed the ruleset. `up` calls it every time.
  virtual Status reassert_networks() = 0;
  virtual Status create_volume(const std::string& name, const compose::Volume& volume,
                               const compose::Mapping& labels) = 0;
  virtual Status remove_volume(const std::string& name) = 0;
};

}  // namespace stack::engine
