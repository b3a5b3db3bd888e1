// Default specs: runc's `spec` output (also rootless) and Docker's container defaults with
// cap_add/cap_drop/privileged.
#include <catch2/catch.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "stack/common/atomic_file.h"
#include "stack/runtime/defaults.h"

using namespace stack;
using namespace stack::runtime;

namespace {

// One line per mount: "dest type source opt,opt".
std::string mounts_text(const Spec& spec) {
  std::string out;
  for (const auto& m : spec.mounts) {
    out += m.destination + " " + m.type + " " + m.source + " ";
    for (size_t i = 0; i < m.options.size(); ++i) out += (i ? "," : "") + m.options[i];
    out += "\n";
  }
  return out;
}

std::string namespaces_text(const Spec& spec) {
  std::string out;
  for (const auto& ns : spec.linux.namespaces) out += (out.empty() ? "" : " ") + ns.type;
  return out;
}

std::string devices_text(const Spec& spec) {
  std::string out;
  if (!spec.linux.resources) return "<none>";
  for (const auto& d : spec.linux.resources->devices) {
    out += d.allow ? "allow " : "deny ";
    out += d.type;
    out += " " + (d.major ? std::to_string(*d.major) : std::string("*")) + ":" +
           (d.minor ? std::to_string(*d.minor) : std::string("*")) + " " + d.access + "\n";
  }
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

int kernel_cap_count() { return std::stoi(*read_file("/proc/sys/kernel/cap_last_cap")) + 1; }

const SeccompSyscall* find_rule(const Seccomp& s, const std::string& name) {
  for (const auto& r : s.syscalls)
    if (has(r.names, name)) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("defaults: default_spec is runc's spec", "[runtime][defaults]") {
  const Spec s = default_spec();
  CHECK(s.oci_version == "1.2.0");
  REQUIRE(s.process);
  const Process& p = *s.process;
  CHECK(p.terminal);
  CHECK(p.user.uid == 0);
  CHECK(p.user.gid == 0);
  CHECK(p.args == std::vector<std::string>{"sh"});
  CHECK(p.env == std::vector<std::string>{
                     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "TERM=xterm"});
  CHECK(p.cwd == "/");
  CHECK(p.no_new_privileges);
  REQUIRE(p.capabilities);
  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  CHECK(p.capabilities->bounding == caps);
  CHECK(p.capabilities->effective == caps);
  CHECK(p.capabilities->permitted == caps);
  CHECK(p.capabilities->inheritable.empty());
  CHECK(p.capabilities->ambient.empty());
  REQUIRE(p.rlimits.size() == 1);
  CHECK(p.rlimits[0].type == "RLIMIT_NOFILE");
  CHECK(p.rlimits[0].resource == RLIMIT_NOFILE);
  CHECK(p.rlimits[0].soft == 1024);
  CHECK(p.rlimits[0].hard == 1024);
  CHECK(s.root.path == "rootfs");
  CHECK(s.root.readonly);
  CHECK(s.hostname == "stack");
  CHECK(mounts_text(s) ==
        "/proc proc proc \n"
        "/dev tmpfs tmpfs nosuid,strictatime,mode=755,size=65536k\n"
        "/dev/pts devpts devpts nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5\n"
        "/dev/shm tmpfs shm nosuid,noexec,nodev,mode=1777,size=65536k\n"
        "/dev/mqueue mqueue mqueue nosuid,noexec,nodev\n"
        "/sys sysfs sysfs nosuid,noexec,nodev,ro\n"
        "/sys/fs/cgroup cgroup cgroup nosuid,noexec,nodev,relatime,ro\n");
  CHECK(s.linux.masked_paths ==
        std::vector<std::string>{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                 "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                 "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
                                 "/sys/devices/virtual/tpm"});
  CHECK(s.linux.readonly_paths == std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq",
                                                           "/proc/sys", "/proc/sysrq-trigger"});
  CHECK(devices_text(s) == "deny a *:* rwm\n");
  CHECK(namespaces_text(s) == "pid network ipc uts mount cgroup");
  CHECK(s.linux.uid_mappings.empty());
  CHECK_FALSE(s.linux.seccomp);
}

TEST_CASE("defaults: rootless default_spec maps the caller as runc --rootless",
          "[runtime][defaults]") {
  const Spec s = default_spec(true);
  CHECK(namespaces_text(s) == "pid ipc uts mount cgroup user");
  REQUIRE(s.linux.uid_mappings.size() == 1);
  CHECK(s.linux.uid_mappings[0].container_id == 0);
  CHECK(s.linux.uid_mappings[0].host_id == ::geteuid());
  CHECK(s.linux.uid_mappings[0].size == 1);
  REQUIRE(s.linux.gid_mappings.size() == 1);
  CHECK(s.linux.gid_mappings[0].host_id == ::getegid());
  CHECK(s.linux.gid_mappings[0].size == 1);
  CHECK(mounts_text(s) ==
        "/proc proc proc \n"
        "/dev tmpfs tmpfs nosuid,strictatime,mode=755,size=65536k\n"
        "/dev/pts devpts devpts nosuid,noexec,newinstance,ptmxmode=0666,mode=0620\n"
        "/dev/shm tmpfs shm nosuid,noexec,nodev,mode=1777,size=65536k\n"
        "/dev/mqueue mqueue mqueue nosuid,noexec,nodev\n"
        "/sys none /sys rbind,nosuid,noexec,nodev,ro\n"
        "/sys/fs/cgroup cgroup cgroup nosuid,noexec,nodev,relatime,ro\n");
  CHECK_FALSE(s.linux.resources);
}

TEST_CASE("defaults: Docker's container defaults", "[runtime][defaults]") {
  CHECK(docker_default_capabilities() ==
        std::vector<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
                                 "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
                                 "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                                 "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"});
  auto r = docker_default_spec({});
  REQUIRE(r.ok());
  const Spec& s = *r;
  REQUIRE(s.process);
  REQUIRE(s.process->capabilities);
  const auto& caps = *s.process->capabilities;
  CHECK(caps.bounding == docker_default_capabilities());
  CHECK(caps.effective == docker_default_capabilities());
  CHECK(caps.permitted == docker_default_capabilities());
  CHECK(caps.inheritable.empty());  // CVE-2022-24769
  CHECK_FALSE(s.process->no_new_privileges);
  CHECK_FALSE(s.process->terminal);
  CHECK(s.process->env == std::vector<std::string>{
                              "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"});
  CHECK_FALSE(s.root.readonly);
  CHECK(mounts_text(s) ==
        "/proc proc proc nosuid,noexec,nodev\n"
        "/dev tmpfs tmpfs nosuid,strictatime,mode=755,size=65536k\n"
        "/dev/pts devpts devpts nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5\n"
        "/sys sysfs sysfs nosuid,noexec,nodev,ro\n"
        "/sys/fs/cgroup cgroup cgroup ro,nosuid,noexec,nodev\n"
        "/dev/mqueue mqueue mqueue nosuid,noexec,nodev\n"
        "/dev/shm tmpfs shm nosuid,noexec,nodev,mode=1777,size=65536k\n");
  CHECK(devices_text(s) ==
        "deny a *:* rwm\n"
        "allow c 1:5 rwm\n"
        "allow c 1:3 rwm\n"
        "allow c 1:9 rwm\n"
        "allow c 1:8 rwm\n"
        "allow c 5:0 rwm\n"
        "allow c 5:1 rwm\n"
        "deny c 10:229 rwm\n");
  CHECK(namespaces_text(s) == "mount network uts pid ipc cgroup");
  CHECK(s.linux.masked_paths == docker_masked_paths());
  CHECK(has(s.linux.masked_paths, "/sys/devices/virtual/powercap"));
  CHECK(s.linux.masked_paths.size() == 11);
  CHECK(s.linux.readonly_paths == std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq",
                                                           "/proc/sys", "/proc/sysrq-trigger"});
  REQUIRE(s.linux.seccomp);
  CHECK(s.linux.seccomp->default_action == "SCMP_ACT_ERRNO");
  CHECK(s.linux.seccomp->default_errno_ret == 1u);
  const SeccompSyscall* clone3 = find_rule(*s.linux.seccomp, "clone3");
  REQUIRE(clone3);
  CHECK(clone3->action == "SCMP_ACT_ERRNO");
  CHECK(clone3->errno_ret == 38u);
  CHECK_FALSE(find_rule(*s.linux.seccomp, "mount"));
}

TEST_CASE("defaults: cap_add and cap_drop as Docker applies them", "[runtime][defaults]") {
  ContainerDefaults o;
  o.cap_add = {"net_admin", "CAP_SYS_ADMIN", "chown"};
  o.cap_drop = {"KILL", "cap_mknod"};
  auto r = docker_default_spec(o);
  REQUIRE(r.ok());
  const auto& caps = r->process->capabilities->bounding;
  CHECK(caps == std::vector<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID",
                                         "CAP_FOWNER", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
                                         "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                                         "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE", "CAP_NET_ADMIN",
                                         "CAP_SYS_ADMIN"});
  // The seccomp profile follows the final capabilities.
  REQUIRE(r->linux.seccomp);
  CHECK(find_rule(*r->linux.seccomp, "mount"));
  const SeccompSyscall* clone3 = find_rule(*r->linux.seccomp, "clone3");
  REQUIRE(clone3);
  CHECK(clone3->action == "SCMP_ACT_ALLOW");

  ContainerDefaults only;
  only.cap_drop = {"all"};
  only.cap_add = {"CHOWN"};
  auto r2 = docker_default_spec(only);
  REQUIRE(r2.ok());
  CHECK(r2->process->capabilities->effective == std::vector<std::string>{"CAP_CHOWN"});
  CHECK_FALSE(find_rule(*r2->linux.seccomp, "chroot"));  // CAP_SYS_CHROOT dropped

  ContainerDefaults everything;
  everything.cap_add = {"ALL"};
  everything.cap_drop = {"MKNOD"};
  auto r3 = docker_default_spec(everything);
  REQUIRE(r3.ok());
  const auto& all = r3->process->capabilities->permitted;
  CHECK(static_cast<int>(all.size()) == kernel_cap_count() - 1);
  CHECK_FALSE(has(all, "CAP_MKNOD"));
  CHECK(has(all, "CAP_SYS_ADMIN"));
  CHECK(all.front() == "CAP_CHOWN");
  CHECK(r3->linux.seccomp);  // ALL capabilities is not privileged
}

TEST_CASE("defaults: unknown capabilities are errors naming the option", "[runtime][defaults]") {
  ContainerDefaults o;
  o.cap_add = {"FOO"};
  auto r = docker_default_spec(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().to_string() == "cap_add: unknown capability \"CAP_FOO\"");
  ContainerDefaults d;
  d.cap_drop = {"chown", "cap_bar"};
  auto r2 = docker_default_spec(d);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().to_string() == "cap_drop: unknown capability \"CAP_BAR\"");
}

TEST_CASE("defaults: privileged, unconfined, read-only and no-new-privileges",
          "[runtime][defaults]") {
  ContainerDefaults o;
  o.privileged = true;
  auto r = docker_default_spec(o);
  REQUIRE(r.ok());
  const auto& caps = *r->process->capabilities;
  CHECK(static_cast<int>(caps.bounding.size()) == kernel_cap_count());
  CHECK(caps.effective == caps.bounding);
  CHECK_FALSE(r->linux.seccomp);
  CHECK(r->linux.masked_paths.empty());
  CHECK(r->linux.readonly_paths.empty());
  CHECK(devices_text(*r) == "allow a *:* rwm\n");
  const std::string mounts = mounts_text(*r);
  CHECK(mounts.find("/sys sysfs sysfs nosuid,noexec,nodev\n") != std::string::npos);
  CHECK(mounts.find("/sys/fs/cgroup cgroup cgroup nosuid,noexec,nodev\n") != std::string::npos);

  ContainerDefaults u;
  u.seccomp_unconfined = true;
  u.read_only_rootfs = true;
  u.no_new_privileges = true;
  auto r2 = docker_default_spec(u);
  REQUIRE(r2.ok());
  CHECK_FALSE(r2->linux.seccomp);
  CHECK(r2->root.readonly);
  CHECK(r2->process->no_new_privileges);
  CHECK(r2->linux.masked_paths == docker_masked_paths());
}

TEST_CASE("defaults: Docker's seccomp rules selected by capability", "[runtime][defaults]") {
  const Seccomp plain = docker_default_seccomp(docker_default_capabilities());
  CHECK_FALSE(find_rule(plain, "kcmp"));
  CHECK_FALSE(find_rule(plain, "open_by_handle_at"));
  CHECK(find_rule(plain, "chroot"));
  // Five personality rules, one per allowed persona.
  int personas = 0;
  for (const auto& r : plain.syscalls)
    if (has(r.names, "personality")) {
      REQUIRE(r.args.size() == 1);
      CHECK(r.args[0].op == "SCMP_CMP_EQ");
      ++personas;
    }
  CHECK(personas == 5);
  const SeccompSyscall* clone = nullptr;
  for (const auto& r : plain.syscalls)
    if (r.names == std::vector<std::string>{"clone"}) clone = &r;
  REQUIRE(clone);
  REQUIRE(clone->args.size() == 1);
  CHECK(clone->args[0].index == 0);  // the s390 variant (index 1) is not for this host
  CHECK(clone->args[0].value == 0x7E020000);
  CHECK(clone->args[0].op == "SCMP_CMP_MASKED_EQ");

  const Seccomp ptrace = docker_default_seccomp({"CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"});
  CHECK(find_rule(ptrace, "kcmp"));
  CHECK(find_rule(ptrace, "open_by_handle_at"));
  CHECK_FALSE(find_rule(ptrace, "chroot"));
}
