// The parent side of create/run, shared by the lifecycle operations.
#pragma once

#include <signal.h>

#include "stack/common/unique_fd.h"
#include "stack/runtime/cgroup.h"
#include "stack/runtime/container.h"

namespace stack::runtime {

struct Launched {
  pid_t pid = -1;
  UniqueFd start_write;  // foreground (run): write one byte to start the container
};

// Creates the container and leaves its init waiting for start. With foreground the init waits
// on a pipe whose write end is returned (no exec.fifo) and starts with child_mask as its signal
// mask; otherwise it waits on exec.fifo for `start`.
Result<Launched> launch_container(const std::string& root, Syscalls& sys, const CreateOptions& options,
                                  bool foreground, const sigset_t* child_mask);

// This host's cgroup layout, from /proc/self/mountinfo.
Result<CgroupHost> host_cgroups();

}  // namespace stack::runtime
