// The engine's two inputs to reconcile: the desired project (built from a loaded Compose
// project and the image digests resolved before planning) and the observed snapshot (what
// observe found on the hosts). Identity lives in labels, spelled as Docker Compose spells them
// so that users' filters and habits carry over. Pure data and pure functions: no I/O,
// thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "stack/common/result.h"
#include "stack/compose/model.h"

namespace stack::engine {

// Compose's label keys (docker/compose pkg/api/labels.go).
inline constexpr std::string_view kLabelProject = "com.docker.compose.project";
inline constexpr std::string_view kLabelService = "com.docker.compose.service";
inline constexpr std::string_view kLabelNumber = "com.docker.compose.container-number";
inline constexpr std::string_view kLabelConfigHash = "com.docker.compose.config-hash";
inline constexpr std::string_view kLabelOneoff = "com.docker.compose.oneoff";
inline constexpr std::string_view kLabelWorkingDir = "com.docker.compose.project.working_dir";
inline constexpr std::string_view kLabelConfigFiles = "com.docker.compose.project.config_files";
inline constexpr std::string_view kLabelImage = "com.docker.compose.image";  // image digest
inline constexpr std::string_view kLabelDependsOn = "com.docker.compose.depends_on";
inline constexpr std::string_view kLabelVersion = "com.docker.compose.version";
inline constexpr std::string_view kLabelNetwork = "com.docker.compose.network";  // file key
inline constexpr std::string_view kLabelVolume = "com.docker.compose.volume";    // file key

// The value written under com.docker.compose.version: stack's own version.
std::string_view label_version();

// ---- Naming (as Compose) ----

// "<project>-<service>-<number>".
std::string container_name(std::string_view project, std::string_view service, int number);
// A one-off (`stack run`) container: "<project>-<service>-run-<hex12>".
std::string oneoff_container_name(std::string_view project, std::string_view service,
                                  std::string_view hex12);
// A project network or volume without `name:`: "<project>_<key>".
std::string resource_name(std::string_view project, std::string_view key);
// The temporary name of a replacement while the old container still holds the name:
// "<first 12 characters of old_id>_<name>" (Compose's recreateContainer).
std::string recreate_temp_name(std::string_view old_id, std::string_view name);

// ---- depends_on ----

enum class Condition { kStarted, kHealthy, kCompletedSuccessfully };

// "service_started", "service_healthy", "service_completed_successfully".
std::string_view to_string(Condition condition);
// The inverse; "" means service_started (Compose's default). Error: unknown condition, quoted.
Result<Condition> parse_condition(std::string_view text);

struct Dependency {
  Condition condition = Condition::kStarted;
  bool required = true;
  bool restart = false;  // restart this service when the dependency is recreated
  bool operator==(const Dependency&) const = default;
};

// ---- Desired state ----

struct DesiredService {
  std::string name;
  int replicas = 1;         // scale, else deploy.replicas, else 1; 0 allowed
  std::string config_hash;  // compose::config_hash
  std::string image_ref;    // as written in the file
  std::string image_digest;  // resolved before planning ("sha256:…"); "" only with 0 replicas
  std::map<std::string, Dependency> depends_on;
  std::string container_name;  // `container_name:`; only valid with one replica
  bool has_healthcheck = false;  // the file configures a test (the image may add one)
  std::vector<std::string> networks;  // file keys of the project networks it joins
  std::vector<std::string> volumes;   // file keys of the project volumes it mounts

  // The name of replica `number`: container_name when set, else <project>-<service>-<n>.
  std::string replica_name(std::string_view project, int number) const;
};

struct DesiredNetwork {
  std::string key;   // the name in the file
  std::string name;  // <project>_<key> unless `name:` or external
  bool external = false;
};

struct DesiredVolume {
  std::string key;
  std::string name;
  bool external = false;
};

struct DesiredProject {
  std::string name;
  std::string working_dir;
  std::vector<std::string> config_files;
  std::vector<DesiredService> services;        // sorted by name
  std::vector<std::string> disabled_services;  // left out by profiles: never orphans
  std::vector<DesiredNetwork> networks;        // used by some service, sorted by key
  std::vector<DesiredVolume> volumes;          // used by some service, sorted by key

  const DesiredService* find_service(std::string_view name) const;
};

// Builds the desired project from a loaded Compose project. `image_digests` maps service name
// to the digest of its resolved image. Networks and volumes no service uses are left out (as
// Compose does). Errors name the service: a replica count below 0, container_name with more
// than one replica, a missing digest for a service with replicas, an unknown condition.
Result<DesiredProject> desired_project(const compose::Project& project,
                                       const std::map<std::string, std::string>& image_digests);

// ---- Labels ----

// Identity parsed back from a container's labels.
struct ContainerLabels {
  std::string project;
  std::string service;
  int number = 0;  // 0 when absent (one-offs carry 1, as Compose)
  std::string config_hash;
  std::string image_digest;
  bool oneoff = false;
  std::string working_dir;
  std::vector<std::string> config_files;
  std::map<std::string, Dependency> depends_on;
  std::string version;
  bool operator==(const ContainerLabels&) const = default;
};

// The identity labels of replica `number` of `service` (user labels are merged by the caller).
// depends_on renders as Compose does: "db:service_healthy:false,cache:service_started:true".
compose::Mapping container_labels(const DesiredProject& project, const DesiredService& service,
                                  int number, bool oneoff);
// The inverse. Missing keys leave defaults; errors (malformed number, oneoff or depends_on)
// quote the label and its value.
Result<ContainerLabels> parse_container_labels(const compose::Mapping& labels);

// Labels of a project network / volume: project, network|volume key, version.
compose::Mapping network_labels(std::string_view project, std::string_view key);
compose::Mapping volume_labels(std::string_view project, std::string_view key);

// ---- Observed state ----

enum class ContainerState { kCreated, kRunning, kPaused, kRestarting, kExited, kDead };
enum class Health { kNone, kStarting, kHealthy, kUnhealthy };

// Docker's spellings: "created", "running", … and "", "starting", "healthy", "unhealthy".
std::string_view to_string(ContainerState state);
std::string_view to_string(Health health);
Result<ContainerState> parse_container_state(std::string_view text);
Result<Health> parse_health(std::string_view text);

struct ObservedContainer {
  std::string name;
  std::string id;  // full hex id
  std::string host = "local";
  ContainerLabels labels;
  ContainerState state = ContainerState::kCreated;
  int exit_code = 0;
  Health health = Health::kNone;
};

struct ObservedNetwork {
  std::string name;
  std::string key;  // com.docker.compose.network
  std::string host = "local";
};

struct ObservedVolume {
  std::string name;
  std::string key;  // com.docker.compose.volume
  std::string host = "local";
};

// Everything observe found carrying the project label, on every host.
struct Snapshot {
  std::vector<ObservedContainer> containers;
  std::vector<ObservedNetwork> networks;
  std::vector<ObservedVolume> volumes;
};

}  // namespace stack::engine
