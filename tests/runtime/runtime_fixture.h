// RuntimeFixture: one real container bundle for root tests of the `stack-runtime` executable.
//
// Construction makes a unique temporary directory holding a bundle (a minimal rootfs with
// busybox-static and the probe, and config.json from default_spec() turned non-interactive) and
// an empty state root. run_runtime() runs the built binary as a user would, with
// `--root <state root>`, stdin from /dev/null and stdout/stderr captured through files (a created
// container inherits them, so its later output can be re-read with read_output()).
//
// Every container gets its own cgroup parent ("/stack-rt-<pid>-<n>/<id>") so that leaks of the
// parent directory are checkable without racing other tests. check_no_leaks() asserts (Catch2
// CHECKs) that nothing of the container survives; the destructor calls it when the test did not
// and no exception is in flight, then force-deletes and removes everything regardless.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace stack::test {

struct CommandResult {
  int status = -1;  // exit code, or 128+signal when killed
  bool timed_out = false;
  std::string out, err;
  std::string out_path, err_path;  // files that still receive a created container's output
};

// Runs argv (argv[0] a path) with stdin /dev/null and stdout/stderr to the given files; kills it
// (SIGKILL) after timeout_ms. Returns status and the files' contents at exit.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& out_path,
                          const std::string& err_path, int timeout_ms);

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text, mode_t mode = 0644);

// Paths of cgroup hierarchies on this host (/sys/fs/cgroup/<controller>, …/unified).
std::vector<std::string> cgroup_hierarchies();

class RuntimeFixture {
 public:
  // The binaries default to the ones the test executable was built with (compile definitions of
  // *_root_test.cpp files; the shared support library has none).
#if defined(STACK_RUNTIME_BIN) && defined(STACK_PROBE_BIN)
  RuntimeFixture() : RuntimeFixture(STACK_RUNTIME_BIN, STACK_PROBE_BIN) {}
#endif
  RuntimeFixture(std::string runtime_bin, std::string probe_bin);
  ~RuntimeFixture();
  RuntimeFixture(const RuntimeFixture&) = delete;
  RuntimeFixture& operator=(const RuntimeFixture&) = delete;

  // config.json as JSON; write_config() stores it (run_container/create do so implicitly).
  nlohmann::json& config() { return config_; }
  void write_config() const;
  void set_args(const std::vector<std::string>& args);
  // `sh -c script`.
  void set_script(const std::string& script) { set_args({"sh", "-c", script}); }

  // stack-runtime --root <state root> args...
  CommandResult run_runtime(const std::vector<std::string>& args, int timeout_ms = 20000);
  // Writes config.json, then `run <id>` (foreground) / `create --bundle … <id>`.
  CommandResult run_container(int timeout_ms = 20000);
  CommandResult create(int timeout_ms = 20000);
  // The init pid from `state`, or 0 when the container does not exist; the pid is remembered so
  // check_no_leaks() can verify it is gone.
  pid_t state_pid();
  std::string state_status();
  // Re-reads a command's stdout file (a created container keeps writing to it).
  std::string read_output(const CommandResult& r) const { return read_text(r.out_path); }
  void remember_pid(pid_t pid);

  // Asserts that no state directory, cgroup directory (leaf or our parent), mount under the
  // bundle, or process of the container (remembered pids, processes rooted in the rootfs) is
  // left. Safe to call more than once.
  void check_no_leaks();

  const std::string& runtime_bin() const { return runtime_bin_; }
  const std::string& id() const { return id_; }
  const std::string& dir() const { return dir_; }
  const std::string& bundle() const { return bundle_; }
  const std::string& rootfs() const { return rootfs_; }
  const std::string& state_root() const { return state_root_; }
  const std::string& cgroup_parent() const { return cgroup_parent_; }  // "stack-rt-<pid>-<n>"
  std::string cgroups_path() const { return "/" + cgroup_parent_ + "/" + id_; }

 private:
  void make_rootfs();
  void force_cleanup();
  std::vector<std::string> mounts_under_bundle() const;
  std::vector<pid_t> processes_in_rootfs() const;

  std::string runtime_bin_, probe_bin_;
  std::string id_, dir_, bundle_, rootfs_, state_root_, cgroup_parent_;
  nlohmann::json config_;
  std::vector<std::pair<pid_t, unsigned long long>> pids_;  // pid, start time
  bool checked_ = false;
  int command_seq_ = 0;
};

}  // namespace stack::test
