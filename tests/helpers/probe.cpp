// probe: a small static program that runs inside test containers and reports what it sees, so
// root tests can check isolation from the inside (as crun's and youki's test suites do).
//   probe caps           CapInh/CapPrm/CapEff/CapBnd/CapAmb from /proc/self/status
//   probe ids            uid gid and supplementary groups
//   probe syscall NAME   makes the call and prints "ok" or "errno=<name>"
//   probe alloc MB       allocates and touches MB mebibytes, then prints "allocated"
//   probe fork N         forks N sleeping children; prints how many succeeded
//   probe nnp            the no_new_privs flag
//   probe rlimit NAME    soft and hard limit of RLIMIT_NOFILE / RLIMIT_NPROC
//   probe sleep SECONDS
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

int report_errno(long rc) {
  if (rc >= 0) {
    std::printf("ok\n");
    return 0;
  }
  const char* name = strerrorname_np(errno);
  std::printf("errno=%s\n", name ? name : "?");
  return 0;
}

int do_syscall(const std::string& name) {
  if (name == "mount") return report_errno(::mount("none", "/tmp", "tmpfs", 0, nullptr));
  if (name == "unshare-user") return report_errno(::unshare(CLONE_NEWUSER));
  if (name == "unshare-net") return report_errno(::unshare(CLONE_NEWNET));
  if (name == "keyctl") return report_errno(::syscall(SYS_keyctl, 0, 0, 0, 0, 0));
  if (name == "reboot") return report_errno(::syscall(SYS_reboot, 0, 0, 0, nullptr));
  if (name == "getpid") return report_errno(::syscall(SYS_getpid));
  if (name == "chroot") return report_errno(::chroot("/"));
  if (name == "sethostname") return report_errno(::sethostname("x", 1));
  std::fprintf(stderr, "probe: unknown syscall %s\n", name.c_str());
  return 2;
}

int caps() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Cap", 0) == 0) std::printf("%s\n", line.c_str());
  return 0;
}

int ids() {
  std::vector<gid_t> groups(64);
  int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
  std::printf("uid=%u gid=%u groups=", ::getuid(), ::getgid());
  for (int i = 0; i < n; ++i) std::printf("%s%u", i ? "," : "", groups[i]);
  std::printf("\n");
  return 0;
}

int alloc(long mb) {
  for (long i = 0; i < mb; ++i) {
    char* p = static_cast<char*>(std::malloc(1 << 20));
    if (!p) {
      std::printf("malloc failed after %ld MiB\n", i);
      return 1;
    }
    std::memset(p, 1, 1 << 20);
  }
  std::printf("allocated\n");
  return 0;
}

int forks(int n) {
  int ok = 0;
  int err = 0;
  std::vector<pid_t> children;
  for (int i = 0; i < n; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::pause();
      ::_exit(0);
    }
    if (pid < 0) {
      err = errno;
      break;
    }
    children.push_back(pid);
    ++ok;
  }
  for (pid_t pid : children) ::kill(pid, SIGKILL);
  for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
  const char* name = err ? strerrorname_np(err) : "none";
  std::printf("forked=%d error=%s\n", ok, name ? name : "?");
  return 0;
}

int show_rlimit(const std::string& name) {
  int resource = name == "RLIMIT_NPROC" ? RLIMIT_NPROC : RLIMIT_NOFILE;
  struct rlimit lim {};
  ::getrlimit(resource, &lim);
  std::printf("soft=%llu hard=%llu\n", static_cast<unsigned long long>(lim.rlim_cur),
              static_cast<unsigned long long>(lim.rlim_max));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  std::string cmd = argc > 1 ? argv[1] : "";
  std::string arg = argc > 2 ? argv[2] : "";
  if (cmd == "caps") return caps();
  if (cmd == "ids") return ids();
  if (cmd == "syscall") return do_syscall(arg);
  if (cmd == "alloc") return alloc(std::atol(arg.c_str()));
  if (cmd == "fork") return forks(std::atoi(arg.c_str()));
  if (cmd == "nnp") return std::printf("nnp=%d\n", ::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) < 0;
  if (cmd == "rlimit") return show_rlimit(arg);
  if (cmd == "sleep") return ::sleep(static_cast<unsigned>(std::atoi(arg.c_str()))) != 0;
  std::fprintf(stderr, "usage: probe caps|ids|syscall NAME|alloc MB|fork N|nnp|rlimit NAME|sleep S\n");
  return 2;
}
