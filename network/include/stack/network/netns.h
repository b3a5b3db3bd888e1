// Persistent network namespaces (bound to a file, as `ip netns` does, so they outlive every
// process in them) and per-namespace sysctls. Each operation that needs to be inside a namespace
// runs on a short-lived thread that enters it, so no thread is ever left in the wrong one.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "stack/common/result.h"

namespace stack::network {

// Creates a new network namespace and bind-mounts it on `path` (an empty file is created; its
// directory must exist). EEXIST when something is already mounted there. A failure leaves no
// file behind.
Status create_netns(const std::string& path);
// Whether `path` holds a namespace mount (after a reboot the file may exist without one).
bool netns_mounted(const std::string& path);
// Unmounts and unlinks `path`; a missing file is no error. The namespace (and the veth ends in
// it) goes away with its last user.
Status remove_netns(const std::string& path);
// Runs fn on a thread inside the namespace of netns_fd and returns its status.
Status run_in_netns(int netns_fd, const std::function<Status()>& fn);
// Writes a sysctl ("net.ipv4.conf.br0.route_localnet") in the calling thread's namespace, or,
// with netns_fd >= 0, in that namespace. Errors name the key. Writing the value it already has
// is skipped.
Status write_sysctl(std::string_view key, std::string_view value, int netns_fd = -1);

}  // namespace stack::network
