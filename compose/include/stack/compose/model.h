// The typed, normalised Compose model: what every later part of stack reads. Produced only by
// stack::compose::load(); every field holds the canonical long form (ports, volumes,
// depends_on, healthcheck.test … in their long syntax, durations in nanoseconds, sizes in bytes,
// relative paths made absolute against the project directory).
//
// std::optional marks attributes whose absence differs from their zero value. Plain values
// use their zero value for "not set", as Compose does (omitted from the canonical output).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stack::compose {

using Json = nlohmann::ordered_json;

// Nanoseconds; rendered as a Go duration ("1m30s") as Compose does.
struct Duration {
  int64_t ns = 0;
  bool operator==(const Duration&) const = default;
};

using Mapping = std::map<std::string, std::string>;                          // labels, sysctls …
using MappingWithEquals = std::map<std::string, std::optional<std::string>>;  // environment, args
// x-* keys, kept verbatim (as JSON) where Compose allows them.
using Extensions = std::map<std::string, Json>;

struct ServicePort {
  std::string name;
  std::string mode;  // "ingress" (default) or "host"
  std::string host_ip;
  uint32_t target = 0;
  std::string published;  // "8080", "8080-8090" or "" (ephemeral)
  std::string protocol;   // "tcp" (default), "udp", "sctp"
  std::string app_protocol;
  Extensions extensions;
  bool operator==(const ServicePort&) const = default;
};

struct ServiceVolumeBind {
  std::string propagation;
  std::optional<bool> create_host_path;
  std::string selinux;  // "z" or "Z"
  std::string recursive;  // enabled, disabled, writable, readonly
  Extensions extensions;
  bool operator==(const ServiceVolumeBind&) const = default;
};
struct ServiceVolumeVolume {
  bool nocopy = false;
  std::string subpath;
  Mapping labels;
  Extensions extensions;
  bool operator==(const ServiceVolumeVolume&) const = default;
};
struct ServiceVolumeTmpfs {
  int64_t size = 0;  // bytes
  uint32_t mode = 0;
  Extensions extensions;
  bool operator==(const ServiceVolumeTmpfs&) const = default;
};
struct ServiceVolumeImage {
  std::string subpath;
  Extensions extensions;
  bool operator==(const ServiceVolumeImage&) const = default;
};

struct ServiceVolume {
  std::string type;  // bind, volume, tmpfs, npipe, cluster, image
  std::string source;
  std::string target;
  bool read_only = false;
  std::string consistency;
  std::optional<ServiceVolumeBind> bind;
  std::optional<ServiceVolumeVolume> volume;
  std::optional<ServiceVolumeTmpfs> tmpfs;
  std::optional<ServiceVolumeImage> image;
  Extensions extensions;
  bool operator==(const ServiceVolume&) const = default;
};

struct ServiceNetwork {
  std::vector<std::string> aliases;
  std::string ipv4_address;
  std::string ipv6_address;
  std::vector<std::string> link_local_ips;
  std::string mac_address;
  std::string interface_name;
  Mapping driver_opts;
  int64_t priority = 0;
  int64_t gw_priority = 0;
  Extensions extensions;
  bool operator==(const ServiceNetwork&) const = default;
};

struct DependsOn {
  std::string condition;  // service_started, service_healthy, service_completed_successfully
  bool required = true;
  bool restart = false;
  Extensions extensions;
  bool operator==(const DependsOn&) const = default;
};

struct Healthcheck {
  std::optional<std::vector<std::string>> test;  // ["CMD", …], ["CMD-SHELL", "…"] or ["NONE"]
  std::optional<Duration> interval;
  std::optional<Duration> timeout;
  std::optional<uint64_t> retries;
  std::optional<Duration> start_period;
  std::optional<Duration> start_interval;
  bool disable = false;
  Extensions extensions;
  bool operator==(const Healthcheck&) const = default;
};

struct Logging {
  std::string driver;
  Mapping options;
  Extensions extensions;
  bool operator==(const Logging&) const = default;
};

struct Ulimit {
  int64_t single = 0;  // when written as one number
  int64_t soft = 0;
  int64_t hard = 0;
  Extensions extensions;
  bool operator==(const Ulimit&) const = default;
};

struct DeviceMapping {
  std::string source;
  std::string target;
  std::string permissions;  // "rwm" by default
  Extensions extensions;
  bool operator==(const DeviceMapping&) const = default;
};

// A service's use of a top-level secret or config.
struct FileReference {
  std::string source;
  std::string target;
  std::string uid;
  std::string gid;
  std::optional<uint32_t> mode;
  Extensions extensions;
  bool operator==(const FileReference&) const = default;
};

struct DeviceRequest {  // gpus and deploy.resources.reservations.devices
  std::vector<std::string> capabilities;
  std::optional<int64_t> count;  // -1 means "all"
  std::vector<std::string> device_ids;
  std::string driver;
  Mapping options;
  Extensions extensions;
  bool operator==(const DeviceRequest&) const = default;
};

struct GenericResource {
  std::string kind;
  int64_t value = 0;
  bool operator==(const GenericResource&) const = default;
};

struct Resource {
  std::optional<double> cpus;
  int64_t memory = 0;  // bytes
  std::optional<int64_t> pids;
  std::vector<DeviceRequest> devices;
  std::vector<GenericResource> generic_resources;
  Extensions extensions;
  bool operator==(const Resource&) const = default;
};

struct UpdateConfig {
  std::optional<uint64_t> parallelism;
  std::optional<Duration> delay;
  std::string failure_action;
  std::optional<Duration> monitor;
  std::optional<double> max_failure_ratio;
  std::string order;
  Extensions extensions;
  bool operator==(const UpdateConfig&) const = default;
};

struct RestartPolicy {
  std::string condition;  // none, on-failure, any
  std::optional<Duration> delay;
  std::optional<uint64_t> max_attempts;
  std::optional<Duration> window;
  Extensions extensions;
  bool operator==(const RestartPolicy&) const = default;
};

struct Placement {
  std::vector<std::string> constraints;
  std::vector<std::string> preferences;  // spread=<label>
  uint64_t max_replicas_per_node = 0;
  Extensions extensions;
  bool operator==(const Placement&) const = default;
};

struct Deploy {
  std::string mode;  // replicated (default), global, replicated-job, global-job
  std::optional<int64_t> replicas;
  Mapping labels;
  std::optional<UpdateConfig> update_config;
  std::optional<UpdateConfig> rollback_config;
  std::optional<Resource> limits;
  std::optional<Resource> reservations;
  std::optional<RestartPolicy> restart_policy;
  std::optional<Placement> placement;
  std::string endpoint_mode;
  Extensions extensions;
  bool operator==(const Deploy&) const = default;
};

struct Build {
  std::string context;  // absolute path, or a URL
  std::string dockerfile;
  std::string dockerfile_inline;
  std::vector<std::string> entitlements;
  MappingWithEquals args;
  std::vector<std::string> ssh;
  Mapping labels;
  std::vector<std::string> cache_from;
  std::vector<std::string> cache_to;
  bool no_cache = false;
  Mapping additional_contexts;
  std::string network;
  std::optional<std::string> provenance;
  std::optional<std::string> sbom;
  bool pull = false;
  std::string target;
  int64_t shm_size = 0;
  std::vector<std::string> extra_hosts;  // "host=ip"
  std::string isolation;
  bool privileged = false;
  std::vector<FileReference> secrets;
  std::vector<std::string> tags;
  std::map<std::string, Ulimit> ulimits;
  std::vector<std::string> platforms;
  Extensions extensions;
  bool operator==(const Build&) const = default;
};

struct BlkioLimit {
  std::string path;
  uint64_t rate = 0;
  bool operator==(const BlkioLimit&) const = default;
};
struct BlkioWeightDevice {
  std::string path;
  uint16_t weight = 0;
  bool operator==(const BlkioWeightDevice&) const = default;
};
struct BlkioConfig {
  uint16_t weight = 0;
  std::vector<BlkioWeightDevice> weight_device;
  std::vector<BlkioLimit> device_read_bps;
  std::vector<BlkioLimit> device_read_iops;
  std::vector<BlkioLimit> device_write_bps;
  std::vector<BlkioLimit> device_write_iops;
  Extensions extensions;
  bool operator==(const BlkioConfig&) const = default;
};

struct ServiceHook {
  std::vector<std::string> command;
  std::string user;
  bool privileged = false;
  std::string working_dir;
  MappingWithEquals environment;
  Extensions extensions;
  bool operator==(const ServiceHook&) const = default;
};

struct WatchRule {
  std::string path;
  std::string action;  // rebuild, sync, restart, sync+restart, sync+exec
  std::string target;
  std::vector<std::string> ignore;
  std::vector<std::string> include;
  bool initial_sync = false;
  std::optional<ServiceHook> exec;
  Extensions extensions;
  bool operator==(const WatchRule&) const = default;
};
struct Develop {
  std::vector<WatchRule> watch;
  Extensions extensions;
  bool operator==(const Develop&) const = default;
};

struct EnvFile {
  std::string path;  // absolute
  bool required = true;
  std::string format;  // "" or "raw"
  bool operator==(const EnvFile&) const = default;
};

struct Service {
  std::string name;
  std::vector<std::string> profiles;
  Mapping annotations;
  std::optional<bool> attach;
  std::optional<Build> build;
  std::optional<Develop> develop;
  std::optional<BlkioConfig> blkio_config;
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  std::string cgroup;  // host, private
  std::string cgroup_parent;
  int64_t cpu_count = 0;
  double cpu_percent = 0;
  int64_t cpu_period = 0;
  int64_t cpu_quota = 0;
  int64_t cpu_rt_period = 0;
  int64_t cpu_rt_runtime = 0;
  double cpus = 0;
  std::string cpuset;
  int64_t cpu_shares = 0;
  std::optional<std::vector<std::string>> command;  // set-but-empty clears the image's CMD
  std::vector<FileReference> configs;
  std::string container_name;
  std::map<std::string, DependsOn> depends_on;
  std::optional<Deploy> deploy;
  std::vector<std::string> device_cgroup_rules;
  std::vector<DeviceMapping> devices;
  std::vector<std::string> dns;
  std::vector<std::string> dns_opt;
  std::vector<std::string> dns_search;
  std::string domainname;
  std::optional<std::vector<std::string>> entrypoint;
  MappingWithEquals environment;  // env_file contents folded in unless loaded without resolution
  std::vector<EnvFile> env_file;  // empty once folded into environment
  std::vector<std::string> expose;
  std::vector<std::string> external_links;
  std::vector<std::string> extra_hosts;  // "host=ip", in file order
  std::vector<std::string> group_add;
  std::vector<DeviceRequest> gpus;
  std::string hostname;
  std::optional<Healthcheck> healthcheck;
  std::string image;
  std::optional<bool> init;
  std::string ipc;
  Mapping labels;  // label_file contents folded in unless loaded without resolution
  std::vector<std::string> label_file;  // absolute; empty once folded into labels
  std::vector<std::string> links;
  std::optional<Logging> logging;
  std::string mac_address;
  int64_t mem_limit = 0;
  int64_t mem_reservation = 0;
  std::optional<int64_t> mem_swappiness;
  int64_t memswap_limit = 0;
  std::string network_mode;
  // Ordered by name; a null entry (no per-network options) is std::nullopt.
  std::map<std::string, std::optional<ServiceNetwork>> networks;
  bool oom_kill_disable = false;
  int64_t oom_score_adj = 0;
  std::string pid;
  std::optional<int64_t> pids_limit;
  std::string platform;
  std::vector<ServicePort> ports;
  std::vector<ServiceHook> post_start;
  std::vector<ServiceHook> pre_stop;
  bool privileged = false;
  std::string pull_policy;
  std::string pull_refresh_after;
  bool read_only = false;
  std::string restart;
  std::string runtime;
  std::optional<int64_t> scale;
  std::vector<FileReference> secrets;
  std::vector<std::string> security_opt;
  int64_t shm_size = 0;
  bool stdin_open = false;
  std::optional<Duration> stop_grace_period;
  std::string stop_signal;
  Mapping storage_opt;
  Mapping sysctls;
  std::vector<std::string> tmpfs;
  bool tty = false;
  std::map<std::string, Ulimit> ulimits;
  bool use_api_socket = false;
  std::string user;
  std::string userns_mode;
  std::string uts;
  std::string volume_driver;
  std::vector<ServiceVolume> volumes;
  std::vector<std::string> volumes_from;
  std::string working_dir;
  Extensions extensions;

  bool operator==(const Service&) const = default;
};

struct IpamPool {
  std::string subnet;
  std::string ip_range;
  std::string gateway;
  Mapping aux_addresses;
  Extensions extensions;
  bool operator==(const IpamPool&) const = default;
};
struct Ipam {
  std::string driver;
  std::vector<IpamPool> config;
  Mapping options;
  Extensions extensions;
  bool operator==(const Ipam&) const = default;
};

struct Network {
  std::string key;   // the name in the file
  std::string name;  // the real name: <project>_<key> unless name: or external
  std::string driver;
  Mapping driver_opts;
  std::optional<Ipam> ipam;
  bool external = false;
  bool internal = false;
  bool attachable = false;
  std::optional<bool> enable_ipv4;
  std::optional<bool> enable_ipv6;
  Mapping labels;
  Extensions extensions;
  bool operator==(const Network&) const = default;
};

struct Volume {
  std::string key;
  std::string name;
  std::string driver;
  Mapping driver_opts;
  bool external = false;
  Mapping labels;
  Extensions extensions;
  bool operator==(const Volume&) const = default;
};

// Top-level secrets and configs share one shape.
struct FileObject {
  std::string key;
  std::string name;
  std::string file;         // absolute path
  std::string environment;  // name of a variable holding the content
  std::string content;      // configs only
  bool external = false;
  Mapping labels;
  std::string driver;
  Mapping driver_opts;
  std::string template_driver;
  Extensions extensions;
  bool operator==(const FileObject&) const = default;
};

struct Project {
  std::string name;
  std::string working_dir;                 // absolute project directory
  std::vector<std::string> config_files;   // absolute paths, in load order
  std::vector<Service> services;           // enabled services, sorted by name
  std::vector<Service> disabled_services;  // left out by profiles, sorted by name
  std::map<std::string, Network> networks;
  std::map<std::string, Volume> volumes;
  std::map<std::string, FileObject> secrets;
  std::map<std::string, FileObject> configs;
  Extensions extensions;

  const Service* find_service(const std::string& name) const;
  bool operator==(const Project&) const = default;
};

}  // namespace stack::compose
