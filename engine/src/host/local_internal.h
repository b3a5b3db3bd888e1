// LocalHost's private pieces: the container record, the /etc files and shim.json derived from a
// service, Docker's status text, and file-system helpers. Pure functions are unit-tested
// (tests/engine/local_files_test.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"
#include "stack/compose/model.h"
#include "stack/engine/host.h"
#include "stack/engine/image/image_config.h"
#include "stack/engine/shim_protocol.h"

namespace stack::engine::local {

inline constexpr const char* kRecordFile = "container.json";
inline constexpr const char* kPausedFile = "paused";

// A container's attachment to a network as recorded.
struct Endpoint {
  EndpointInfo info;
  std::string ifname;       // inside the container: eth0, eth1, …
  std::string host_ifname;  // the veth end on the network's bridge
};

// container.json.
struct ContainerRecord {
  std::string id, name, created;
  std::string image, image_digest;
  compose::Mapping labels;
  std::vector<std::string> command;  // the process args
  std::vector<compose::ServicePort> ports;
  std::vector<std::string> volumes;  // volumes acquired for this container (released on remove)
  std::vector<std::string> lowers;   // the image's layer dirs, overlay lowerdir order
  std::map<std::string, std::string> anonymous;  // mount point → anonymous volume name
  int64_t stop_grace_ms = 10000;
  // "bridge" (a namespace of its own with endpoints), "none", "host" or "container:<id>".
  std::string network_mode = "bridge";
  std::string netns;  // the namespace file of "bridge" and "none" containers
  std::vector<Endpoint> endpoints;           // priority order
  std::vector<PublishedPort> published;
  std::vector<std::string> links, external_links;  // as in the service (DNS aliases)
  std::vector<std::string> dns;  // the service's dns: servers (the embedded DNS's upstreams)
  std::vector<std::string> exposed;  // "80/tcp": the image's EXPOSE, expose:, port targets
};

std::string record_to_json(const ContainerRecord& record);
// Errors read "<where>: <field>: problem".
Result<ContainerRecord> parse_record(std::string_view text, const std::string& where);

// networks/<name>.json: a bridge network.
struct NetworkRecord {
  std::string name, id, created;
  std::string driver = "bridge";
  std::string bridge;  // the bridge interface
  compose::Mapping labels, options;
  bool internal = false, attachable = false, enable_ipv6 = false;
  unsigned mtu = 0;
  std::string ipam_driver = "default";
  std::vector<compose::IpamPool> ipam_config;  // as configured (the store has what was chosen)
};

std::string network_record_to_json(const NetworkRecord& record);
Result<NetworkRecord> parse_network_record(std::string_view text, const std::string& where);

// /etc/hosts as Docker writes it: localhost lines, then the extra_hosts ("name=ip" or
// "name:ip") in order, then the container's own name when it has a private network, on each of
// `addresses` (its first network's; 127.0.1.1 when it has none).
std::string hosts_content(const std::string& hostname, const std::string& domainname,
                          const std::vector<std::string>& extra_hosts, bool host_network,
                          const std::vector<std::string>& addresses = {});

// /etc/resolv.conf: the host's file with dns/dns_search/dns_opt replacing its nameserver,
// search and options lines. Without a network of its own, a container cannot reach the host's
// loopback resolvers, so those are dropped (Docker's rule) and, when nothing is left, Google's
// public resolvers are *not* added: the file stays without nameserver lines.
// With embedded_dns (a container on bridge networks) the nameserver is stack's resolver at
// 127.0.0.11 in the container's namespace, with ndots:0, as Docker writes it; the service's
// dns: servers are then the resolver's upstreams for that container, not nameserver lines.
std::string resolv_content(std::string_view host_resolv_conf, const compose::Service& service,
                           bool host_network, bool embedded_dns = false);

// shim.json for a service: restart (or deploy.restart_policy), stop signal (service, else
// image, else SIGTERM), stop_grace_period, tty, stdin_open, json-file max-size/max-file, and the
// healthcheck (the service's fields over the image's, Docker's defaults). Errors name the
// service and field.
Result<ShimConfig> shim_config_for(const compose::Service& service,
                                   const image::ImageConfig& image, const std::string& id,
                                   const std::string& bundle, const std::string& runtime_root);

// "1.5k", "10m", "2g", plain bytes → bytes (Docker's log max-size units, base 1024).
Result<int64_t> parse_size(std::string_view text);

// Docker's human status: "Up 5 seconds", "Up 2 minutes (healthy)", "Exited (0) 3 hours ago",
// "Created", "Restarting (1) 2 seconds ago", "Up 1 second (Paused)". Times are RFC 3339.
std::string status_text(const ObservedContainer& c, const std::string& started_at,
                        const std::string& finished_at, int64_t now_unix_ns);
// Go's units.HumanDuration: "Less than a second", "1 second", "45 seconds", "About a minute",
// "3 minutes", "About an hour", "2 hours", "3 days", "2 weeks", "5 months", "2 years".
std::string human_duration(int64_t ns);
// RFC 3339 (with or without fraction, Z) → unix ns; 0 for Docker's zero time or garbage.
int64_t parse_rfc3339_ns(std::string_view text);

// Removes a container directory (<containers dir>/<id>) without following symlinks or emptying
// a mount left inside (volumes::remove_tree_at). ENOENT is fine.
Status remove_container_dir(const std::string& containers_dir, const std::string& id);
// Teardown goes on past errors and reports them all: ok when `errors` is empty, else one EIO
// error "<what>: first; second; …".
Status all_errors(const std::vector<std::string>& errors, const std::string& what);
// The entries of a directory, sorted, without dot files ("" when it cannot be read).
std::vector<std::string> list_dir(const std::string& path);
// `bytes` random bytes as lower-case hex (getrandom).
std::string random_hex(size_t bytes);

}  // namespace stack::engine::local
