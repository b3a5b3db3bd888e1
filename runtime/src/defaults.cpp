// The spec `runc spec` writes (runc libcontainer/specconv/example.go) and Docker's container
// defaults (moby oci/defaults.go, oci/caps/utils.go, daemon/oci_linux.go).
#include <sys/capability.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "stack/common/atomic_file.h"
#include "stack/runtime/defaults.h"

namespace stack::runtime {
namespace {

Mount mount(std::string dest, std::string type, std::string source,
            std::vector<std::string> options) {
  return Mount{std::move(dest), std::move(type), std::move(source), std::move(options), {}};
}

DeviceRule device(bool allow, char type, std::optional<int64_t> major,
                  std::optional<int64_t> minor) {
  return DeviceRule{allow, type, major, minor, "rwm"};
}

std::vector<Namespace> namespaces(std::initializer_list<const char*> types) {
  std::vector<Namespace> out;
  for (const char* t : types) out.push_back(Namespace{t, ""});
  return out;
}

// runc's spec drops the user and network namespaces for rootless containers, maps the caller
// to root, bind-mounts /sys (sysfs needs a network namespace the user owns), drops uid=/gid=
// mount options (no such ids inside) and cgroup resources (example.go ToRootless).
void to_rootless(Spec& spec) {
  std::vector<Namespace> kept;
  for (auto& ns : spec.linux.namespaces)
    if (ns.type != "network" && ns.type != "user") kept.push_back(ns);
  kept.push_back(Namespace{"user", ""});
  spec.linux.namespaces = std::move(kept);
  spec.linux.uid_mappings = {IdMapping{0, static_cast<uint32_t>(::geteuid()), 1}};
  spec.linux.gid_mappings = {IdMapping{0, static_cast<uint32_t>(::getegid()), 1}};
  for (auto& m : spec.mounts) {
    if (m.destination == "/sys") {
      m = mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
      continue;
    }
    auto& o = m.options;
    o.erase(std::remove_if(o.begin(), o.end(),
                           [](const std::string& s) {
                             return s.rfind("gid=", 0) == 0 || s.rfind("uid=", 0) == 0;
                           }),
            o.end());
  }
  spec.linux.resources.reset();
}

// Every capability the running kernel knows, by libcap's name (Docker's GetAllCapabilities).
std::vector<std::string> all_capabilities() {
  int last = static_cast<int>(cap_max_bits()) - 1;
  if (auto text = read_file("/proc/sys/kernel/cap_last_cap"); text.ok()) {
    try {
      last = std::min(last, std::stoi(*text));
    } catch (...) {
      // keep libcap's count
    }
  }
  std::vector<std::string> out;
  for (int cap = 0; cap <= last; ++cap) {
    char* name = cap_to_name(static_cast<cap_value_t>(cap));
    if (name == nullptr) continue;
    std::string upper(name);
    cap_free(name);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (upper.rfind("CAP_", 0) == 0) out.push_back(upper);  // libcap names unknown ones "40"
  }
  return out;
}

// Docker's NormalizeLegacyCapabilities: case-insensitive, "CAP_" optional, "ALL" kept.
Result<std::vector<std::string>> normalize(const std::vector<std::string>& names,
                                           const std::vector<std::string>& known,
                                           const char* field) {
  std::vector<std::string> out;
  for (const auto& name : names) {
    std::string c = name;
    std::transform(c.begin(), c.end(), c.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    if (c != "ALL" && c.rfind("CAP_", 0) != 0) c = "CAP_" + c;
    if (c != "ALL" && std::find(known.begin(), known.end(), c) == known.end())
      return Error(EINVAL, std::string(field) + ": unknown capability \"" + c + "\"");
    out.push_back(c);
  }
  return out;
}

bool has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Docker's TweakCapabilities: ALL in cap_add starts from every capability, ALL in cap_drop
// from none; otherwise the defaults minus cap_drop plus cap_add.
Result<std::vector<std::string>> container_capabilities(const ContainerDefaults& o) {
  const std::vector<std::string> known = all_capabilities();
  if (o.privileged) return known;
  STACK_TRY(auto add, normalize(o.cap_add, known, "cap_add"));
  STACK_TRY(auto drop, normalize(o.cap_drop, known, "cap_drop"));
  std::vector<std::string> caps;
  auto append = [&](const std::string& c) {
    if (c != "ALL" && !has(caps, c)) caps.push_back(c);
  };
  if (has(add, "ALL")) {
    for (const auto& c : known)
      if (!has(drop, c)) append(c);
  } else if (has(drop, "ALL")) {
    for (const auto& c : add) append(c);
  } else {
    for (const auto& c : docker_default_capabilities())
      if (!has(drop, c)) append(c);
    for (const auto& c : add) append(c);
  }
  return caps;
}

void clear_read_only(Mount& m) {
  m.options.erase(std::remove(m.options.begin(), m.options.end(), "ro"), m.options.end());
}

}  // namespace

Spec default_spec(bool rootless) {
  Spec spec;
  spec.oci_version = "1.2.0";
  Process p;
  p.terminal = true;
  p.args = {"sh"};
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  p.cwd = "/";
  p.no_new_privileges = true;
  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  p.capabilities = Capabilities{caps, caps, {}, caps, {}};
  p.rlimits = {Rlimit{"RLIMIT_NOFILE", RLIMIT_NOFILE, 1024, 1024}};
  spec.process = std::move(p);
  spec.root = Root{"rootfs", true};
  spec.hostname = "stack";
  spec.mounts = {
      mount("/proc", "proc", "proc", {}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  };
  spec.linux.masked_paths = {"/proc/acpi",          "/proc/asound",      "/proc/kcore",
                             "/proc/keys",          "/proc/latency_stats", "/proc/timer_list",
                             "/proc/timer_stats",   "/proc/sched_debug", "/sys/firmware",
                             "/proc/scsi",          "/sys/devices/virtual/tpm"};
  spec.linux.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                               "/proc/sysrq-trigger"};
  Resources res;
  res.devices = {DeviceRule{false, 'a', std::nullopt, std::nullopt, "rwm"}};
  spec.linux.resources = std::move(res);
  // runc adds the cgroup namespace only on a unified hierarchy; it is always available on the
  // kernels this runtime supports, so the spec always asks for one.
  spec.linux.namespaces = namespaces({"pid", "network", "ipc", "uts", "mount", "cgroup"});
  if (rootless) to_rootless(spec);
  return spec;
}

std::vector<std::string> docker_default_capabilities() {
  return {"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
          "CAP_MKNOD",  "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
          "CAP_SETFCAP", "CAP_SETPCAP",     "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
          "CAP_KILL",   "CAP_AUDIT_WRITE"};
}

std::vector<std::string> docker_masked_paths() {
  return {"/proc/asound",      "/proc/acpi",        "/proc/kcore",       "/proc/keys",
          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
          "/proc/scsi",        "/sys/firmware",     "/sys/devices/virtual/powercap"};
}

std::vector<std::string> docker_readonly_paths() {
  return {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
}

Result<Spec> docker_default_spec(const ContainerDefaults& options) {
  STACK_TRY(auto caps, container_capabilities(options));
  Spec spec;
  spec.oci_version = "1.2.0";
  Process p;
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  p.cwd = "/";
  p.no_new_privileges = options.no_new_privileges;
  // No inheritable set: Docker stopped granting one after CVE-2022-24769.
  p.capabilities = Capabilities{caps, caps, {}, caps, {}};
  spec.process = std::move(p);
  spec.root = Root{"rootfs", options.read_only_rootfs};
  spec.mounts = {
      mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
  };
  spec.linux.namespaces = namespaces({"mount", "network", "uts", "pid", "ipc", "cgroup"});
  Resources res;
  if (options.privileged) {
    // Docker: privileged containers see /sys and the cgroup tree writable, every device, and
    // neither masked nor read-only paths nor seccomp.
    for (auto& m : spec.mounts)
      if (m.destination == "/sys" || m.destination == "/sys/fs/cgroup") clear_read_only(m);
    res.devices = {DeviceRule{true, 'a', std::nullopt, std::nullopt, "rwm"}};
  } else {
    // moby oci/defaults.go; runc appends its own allow list (/dev/pts, ptmx, mknod of any
    // device, …) when it creates the cgroup.
    res.devices = {DeviceRule{false, 'a', std::nullopt, std::nullopt, "rwm"},
                   device(true, 'c', 1, 5),   device(true, 'c', 1, 3),  device(true, 'c', 1, 9),
                   device(true, 'c', 1, 8),   device(true, 'c', 5, 0),  device(true, 'c', 5, 1),
                   device(false, 'c', 10, 229)};
    spec.linux.masked_paths = docker_masked_paths();
    spec.linux.readonly_paths = docker_readonly_paths();
    if (!options.seccomp_unconfined) spec.linux.seccomp = docker_default_seccomp(caps);
  }
  spec.linux.resources = std::move(res);
  return spec;
}

}  // namespace stack::runtime
