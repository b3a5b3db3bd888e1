// Pieces of build_init_plan() that live in their own files.
#pragma once

#include <string>
#include <vector>

#include "init_plan.h"

namespace stack::runtime {

// The spec's mounts as init steps: options parsed, bind sources checked, cgroup mounts expanded
// into the per-hierarchy mounts of the host's layout.
Result<std::vector<MountStep>> plan_mounts(const Spec& spec, const PlanContext& ctx);

}  // namespace stack::runtime
