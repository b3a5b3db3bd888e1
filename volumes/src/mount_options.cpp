// The local driver's `type`/`o`/`device` options: validation at create, and the mount at
// acquire, following moby/sys/mount (flags.go, mounter_linux.go) and moby's local_unix.go.
#include <sys/mount.h>

#include <fstream>
#include <sstream>

#include "stack/volumes/local.h"

namespace stack::volumes {

namespace {

struct FlagWord {
  const char* word;
  bool clear;
  unsigned long flag;
};

// moby/sys/mount's table; words of flags that Linux lacks are not listed (they become data).
constexpr FlagWord kFlagWords[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
    {"unbindable", false, MS_UNBINDABLE},
    {"runbindable", false, MS_UNBINDABLE | MS_REC},
    {"private", false, MS_PRIVATE},
    {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED},
    {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE},
    {"rslave", false, MS_SLAVE | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
};

constexpr unsigned long kPropagation = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
constexpr unsigned long kPropagationCall = kPropagation | MS_REC | MS_SILENT;

std::string option(const std::map<std::string, std::string>& options, const char* key) {
  auto it = options.find(key);
  return it == options.end() ? std::string() : it->second;
}

// Docker hides a CIFS password in mount errors.
std::string redact_password(std::string message, const std::string& o) {
  auto at = o.find("password=");
  if (at == std::string::npos) return message;
  auto end = o.find(',', at);
  std::string secret = o.substr(at, end == std::string::npos ? end : end - at);
  for (size_t p; (p = message.find(secret)) != std::string::npos;)
    message.replace(p, secret.size(), "password=********");
  return message;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = s[i + k];
        if (c < '0' || c > '7') ok = false;
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

MountOptions parse_mount_options(std::string_view o) {
  MountOptions out;
  if (o.empty()) return out;
  std::vector<std::string> data;
  size_t start = 0;
  while (true) {
    size_t comma = o.find(',', start);
    std::string word(o.substr(start, comma == std::string_view::npos ? comma : comma - start));
    const FlagWord* known = nullptr;
    for (auto& f : kFlagWords)
      if (word == f.word && f.flag != 0) known = &f;
    if (known) {
      out.flags = known->clear ? out.flags & ~known->flag : out.flags | known->flag;
    } else {
      // As Go's strings.Split + Join: "defaults" and empty words stay in data too.
      data.push_back(word);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  for (size_t i = 0; i < data.size(); ++i) out.data += (i ? "," : "") + data[i];
  return out;
}

Status validate_local_options(const std::map<std::string, std::string>& options) {
  for (auto& [key, value] : options)
    if (key != "type" && key != "o" && key != "device" && key != "size")
      return Error(EINVAL, "invalid option: \"" + key + "\"");
  // Docker's size is an XFS project quota on the volume dir; stack sets no quotas.
  if (options.count("size"))
    return Error(EINVAL, "quota size requested but no quota support");
  // Docker walks a Go map here (random order); this order is fixed so the message is stable.
  const std::pair<const char*, std::vector<const char*>> required[] = {
      {"o", {"device", "type"}}, {"device", {"type"}}, {"type", {"device"}}};
  for (auto& [key, needs] : required) {
    if (!options.count(key)) continue;
    for (const char* need : needs)
      if (!options.count(need))
        return Error(EINVAL, std::string("missing required option: \"") + need + "\"");
  }
  return {};
}

bool needs_mount(const std::map<std::string, std::string>& options) {
  return !option(options, "type").empty() || !option(options, "device").empty();
}

Status mount_volume(Syscalls& sys, const std::map<std::string, std::string>& options,
                    const std::string& target) {
  std::string device = option(options, "device"), type = option(options, "type");
  std::string o = option(options, "o");
  if (device.empty()) return Error(EINVAL, "missing device in volume options");
  MountOptions m = parse_mount_options(o);
  unsigned long plain = m.flags & ~kPropagation;
  auto failed = [&](Error e) {
    e.message = redact_password(e.message, o);
    return std::move(e).wrap("failed to mount local volume");
  };
  if (!(m.flags & MS_REMOUNT) || !m.data.empty()) {
    if (auto s = sys.mount(device, target, type, plain, m.data); !s) return failed(s.error());
  }
  if (m.flags & kPropagation) {
    if (auto s = sys.mount("", target, "", m.flags & kPropagationCall, ""); !s)
      return failed(s.error());
  }
  // A bind mount takes MS_RDONLY only on a remount.
  if ((plain & (MS_BIND | MS_RDONLY)) == (MS_BIND | MS_RDONLY)) {
    if (auto s = sys.mount("", target, "", plain | MS_REMOUNT, ""); !s) return failed(s.error());
  }
  return {};
}

Result<bool> is_mount_point(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return errno_error("open /proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point …
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    if (unescape_mountinfo(point) == path) return true;
  }
  return false;
}

}  // namespace stack::volumes
