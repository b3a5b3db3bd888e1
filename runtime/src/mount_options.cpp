#include "mount_options.h"

#include <sys/mount.h>

#include <cstring>

namespace stack::runtime {
namespace {

struct FlagOption {
  const char* name;
  bool clear;  // the option clears the flag instead of setting it
  unsigned long flag;
};

// mount(8) option names and the MS_* flags they stand for (runc and crun accept the same set).
constexpr FlagOption kFlagOptions[] = {
    {"async", true, MS_SYNCHRONOUS},   {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},          {"defaults", false, 0},
    {"dev", true, MS_NODEV},           {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION}, {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},         {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME}, {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION},   {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},        {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME}, {"nosuid", false, MS_NOSUID},
    {"nosymfollow", false, MS_NOSYMFOLLOW},  {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},        {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},                {"rw", true, MS_RDONLY},
    {"silent", false, MS_SILENT},            {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},               {"sync", false, MS_SYNCHRONOUS},
    {"symfollow", true, MS_NOSYMFOLLOW},
};

struct PropagationOption {
  const char* name;
  unsigned long flags;
};
constexpr PropagationOption kPropagation[] = {
    {"private", MS_PRIVATE},          {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},            {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},              {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},    {"runbindable", MS_UNBINDABLE | MS_REC},
};

// Recursive mount attributes, applied with mount_setattr(2) and AT_RECURSIVE to the mount and
// everything below it (runc 1.1 and the runtime spec's "rro" family). The atime options replace
// the whole MOUNT_ATTR__ATIME field.
struct RecursiveOption {
  const char* name;
  bool clear;
  uint64_t attr;
};
constexpr RecursiveOption kRecursive[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},          {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},      {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},        {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},      {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};
struct RecursiveAtime {
  const char* name;
  uint64_t attr;  // the MOUNT_ATTR__ATIME value to set; "rnoX" forms fall back to relatime
};
constexpr RecursiveAtime kRecursiveAtime[] = {
    {"rrelatime", MOUNT_ATTR_RELATIME},     {"rnorelatime", MOUNT_ATTR_STRICTATIME},
    {"rnoatime", MOUNT_ATTR_NOATIME},       {"ratime", MOUNT_ATTR_RELATIME},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME}, {"rnostrictatime", MOUNT_ATTR_RELATIME},
};

// Idmapped mounts need a user namespace fd per mount; not supported yet, and reported as such
// rather than ignored.
constexpr const char* kUnsupported[] = {"idmap", "ridmap"};

}  // namespace

bool MountOptions::bind() const { return (flags & MS_BIND) != 0; }

unsigned long propagation_flags(const std::string& name) {
  for (const auto& p : kPropagation)
    if (name == p.name) return p.flags;
  return 0;
}

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions out;
  for (const auto& option : options) {
    bool known = false;
    for (const auto& f : kFlagOptions) {
      if (option != f.name) continue;
      if (f.clear) out.flags &= ~f.flag;
      else out.flags |= f.flag;
      known = true;
      break;
    }
    if (known) continue;
    if (unsigned long p = propagation_flags(option)) {
      out.propagation.push_back(p);
      continue;
    }
    for (const auto& r : kRecursive) {
      if (option != r.name) continue;
      (r.clear ? out.attr_clr : out.attr_set) |= r.attr;
      (r.clear ? out.attr_set : out.attr_clr) &= ~r.attr;
      known = true;
    }
    for (const auto& a : kRecursiveAtime) {
      if (option != a.name) continue;
      out.attr_clr |= MOUNT_ATTR__ATIME;
      out.attr_set = (out.attr_set & ~MOUNT_ATTR__ATIME) | a.attr;
      known = true;
    }
    if (known) continue;
    for (const char* u : kUnsupported)
      if (option == u) known = true;
    if (known) {
      out.unsupported.push_back(option);
      continue;
    }
    if (!out.data.empty()) out.data += ',';
    out.data += option;
  }
  return out;
}

}  // namespace stack::runtime
