// LocalHost: the Host that is this machine. Its state lives under the state root, shared by
// every `stack` process and the shims:
//
//   <root>/containers/<id>/         one container (id: 64 hex), see docs/engine.md
//       container.json              the record (name, labels, image, …); written last at create
//                                   and atomically on rename: a directory without it is a
//                                   create that never finished, removed by the next observe
//       bundle/config.json          the OCI spec the shim creates the container from
//       shim.json status.json log.json shim.sock shim.pid    (shim_protocol.h)
//       rootfs/ upper/ work/        the overlay mount (image layers + the container's layer)
//       hosts resolv.conf hostname  bind-mounted at /etc/…
//       paused                      present while the container is paused
//   <root>/containers/.names/<name> symlink → <id>: claims a name across processes
//   <root>/containers/.lock         flock held while names are claimed, renamed or released
//   <root>/networks/<name>.json     bridge networks (docs/network.md); networks/ipam/ their
//                                   subnets and addresses; networks/.lock serializes them
//   <root>/netd.sock netd.lock      the root's stack-netd (embedded DNS, netd.h)
//   /run/stack/netns/<id>           each container's network namespace, bound to a file
//   <root>/volumes/                 the local volume driver
//   <root>/projects/<project>.lock  flock held by up/down/scale of one project
//   <root>/images/                  the image store
//
// Thread-safe: the executor calls it from several threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/syscalls.h"
#include "stack/common/unique_fd.h"
#include "stack/engine/host.h"

namespace stack::engine {

struct LocalHostOptions {
  std::string root = "/var/lib/stack";
  std::string shim_binary;  // stack-shim; empty: $STACK_SHIM, else beside /proc/self/exe
  std::string init_binary;  // stack-init for `init: true`; empty: $STACK_INIT, else beside it
  std::string netd_binary;  // stack-netd (embedded DNS); empty: $STACK_NETD, else beside it
  std::string runtime_root = "/run/stack/runtime";
  // Containers' network namespaces, bound to files named by container id.
  std::string netns_dir = "/run/stack/netns";
};

// A network as `stack network ls/inspect` shows it.
struct NetworkInfo {
  std::string name, id, created;
  std::string driver = "bridge";
  std::string bridge;  // the bridge interface
  std::string scope = "local";
  compose::Mapping labels, options;
  bool internal = false, attachable = false, enable_ipv6 = false;
  std::string ipam_driver = "default";
  struct Subnet {
    std::string subnet, gateway, ip_range;
    compose::Mapping aux_addresses;
  };
  std::vector<Subnet> subnets;
  struct Attached {
    std::string name, id;  // the container
    std::string ipv4, ipv6, mac;  // "172.18.0.2/16", "fd00::2/64" (with prefix, as Docker shows)
  };
  std::vector<Attached> containers;  // sorted by name
};

class LocalHost final : public Host {
 public:
  // Makes the state directories. `sys` must outlive the host.
  static Result<std::unique_ptr<LocalHost>> open(const LocalHostOptions& options, Syscalls& sys);
  ~LocalHost() override;

  const std::string& name() const override { return name_; }
  Result<Snapshot> observe(const std::string& project) override;
  Result<std::vector<ContainerInfo>> containers(const std::string& project) override;
  Status create_container(const ContainerRequest& request) override;
  Status start_container(const std::string& name) override;
  Status stop_container(const std::string& name, const StopOptions& options) override;
  Status kill_container(const std::string& name, const std::string& signal) override;
  Status remove_container(const std::string& name, bool force) override;
  Status rename_container(const std::string& name, const std::string& to) override;
  Status pause_container(const std::string& name) override;
  Status unpause_container(const std::string& name) override;
  Status create_network(const std::string& name, const compose::Network& config,
                        const compose::Mapping& labels) override;
  Status remove_network(const std::string& name) override;
  Status reassert_networks() override;
  Status create_volume(const std::string& name, const compose::Volume& volume,
                       const compose::Mapping& labels) override;
  Status remove_volume(const std::string& name) override;

  // ---- local extras for the CLI ----
  // Every network (sorted by name) / one by name or id prefix (ENOENT "network x not found").
  Result<std::vector<NetworkInfo>> networks();
  Result<NetworkInfo> inspect_network(const std::string& name);
  // Rebuilds the firewall table from the records (netd calls it when replicas change state).
  Status sync_firewall();
  const std::string& root() const { return options_.root; }
  // The container directory of `name` (ENOENT "no such container: name").
  Result<std::string> container_dir(const std::string& name);
  Result<ContainerInfo> inspect(const std::string& name);
  // Host pids of the container's processes (`top`).
  Result<std::vector<int>> processes(const std::string& name);
  // The runtime container id and root, for exec through the runtime library.
  Result<std::string> runtime_id(const std::string& name);
  const std::string& runtime_root() const { return options_.runtime_root; }

  struct Impl;  // private state (engine/src/host/local_impl.h)

 private:
  LocalHost(LocalHostOptions options, Syscalls& sys);
  LocalHostOptions options_;
  Syscalls& sys_;
  std::string name_ = "local";
  std::unique_ptr<Impl> impl_;
};

// Takes <root>/projects/<project>.lock: two `stack up` of one project serialise, and a `down`
// waits for an `up` to finish. Blocks; the lock is released when the fd closes (also when the
// process dies, so a killed `stack up` never leaves the project locked).
Result<UniqueFd> lock_project(const std::string& root, const std::string& project);

}  // namespace stack::engine
