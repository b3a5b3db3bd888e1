// The container spec builder: one Compose service + its image's config + what the engine has
// already prepared on the host (rootfs, /etc/hosts, volumes, secrets, namespaces to join) → the
// OCI runtime spec the runtime starts. Docker's rules (moby daemon/oci_linux.go, compose v2
// create.go) decide every default; deviations are noted where they occur.
//
// Pure except where the host must be asked: the seccomp profile file named by
// `security_opt: [seccomp=<file>]` is read, and device paths (devices, blkio_config) are looked
// up through ContainerContext::lookup_device (stat(2) unless a test injects one). User and group
// names are resolved against /etc/passwd and /etc/group text the engine passes in (it reads them
// fd-relative inside the rootfs), never by opening paths under the rootfs here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/compose/model.h"
#include "stack/engine/image/image_config.h"
#include "stack/runtime/spec.h"

namespace stack::engine {

// A device node on the host, as stat(2) sees it.
struct HostDevice {
  char type = 'c';  // 'c' or 'b'
  int64_t major = 0, minor = 0;
  mode_t mode = 0;  // permission bits
  uid_t uid = 0;
  gid_t gid = 0;
};

// Looks up the device node at a host path; errors when it is missing or not a device.
using DeviceLookup = std::function<Result<HostDevice>(const std::string& host_path)>;

// The real lookup: stat(2), ENODEV error when the path is neither a char nor a block device.
Result<HostDevice> stat_host_device(const std::string& host_path);

// Everything the engine resolved before building the spec. Nothing here is read from disk by
// the builder.
struct ContainerContext {
  std::string project, service, container_name;  // container_name: <project>-<service>-<n>
  std::string working_dir;  // the project directory: resolves a relative seccomp profile path
  int number = 1;
  std::string rootfs;  // the prepared rootfs (overlay merged dir), absolute
  // Files the engine wrote, bind-mounted at /etc/hosts, /etc/resolv.conf and /etc/hostname;
  // an empty path leaves the image's own file in place.
  std::string hosts_file, resolv_conf_file, hostname_file;
  // Host directory of each volume the service mounts: a named volume by its key in the file
  // (the service's volumes[].source), an anonymous volume by its target path in the container.
  std::map<std::string, std::string> volume_sources;
  // Host file of each secret and config reference, keyed by its path in the container
  // (file_reference_target) or else by the reference's source (secrets[].source); the engine
  // has written them with the reference's uid, gid and mode. Keying by target lets two
  // references to one secret carry different owners and modes.
  std::map<std::string, std::string> secret_files, config_files;
  std::string cgroups_path;  // e.g. "stack/<project>/<container>"; cgroup_parent folded in
  std::map<std::string, std::string> labels;  // engine labels, added as OCI annotations
  // Namespaces to join for ipc/pid/network_mode "container:x" / "service:x": "ipc" | "pid" |
  // "network" → /proc/<pid>/ns/<type>, resolved by the engine.
  std::map<std::string, std::string> join_namespaces;
  bool host_network = false;  // network_mode host: no network (and no /etc/hosts of ours) change
  // The image's /etc/passwd and /etc/group content, when the engine read them; needed only for
  // user/group_add names (numeric ids work without them).
  std::optional<std::string> passwd, group;
  DeviceLookup lookup_device;  // empty: stat_host_device
};

// The process's args: Docker's entrypoint/command rules. entrypoint set (even empty) replaces
// the image's Entrypoint; a non-empty entrypoint also drops the image's Cmd unless command is
// set; command set replaces Cmd and an explicitly empty command clears it. May be empty (the
// caller reports "no command specified").
std::vector<std::string> effective_command(const compose::Service& service,
                                           const image::ImageConfig& image);

// The container's configured environment ("K=V"), Docker's merge: the service's variables in
// name order, then the image's Env entries the service does not name. A service variable with no
// value (nullopt) unsets the image's. Does not add PATH/HOSTNAME/TERM/HOME: build_container_spec
// does (the daemon-side variables of Docker's CreateDaemonEnvironment).
std::vector<std::string> effective_environment(const compose::Service& service,
                                               const image::ImageConfig& image);

// Resolves "uid[:gid]" or "name[:group]" (Docker's user syntax) plus group_add entries (numbers
// or group names) to ids, as runc's GetExecUser: a known user's primary gid and (when no group
// is given) its supplementary groups from /etc/group. passwd/group: the files' text, or nullopt
// when not available (then names are an error). *home receives the user's home directory when
// passwd names it. Errors do not name a service; callers wrap them.
Result<runtime::User> resolve_user(const std::string& user,
                                   const std::vector<std::string>& group_add,
                                   const std::optional<std::string>& passwd,
                                   const std::optional<std::string>& group,
                                   std::string* home = nullptr);

// Where a secret (below /run/secrets/) or config (below /) reference is mounted in the
// container: its target, else its source, made absolute (compose v2's rule). Cleaned.
std::string file_reference_target(const compose::FileReference& ref, bool secret);

// Builds the OCI spec for one container of service. Starts from
// runtime::docker_default_spec() and applies every runtime-relevant attribute. Errors name the
// service and the attribute: `service web: ulimits.nofile: soft limit 10 above hard limit 5`,
// `service web: no command specified`. Thread-safe.
Result<runtime::Spec> build_container_spec(const compose::Service& service,
                                           const image::ImageConfig& image,
                                           const ContainerContext& ctx);

}  // namespace stack::engine
