#include "runtime/runtime_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "stack/runtime/defaults.h"
#include "stack/runtime/spec.h"

namespace fs = std::filesystem;

namespace stack::test {

namespace {

std::atomic<int> g_fixture_seq{0};

// Applets the tests use; busybox dispatches on argv[0].
const char* const kApplets[] = {"sh",   "cat",  "ls",   "echo",  "hostname", "id",    "sleep",
                                "mount", "grep", "wc",  "true",  "false",    "ps",    "touch",
                                "stat", "tty",  "kill", "mkdir", "readlink", "umask", "head"};

long long now_ms() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Field 22 of /proc/<pid>/stat; 0 when the process is gone or a zombie (a zombie holds nothing).
unsigned long long start_time(pid_t pid) {
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream in(stat.substr(close_paren + 2));
  std::string field;
  std::vector<std::string> fields;
  while (in >> field) fields.push_back(field);
  if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return 0;
  return std::stoull(fields[19]);
}

}  // namespace

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text, mode_t mode) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  ::chmod(path.c_str(), mode);
}

std::vector<std::string> cgroup_hierarchies() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/fs/cgroup", ec))
    if (e.is_directory() && !e.is_symlink()) out.push_back(e.path().string());
  return out;
}

CommandResult run_command(const std::vector<std::string>& argv, const std::string& out_path,
                          const std::string& err_path, int timeout_ms) {
  CommandResult r;
  r.out_path = out_path;
  r.err_path = err_path;
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  REQUIRE(pid > 0);
  // Polling waitpid rather than reading pipes to EOF: a created container keeps the output
  // files open long after the runtime has exited.
  const long long deadline = now_ms() + timeout_ms;
  int st = 0;
  for (;;) {
    pid_t got = ::waitpid(pid, &st, WNOHANG);
    if (got == pid) break;
    if (now_ms() > deadline) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      break;
    }
    ::usleep(5000);
  }
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

RuntimeFixture::RuntimeFixture(std::string runtime_bin, std::string probe_bin)
    : runtime_bin_(std::move(runtime_bin)), probe_bin_(std::move(probe_bin)) {
  const int seq = g_fixture_seq++;
  std::string tmpl = "/tmp/stack-rt-" + std::to_string(::getpid()) + "-" + std::to_string(seq) + "-XXXXXX";
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  dir_ = tmpl;
  // mkdtemp makes 0700; a user-namespaced container's root (an unprivileged host uid) must be
  // able to reach the bundle, as with runc.
  ::chmod(dir_.c_str(), 0755);
  bundle_ = dir_ + "/bundle";
  rootfs_ = bundle_ + "/rootfs";
  state_root_ = dir_ + "/state";
  id_ = "ct-" + std::to_string(::getpid()) + "-" + std::to_string(seq);
  cgroup_parent_ = "stack-rt-" + std::to_string(::getpid()) + "-" + std::to_string(seq);
  fs::create_directories(state_root_);
  fs::create_directories(dir_ + "/out");
  make_rootfs();

  config_ = nlohmann::json::parse(runtime::spec_to_json(runtime::default_spec()));
  config_["process"]["terminal"] = false;
  config_["hostname"] = "stack-test";
  config_["linux"]["cgroupsPath"] = cgroups_path();
  set_args({"true"});
}

void RuntimeFixture::make_rootfs() {
  for (const char* d : {"bin", "proc", "sys", "dev", "tmp", "etc"}) fs::create_directories(rootfs_ + "/" + d);
  fs::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
  fs::copy_file(probe_bin_, rootfs_ + "/bin/probe");
  for (const char* applet : kApplets) fs::create_symlink("busybox", rootfs_ + "/bin/" + applet);
  write_text(rootfs_ + "/etc/passwd", "root:x:0:0:root:/:/bin/sh\n");
  write_text(rootfs_ + "/etc/group", "root:x:0:\n");
}

void RuntimeFixture::write_config() const { write_text(bundle_ + "/config.json", config_.dump(2)); }

void RuntimeFixture::set_args(const std::vector<std::string>& args) { config_["process"]["args"] = args; }

CommandResult RuntimeFixture::run_runtime(const std::vector<std::string>& args, int timeout_ms) {
  std::vector<std::string> argv = {runtime_bin_, "--root", state_root_};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string base = dir_ + "/out/" + std::to_string(command_seq_++);
  CommandResult r = run_command(argv, base + ".out", base + ".err", timeout_ms);
  std::string line;
  for (const auto& a : args) line += " " + a;
  UNSCOPED_INFO("stack-runtime" << line << " -> " << r.status << (r.timed_out ? " (timed out)" : "")
                                << "\nstdout: " << r.out << "\nstderr: " << r.err);
  return r;
}

CommandResult RuntimeFixture::run_container(int timeout_ms) {
  write_config();
  return run_runtime({"run", "--bundle", bundle_, id_}, timeout_ms);
}

CommandResult RuntimeFixture::create(int timeout_ms) {
  write_config();
  return run_runtime({"create", "--bundle", bundle_, "--pid-file", dir_ + "/pid", id_}, timeout_ms);
}

pid_t RuntimeFixture::state_pid() {
  auto r = run_runtime({"state", id_});
  if (r.status != 0) return 0;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.contains("pid")) return 0;
  pid_t pid = j["pid"].get<pid_t>();
  remember_pid(pid);
  return pid;
}

std::string RuntimeFixture::state_status() {
  auto r = run_runtime({"state", id_});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (r.status != 0 || j.is_discarded() || !j.contains("status")) return "";
  return j["status"].get<std::string>();
}

void RuntimeFixture::remember_pid(pid_t pid) {
  if (pid <= 0) return;
  for (const auto& p : pids_)
    if (p.first == pid) return;
  pids_.emplace_back(pid, start_time(pid));
}

std::vector<std::string> RuntimeFixture::mounts_under_bundle() const {
  // mountinfo field 5 is the mount point (octal-escaped; our paths need no escaping).
  std::vector<std::string> out;
  std::istringstream in(read_text("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point;
    fields >> id >> parent >> devno >> root >> point;
    if (point == dir_ || point.rfind(dir_ + "/", 0) == 0) out.push_back(point);
  }
  return out;
}

std::vector<pid_t> RuntimeFixture::processes_in_rootfs() const {
  // readlink(/proc/<pid>/root) says "/" for a pivoted process in another mount namespace, so
  // compare the root directory's identity instead.
  std::vector<pid_t> out;
  struct stat want {};
  if (::stat(rootfs_.c_str(), &want) != 0) return out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == ::getpid()) continue;
    struct stat st {};
    std::string root = "/proc/" + std::string(e->d_name) + "/root";
    if (::stat(root.c_str(), &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino &&
        start_time(static_cast<pid_t>(pid)) != 0)
      out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

void RuntimeFixture::check_no_leaks() {
  checked_ = true;
  const std::string state_dir = state_root_ + "/" + id_;
  INFO("container " << id_ << " bundle " << bundle_);
  CHECK_FALSE(fs::exists(state_dir));
  for (const auto& h : cgroup_hierarchies()) {
    CHECK_FALSE(fs::exists(h + "/" + cgroup_parent_ + "/" + id_));
    CHECK_FALSE(fs::exists(h + "/" + cgroup_parent_));
  }
  CHECK(mounts_under_bundle() == std::vector<std::string>{});
  CHECK(processes_in_rootfs() == std::vector<pid_t>{});
  for (const auto& [pid, started] : pids_) {
    INFO("pid " << pid);
    CHECK((started == 0 || start_time(pid) != started));
  }
}

void RuntimeFixture::force_cleanup() {
  run_command({runtime_bin_, "--root", state_root_, "delete", "--force", id_}, "/dev/null", "/dev/null", 20000);
  for (pid_t pid : processes_in_rootfs()) ::kill(pid, SIGKILL);
  for (const auto& [pid, started] : pids_)
    if (started != 0 && start_time(pid) == started) ::kill(pid, SIGKILL);
  for (const auto& h : cgroup_hierarchies()) {
    const std::string leaf = h + "/" + cgroup_parent_ + "/" + id_;
    if (!fs::exists(leaf)) {
      ::rmdir((h + "/" + cgroup_parent_).c_str());
      continue;
    }
    std::istringstream procs(read_text(leaf + "/cgroup.procs"));
    for (pid_t pid; procs >> pid;) ::kill(pid, SIGKILL);
    ::rmdir(leaf.c_str());  // v1 freezer: a frozen cgroup must be thawed before its tasks die
    write_text(leaf + "/freezer.state", "THAWED");
    for (int i = 0; i < 100 && ::rmdir(leaf.c_str()) != 0 && errno == EBUSY; ++i) ::usleep(10000);
    ::rmdir((h + "/" + cgroup_parent_).c_str());
  }
  auto mounts = mounts_under_bundle();
  std::reverse(mounts.begin(), mounts.end());
  for (const auto& m : mounts) ::umount2(m.c_str(), MNT_DETACH);
  // remove_all would follow into a bind mount that is still there and delete host files.
  if (mounts_under_bundle().empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

RuntimeFixture::~RuntimeFixture() {
  if (!checked_ && std::uncaught_exceptions() == 0) check_no_leaks();
  force_cleanup();
}

}  // namespace stack::test
