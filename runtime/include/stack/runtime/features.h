// `stack-runtime features`: what this runtime supports, as the OCI features document
// (runtime-spec features.md): OCI versions, hooks, mount options, namespaces, capabilities,
// cgroup versions, seccomp actions/operators/architectures.
#pragma once

#include <string>

namespace stack::runtime {

std::string features_json();

}  // namespace stack::runtime
