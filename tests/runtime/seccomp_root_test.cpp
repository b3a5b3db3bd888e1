// install_seccomp and apply_capabilities against the real kernel, each in a forked child so
// that the filter and the reduced capabilities die with it. Installing a filter needs only
// no_new_privs; changing the bounding set needs root (the capability test skips otherwise).
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "stack/runtime/defaults.h"
#include "stack/runtime/security.h"

using namespace stack;
using namespace stack::runtime;

namespace {

// Runs fn in a child and returns what it wrote to the pipe plus its exit status.
struct ChildResult {
  int status = -1;
  std::string out;
};

ChildResult in_child(const std::function<int(int out_fd)>& fn) {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(p[0]);
    ::_exit(fn(p[1]));
  }
  ::close(p[1]);
  ChildResult r;
  char buf[512];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  r.status = st;
  return r;
}

void write_str(int fd, const std::string& s) {
  if (::write(fd, s.data(), s.size()) < 0) ::_exit(99);
}

SeccompSyscall rule(std::vector<std::string> names, std::string action) {
  SeccompSyscall s;
  s.names = std::move(names);
  s.action = std::move(action);
  return s;
}

}  // namespace

TEST_CASE("seccomp_root: an installed filter denies with the configured errno",
          "[runtime][seccomp][root]") {
  Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.syscalls.push_back(rule({"uname"}, "SCMP_ACT_ERRNO"));
  auto mk = rule({"mkdirat", "mkdir"}, "SCMP_ACT_ERRNO");
  mk.errno_ret = EROFS;
  s.syscalls.push_back(mk);
  auto filter = compile_seccomp(s);
  REQUIRE(filter.ok());

  auto r = in_child([&](int out) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 10;
    if (int err = install_seccomp(*filter, nullptr); err != 0) return 11;
    utsname u{};
    int uname_rc = ::uname(&u);
    int uname_errno = errno;
    int mkdir_rc = ::mkdir("/tmp/stack-seccomp-test-never", 0700);
    int mkdir_errno = errno;
    write_str(out, std::to_string(uname_rc) + " " + std::to_string(uname_errno) + " " +
                       std::to_string(mkdir_rc) + " " + std::to_string(mkdir_errno) + " " +
                       std::to_string(::getpid() > 0));
    return 0;
  });
  REQUIRE(WIFEXITED(r.status));
  CHECK(WEXITSTATUS(r.status) == 0);
  CHECK(r.out == "-1 " + std::to_string(EPERM) + " -1 " + std::to_string(EROFS) + " 1");
}

TEST_CASE("seccomp_root: Docker's profile installs, clone3 reports ENOSYS",
          "[runtime][seccomp][root]") {
  auto filter = compile_seccomp(docker_default_seccomp(docker_default_capabilities()));
  REQUIRE(filter.ok());
  auto r = in_child([&](int out) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 10;
    if (install_seccomp(*filter, nullptr) != 0) return 11;
    long clone3_rc = ::syscall(435 /* clone3 on every architecture */, nullptr, 0);
    int clone3_errno = errno;
    int unshare_rc = ::unshare(CLONE_NEWUTS);
    int unshare_errno = errno;
    write_str(out, std::to_string(clone3_rc) + " " + std::to_string(clone3_errno) + " " +
                       std::to_string(unshare_rc) + " " + std::to_string(unshare_errno));
    return 0;
  });
  REQUIRE(WIFEXITED(r.status));
  CHECK(WEXITSTATUS(r.status) == 0);
  CHECK(r.out == "-1 " + std::to_string(ENOSYS) + " -1 " + std::to_string(EPERM));
}

TEST_CASE("seccomp_root: a notify rule returns a listener fd", "[runtime][seccomp][root]") {
  Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.listener_path = "/run/never-used.sock";
  s.syscalls.push_back(rule({"mknodat"}, "SCMP_ACT_NOTIFY"));
  auto filter = compile_seccomp(s);
  REQUIRE(filter.ok());
  REQUIRE(filter->wants_listener);
  auto r = in_child([&](int out) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 10;
    int listener = -1;
    if (int err = install_seccomp(*filter, &listener); err != 0) {
      write_str(out, std::strerror(err));
      return 11;
    }
    write_str(out, std::to_string(listener >= 0 && ::fcntl(listener, F_GETFD) >= 0));
    return 0;
  });
  REQUIRE(WIFEXITED(r.status));
  CHECK(WEXITSTATUS(r.status) == 0);
  CHECK(r.out == "1");
}

TEST_CASE("seccomp_root: apply_capabilities sets all five sets", "[runtime][caps][root]") {
  if (::geteuid() != 0) {
    WARN("skipped: changing the bounding set needs root");
    return;
  }
  Capabilities caps;
  caps.bounding = {"CAP_KILL", "CAP_NET_RAW", "CAP_SETPCAP"};
  caps.effective = {"CAP_KILL"};
  caps.permitted = {"CAP_KILL", "CAP_NET_RAW"};
  caps.inheritable = {"CAP_NET_RAW"};
  caps.ambient = {"CAP_NET_RAW", "CAP_KILL"};  // CAP_KILL is not inheritable: skipped
  auto masks = capability_masks(caps);
  REQUIRE(masks.ok());
  auto r = in_child([&](int out) {
    const char* step = "";
    if (int err = apply_capabilities(*masks, &step); err != 0) {
      write_str(out, std::string(step) + ": " + std::strerror(err));
      return 1;
    }
    FILE* f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) return 2;
    char line[256];
    std::string text;
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "Cap", 3) == 0) text += line;
    std::fclose(f);
    write_str(out, text);
    return 0;
  });
  INFO(r.out);
  REQUIRE(WIFEXITED(r.status));
  REQUIRE(WEXITSTATUS(r.status) == 0);
  CHECK(r.out ==
        "CapInh:\t0000000000002000\n"
        "CapPrm:\t0000000000002020\n"
        "CapEff:\t0000000000000020\n"
        "CapBnd:\t0000000000002120\n"
        "CapAmb:\t0000000000002000\n");
}
