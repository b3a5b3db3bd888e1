// `run` in the foreground: waiting for the container while forwarding signals and, for a
// terminal without a console socket, proxying the pty to the caller's stdio.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "stack/common/result.h"
#include "stack/common/unique_fd.h"

namespace stack::runtime {

// Receives one fd sent with SCM_RIGHTS, without blocking; invalid if none is queued.
UniqueFd receive_fd(int socket_fd);

// Waits for pid (our child) to exit, forwarding the signals in `signals` (already blocked;
// SIGCHLD among them) to it, and copying stdin → master and master → stdout when master >= 0.
// Returns the raw wait status.
Result<int> wait_foreground(pid_t pid, const sigset_t& signals, int master);

}  // namespace stack::runtime
