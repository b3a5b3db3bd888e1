// Starting a helper binary (stack-shim, stack-netd) that reports on fd 3 once it is ready.
#pragma once

#include <string>
#include <vector>

#include "stack/common/result.h"

namespace stack::engine {

// Runs argv (argv[0] is the binary's path) with stdin /dev/null, stdout and stderr appended to
// `log`, fd 3 the write end of a pipe, every signal default and unblocked, in a process group of
// its own (new_session: a session of its own); then waits up to timeout_ms for its report on
// fd 3 ("0": ready; else the error text) and for the started process itself to exit (helpers
// fork into the background). Errors carry the report, or name the log when there is none.
Status spawn_and_await_ready(const std::vector<std::string>& argv, const std::string& log,
                             bool new_session, int timeout_ms);

}  // namespace stack::engine
