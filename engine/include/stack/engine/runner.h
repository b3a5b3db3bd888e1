// HostRunner: performs plan nodes on a Host (execute.h's NodeRunner). It translates a node
// into host calls and nothing else: every decision was made by reconcile. The waits
// (wait_healthy, wait_completed) poll the host until every replica of the service is healthy or
// has exited, and fail with Compose's messages.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "stack/compose/model.h"
#include "stack/engine/execute.h"
#include "stack/engine/host.h"
#include "stack/engine/model.h"

namespace stack::engine {

struct RunnerOptions {
  std::optional<int64_t> stop_timeout_ms;  // `-t`: overrides each container's grace period
  int poll_ms = 100;                       // how often the waits look at the host
  // Seconds to wait for a service to become healthy or complete; 0 = no limit (Compose's
  // depends_on has none; `up --wait-timeout` sets one).
  int64_t wait_timeout_ms = 0;
};

class HostRunner final : public NodeRunner {
 public:
  // project and desired may be null for plans built from labels alone (down): then only
  // stop, remove and the removal of networks and volumes can run. All must outlive the runner.
  HostRunner(Host& host, const compose::Project* project, const DesiredProject* desired,
             RunnerOptions options = {});
  Status run(const Node& node, const CancelToken& cancel) override;

  // The request create_container gets for replica `number` of `service` (also `stack run`).
  // Secrets and configs are read here: files, environment variables, inline content. Errors
  // name the service.
  Result<ContainerRequest> container_request(const std::string& service, int number,
                                             const std::string& name) const;

 private:
  Status create(const Node& node);
  Status wait_service(const Node& node, const CancelToken& cancel, bool healthy);
  Host& host_;
  const compose::Project* project_;
  const DesiredProject* desired_;
  RunnerOptions options_;
};

// The part of a node's resource after "kind:" ("container:web-1" → "web-1").
std::string resource_id(const Node& node);

}  // namespace stack::engine
