// OCI mount options ("ro", "nosuid", "rbind", "rprivate", "mode=755", …) split into mount(2)
// flags, propagation changes and the filesystem data string.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stack::runtime {

struct MountOptions {
  unsigned long flags = 0;                 // MS_* to set (MS_BIND/MS_REC included for binds)
  std::vector<unsigned long> propagation;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE [|MS_REC]
  std::string data;                        // everything else, comma-joined, for the filesystem
  uint64_t attr_set = 0, attr_clr = 0;     // recursive attributes (rro, rnosuid, …): MOUNT_ATTR_*
  std::vector<std::string> unsupported;    // options recognised but not supported (idmap)
  bool bind() const;
};

MountOptions parse_mount_options(const std::vector<std::string>& options);

// Propagation names as in linux.rootfsPropagation ("rslave") → flags; 0 if unknown.
unsigned long propagation_flags(const std::string& name);

}  // namespace stack::runtime
