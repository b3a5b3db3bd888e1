// Capabilities and seccomp, prepared in the parent as plain data so that the container's init
// (after clone, where nothing may allocate or fail in surprising ways) only makes system calls.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/runtime/spec.h"

namespace stack::runtime {

// The five capability sets as bit masks (bit n = capability number n), from names checked
// against libcap. Unknown names are errors naming the set: `process.capabilities.bounding:
// unknown capability "CAP_FOO"`. Capabilities the running kernel does not know are dropped from
// the masks with a warning, as runc does.
struct CapabilityMasks {
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
  int last_cap = 40;  // highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap)
};
Result<CapabilityMasks> capability_masks(const Capabilities& caps);

// Applies masks to the calling thread. Called in the container init after the uid/gid switch
// (with PR_SET_KEEPCAPS set before it): drops the bounding set, capset() for effective,
// permitted and inheritable, then raises the ambient set. Uses only system calls.
// Returns 0 or an errno; *step names what failed.
int apply_capabilities(const CapabilityMasks& masks, const char** step);

// A compiled seccomp filter: classic BPF instructions (struct sock_filter, 8 bytes each) ready
// for seccomp(SECCOMP_SET_MODE_FILTER), plus the filter flags.
struct SeccompFilter {
  std::string bpf;  // raw sock_filter array
  unsigned flags = 0;  // SECCOMP_FILTER_FLAG_*
  bool wants_listener = false;  // an SCMP_ACT_NOTIFY rule exists
};

// Compiles a seccomp section with libseccomp (all actions, argument filters, architectures).
// Errors name the field: `linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"`.
// Unknown syscall names are skipped as runc does (they may not exist on this kernel/arch). As
// runc does, unless the default action is allow-like, syscalls numbered above every syscall the
// profile names return ENOSYS (so programs fall back from syscalls newer than the profile).
Result<SeccompFilter> compile_seccomp(const Seccomp& seccomp);

// As compile_seccomp, but caches the result under cache_dir by the SHA-256 of a canonical
// serialization of the section, libseccomp's version and the machine, so a start with an
// unchanged profile costs one file read. cache_dir is created if missing; a corrupt cache entry
// is recompiled; failing to write the cache only logs a warning.
Result<SeccompFilter> load_seccomp(const Seccomp& seccomp, const std::string& cache_dir);

// Installs a filter on the calling thread. Uses only system calls. With wants_listener, returns
// the listener fd in *listener_fd. Returns 0 or an errno.
int install_seccomp(const SeccompFilter& filter, int* listener_fd);

}  // namespace stack::runtime
