// LocalHost's shared private state (local_host.h): paths, the runtime, the volume driver, and
// loading container directories.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "local_internal.h"
#include "stack/engine/local_host.h"
#include "stack/network/ipam.h"
#include "stack/runtime/container.h"
#include "stack/volumes/local.h"

namespace stack::engine {

struct LocalHost::Impl {
  Impl(const LocalHostOptions& o, Syscalls& s);

  LocalHostOptions options;
  Syscalls& sys;
  std::string containers_dir, names_dir, networks_dir;
  runtime::Runtime runtime;

  // One container directory as found on disk.
  struct Loaded {
    std::string dir;
    local::ContainerRecord record;
    std::optional<ShimStatus> status;  // absent until a shim first ran it
    bool alive = false;                // a shim supervises it now
    bool paused = false;
  };

  std::string dir_of(const std::string& id) const { return containers_dir + "/" + id; }
  // The global name lock (containers/.lock), held while names are claimed or released.
  Result<UniqueFd> lock_names() const;
  std::string link_target(const std::string& name) const;
  bool has_record(const std::string& id) const;
  // The id of a container by name, id or unique id prefix. ENOENT "no such container: x".
  Result<std::string> find_id(const std::string& name) const;
  Result<Loaded> load(const std::string& id) const;
  std::vector<Loaded> load_all(const std::string& project) const;
  void collect_unfinished(const std::string& id) const;
  ObservedContainer observed(const Loaded& l, const std::string& host) const;
  ContainerInfo info(const Loaded& l, const std::string& host) const;
  // A container whose shim died: kill and delete what the runtime still has, record the exit.
  void reap_orphan(const Loaded& l);
  Result<bool> await_running_shim(const std::string& id);

  // Networks (local_network.cpp). networks/.lock serializes network records, port choice and
  // the firewall across processes; the firewall table is always rebuilt whole from the records.
  std::string netns_dir;
  mutable network::IpamStore ipam;
  Result<UniqueFd> lock_networks() const;
  Result<local::NetworkRecord> load_network(const std::string& name) const;
  std::vector<local::NetworkRecord> load_networks() const;
  // Creates the bridge, its gateway addresses and sysctls when missing (first use, or after a
  // reboot). Caller holds lock_networks.
  Status ensure_bridge(const local::NetworkRecord& record);
  // Rebuilds the firewall table from every network and running container (one atomic batch).
  // Caller holds lock_networks.
  Status sync_firewall_locked();
  Status sync_firewall();
  // The nft table of this state root: "stack" for /var/lib/stack, else "stack_<hash>".
  std::string firewall_table() const;

  // Endpoints (local_endpoints.cpp). At create: the network mode, addresses from IPAM and the
  // published host ports, into the record (the caller releases them with release_endpoints on
  // failure). At start: the namespace, veths, addresses and routes (idempotent). At remove:
  // everything the container held.
  Status allocate_endpoints(const ContainerRequest& request, const std::string& id,
                            const std::string& dir, local::ContainerRecord& record);
  Status attach_endpoints(const local::ContainerRecord& record);
  Status release_endpoints(const local::ContainerRecord& record) const;

  // Volumes (local_volumes.cpp).
  Result<volumes::LocalDriver*> driver();
  Result<std::vector<ObservedVolume>> project_volumes(const std::string& project);
  std::mutex driver_mu;
  std::optional<volumes::LocalDriver> driver_;
};

}  // namespace stack::engine
