// OCI hooks: each runs as a child process with the container's state JSON on stdin, and must
// exit 0 within its timeout.
#pragma once

#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/runtime/spec.h"

namespace stack::runtime {

// Runs hooks in order; stops at the first failure, whose error names kind ("prestart") and path.
Status run_hooks(const std::vector<Hook>& hooks, const std::string& state_json, const char* kind);

}  // namespace stack::runtime
