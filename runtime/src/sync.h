// Messages between the runtime (parent) and the container's init (child) over a SOCK_SEQPACKET
// socketpair: one byte of type, then an optional payload. Errors carry errno and a message.
#pragma once

#include <string>
#include <utility>

#include "init_plan.h"
#include "stack/common/unique_fd.h"

namespace stack::runtime {

Status sync_send(int fd, SyncMsg type, const std::string& payload = "");
// Receives one message; EOF (the peer exited) is an error with code EPIPE. An fd sent with the
// message (SCM_RIGHTS) goes to *received, or is closed when received is null.
Result<std::pair<SyncMsg, std::string>> sync_recv(int fd, UniqueFd* received = nullptr);
// One recvmsg(2) into data (resized to what arrived); an fd sent with SCM_RIGHTS goes to
// *received (closed when received is null). Returns the byte count, 0 at EOF, or -1 with errno.
ssize_t recv_with_fd(int fd, std::string& data, UniqueFd* received, int flags);

// Child side: reports err as a kError message ("<errno>\n<text>").
void sync_send_error(int fd, const Error& err);
// Parent side: turns a kError payload back into an Error.
Error sync_error(const std::string& payload);

}  // namespace stack::runtime
