// Capability sets: names resolved with libcap in the parent, applied with raw system calls in
// the container's init (capabilities(7), prctl(2), capset(2)).
#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "stack/common/atomic_file.h"
#include "stack/common/log.h"
#include "stack/runtime/security.h"

namespace stack::runtime {
namespace {

// The highest capability number the running kernel knows. A kernel older than libcap knows
// fewer capabilities; asking it to raise one it lacks fails with EINVAL (capset(2)).
int kernel_last_cap() {
  auto text = read_file("/proc/sys/kernel/cap_last_cap");
  if (text.ok()) {
    try {
      int v = std::stoi(*text);
      if (v >= 0 && v < 64) return v;
    } catch (...) {
      // fall through to libcap's idea of the last capability
    }
  }
  return static_cast<int>(cap_max_bits()) - 1;
}

// Resolves one set into a mask. Names must carry the "CAP_" prefix as the OCI spec writes them;
// libcap alone would also accept bare numbers and lower-case names.
Result<uint64_t> set_mask(const std::vector<std::string>& names, const char* set, int last_cap) {
  uint64_t mask = 0;
  for (const auto& name : names) {
    cap_value_t value = 0;
    if (name.rfind("CAP_", 0) != 0 || cap_from_name(name.c_str(), &value) != 0 || value < 0 ||
        value >= 64) {
      return Error(EINVAL, std::string("process.capabilities.") + set + ": unknown capability \"" +
                               name + "\"");
    }
    if (value > last_cap) {
      // runc ignores capabilities the kernel does not support, with a warning.
      log::warn(std::string("process.capabilities.") + set + ": " + name + " (" +
                std::to_string(value) + ") is not supported by the running kernel (cap_last_cap " +
                std::to_string(last_cap) + "); ignored");
      continue;
    }
    mask |= uint64_t{1} << value;
  }
  return mask;
}

}  // namespace

Result<CapabilityMasks> capability_masks(const Capabilities& caps) {
  CapabilityMasks m;
  m.last_cap = kernel_last_cap();
  STACK_TRY(m.bounding, set_mask(caps.bounding, "bounding", m.last_cap));
  STACK_TRY(m.effective, set_mask(caps.effective, "effective", m.last_cap));
  STACK_TRY(m.inheritable, set_mask(caps.inheritable, "inheritable", m.last_cap));
  STACK_TRY(m.permitted, set_mask(caps.permitted, "permitted", m.last_cap));
  STACK_TRY(m.ambient, set_mask(caps.ambient, "ambient", m.last_cap));
  return m;
}

int apply_capabilities(const CapabilityMasks& masks, const char** step) {
  // The bounding set goes first: PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set, which
  // the capset() below may remove (capabilities(7), "Capability bounding set").
  for (int cap = 0; cap <= masks.last_cap && cap < 64; ++cap) {
    if (masks.bounding & (uint64_t{1} << cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, static_cast<unsigned long>(cap), 0UL, 0UL, 0UL) != 0) {
      *step = "PR_CAPBSET_DROP";
      return errno;
    }
  }

  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int word = 0; word < _LINUX_CAPABILITY_U32S_3; ++word) {
    data[word].effective = static_cast<uint32_t>(masks.effective >> (32 * word));
    data[word].permitted = static_cast<uint32_t>(masks.permitted >> (32 * word));
    data[word].inheritable = static_cast<uint32_t>(masks.inheritable >> (32 * word));
  }
  if (::syscall(SYS_capset, &header, data) != 0) {
    *step = "capset";
    return errno;
  }

  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) != 0) {
    *step = "PR_CAP_AMBIENT_CLEAR_ALL";
    return errno;
  }
  // The kernel refuses (EPERM) to raise an ambient capability that is not both permitted and
  // inheritable; runc warns and carries on, so such entries are skipped rather than fatal.
  const uint64_t raisable = masks.ambient & masks.permitted & masks.inheritable;
  for (int cap = 0; cap <= masks.last_cap && cap < 64; ++cap) {
    if (!(raisable & (uint64_t{1} << cap))) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<unsigned long>(cap), 0UL, 0UL) !=
        0) {
      *step = "PR_CAP_AMBIENT_RAISE";
      return errno;
    }
  }
  return 0;
}

}  // namespace stack::runtime
