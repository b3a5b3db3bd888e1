// Measurement driver for bench/runtime_start.sh: runs an OCI runtime's `run` N times and prints,
// per run, the wall time, the CPU time of the runtime's whole process tree and its peak RSS.
//
//   runtime_start_driver FIRST COUNT ID_PREFIX ERR_FILE -- RUNTIME ARGS...
//
// Every argument equal to "@ID@" is replaced by ID_PREFIX-<i> for i in [FIRST, FIRST+COUNT), so
// each run gets a unique container id. Prints one line per run to stdout:
//   <i> <wall_us> <cpu_us> <maxrss_kb>
// The runtime's stderr is appended to ERR_FILE; any non-zero exit or signal aborts with status 1.
//
// Why a C++ driver rather than `/usr/bin/time` in bash: bash's own fork/exec would be inside the
// timed window, and CPU and RSS must come from wait4() on exactly the runtime process.
// - wall: CLOCK_MONOTONIC from just before fork() to wait4() returning.
// - cpu: user+sys delta of getrusage(RUSAGE_CHILDREN). The driver is a child subreaper, so
//   processes the runtime leaves orphaned (crun's and runc's intermediate children, the container
//   init when a runtime double-forks) are reparented here and reaped, and their CPU is counted.
// - peak RSS: wait4()'s ru_maxrss of the runtime process. Linux fills it from the runtime's own
//   high-water mark and those of the descendants it reaped itself (RUSAGE_BOTH semantics), so it
//   is the largest RSS any single process of the runtime's tree reached.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "runtime_start_driver: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

long long now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

long long cpu_us(const rusage& r) {
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000LL + r.ru_utime.tv_usec +
         r.ru_stime.tv_usec;
}

// Reaps orphans reparented to us after the runtime exited. They should all be gone already for a
// `run` of /bin/true; give stragglers up to 2 s, then report them as a leak.
int reap_orphans() {
  int reaped = 0;
  for (int waited_ms = 0; waited_ms < 2000;) {
    pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid > 0) {
      ++reaped;
      continue;
    }
    if (pid < 0 && errno == ECHILD) return reaped;
    ::usleep(1000);
    ++waited_ms;
  }
  std::fprintf(stderr, "runtime_start_driver: a process of the runtime outlived it by 2 s\n");
  std::exit(1);
}

struct Sample {
  long long wall_us, cpu_us, maxrss_kb;
};

Sample run_once(std::vector<char*>& argv, int err_fd) {
  rusage before{}, after{}, own{};
  if (::getrusage(RUSAGE_CHILDREN, &before) != 0) die("getrusage");
  long long start = now_us();
  pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(null_fd, 1) < 0 || ::dup2(err_fd, 2) < 0)
      _exit(127);
    ::execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (::wait4(pid, &status, 0, &own) < 0)
    if (errno != EINTR) die("wait4");
  long long wall = now_us() - start;
  reap_orphans();
  if (::getrusage(RUSAGE_CHILDREN, &after) != 0) die("getrusage");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "runtime_start_driver: %s exited with %s %d (see its stderr above)\n",
                 argv[0], WIFEXITED(status) ? "status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    std::exit(1);
  }
  return {wall, cpu_us(after) - cpu_us(before), own.ru_maxrss};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7 || std::strcmp(argv[5], "--") != 0) {
    std::fprintf(stderr, "usage: %s FIRST COUNT ID_PREFIX ERR_FILE -- RUNTIME ARGS...\n", argv[0]);
    return 2;
  }
  int first = std::atoi(argv[1]);
  int count = std::atoi(argv[2]);
  std::string prefix = argv[3];
  int err_fd = ::open(argv[4], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (err_fd < 0) die(std::string("open ") + argv[4]);
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) die("PR_SET_CHILD_SUBREAPER");

  std::vector<int> id_slots;
  std::vector<std::string> args(argv + 6, argv + argc);
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i] == "@ID@") id_slots.push_back(static_cast<int>(i));

  for (int i = first; i < first + count; ++i) {
    std::vector<std::string> run_args = args;
    for (int slot : id_slots) run_args[slot] = prefix + "-" + std::to_string(i);
    std::vector<char*> cargv;
    for (auto& a : run_args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    Sample s = run_once(cargv, err_fd);
    std::printf("%d %lld %lld %lld\n", i, s.wall_us, s.cpu_us, s.maxrss_kb);
    std::fflush(stdout);
  }
  return 0;
}
