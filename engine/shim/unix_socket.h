// D/shim.sock: AF_UNIX SOCK_SEQPACKET, reached through /proc/self/fd/<dirfd>/shim.sock when D's
// absolute path does not fit sun_path (108 bytes; state roots can be deep).
#pragma once

#include <string>

#include "stack/common/result.h"
#include "stack/common/unique_fd.h"

namespace stack::engine::shim_socket {

// Binds and listens on dir/shim.sock (replacing a stale socket file); non-blocking, CLOEXEC.
Result<UniqueFd> listen_control(const std::string& dir);

// Connects to dir/shim.sock; CLOEXEC, blocking.
Result<UniqueFd> connect_control(const std::string& dir);

}  // namespace stack::engine::shim_socket
