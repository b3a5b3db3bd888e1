// reconcile: desired project + observed snapshot → Plan, following Docker Compose v2's
// convergence (pkg/compose/convergence.go) so that `stack up` changes what `docker compose up`
// would change. Pure functions: no I/O, thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/engine/model.h"
#include "stack/engine/plan.h"

namespace stack::engine {

struct ReconcileOptions {
  // Services named on the command line (empty: all), plus their transitive depends_on.
  std::vector<std::string> services;
  bool no_deps = false;         // do not pull in depends_on of the selected services
  bool no_start = false;        // create only; no start and no wait nodes
  bool force_recreate = false;  // recreate the selected services even when unchanged
  bool always_recreate_deps = false;  // force_recreate for the pulled-in dependencies too
  bool no_recreate = false;     // never recreate, even when changed
  bool remove_orphans = false;  // stop+remove containers of services no longer in the file
  std::map<std::string, int> scale;  // --scale svc=N, overriding replicas
  std::string host = "local";   // where new containers go (placement is trivial on one host)
};

// The plan that makes the snapshot match the desired project. Containers of other projects
// and one-off containers are ignored. Orphans become stop+remove nodes with remove_orphans,
// else a warning worded as Compose's. A converged project yields an empty plan.
// Errors (EINVAL): "no such service: x" (selection or --scale), "--force-recreate and
// --no-recreate are incompatible", a negative scale, container_name with scale > 1,
// "dependency cycle: a → b → a", "service web depends on undefined service db". A
// service_healthy dependency on a service without a healthcheck is the executor's error (the
// image may define one), as in Compose.
Result<Plan> reconcile(const DesiredProject& desired, const Snapshot& snapshot,
                       const ReconcileOptions& options);

struct DownOptions {
  bool volumes = false;  // -v: remove the project's (non-external) volumes too
  // Only when set: containers of the project whose service is not in this list are left
  // alone unless remove_orphans (the file is optional for `down`; without it everything of
  // the project goes).
  std::vector<std::string> services;
  bool remove_orphans = false;
};

// The plan of `stack down`, from labels alone: stop containers in reverse dependency order
// (the depends_on label of each container: a container stops after the containers that depend
// on it), remove every container (one-offs too), then the project's networks, then volumes
// with `volumes`. Snapshot volumes and networks are the project's own (labelled); external
// ones never carry the label and so are never removed.
Plan plan_down(const Snapshot& snapshot, const DownOptions& options);

}  // namespace stack::engine
