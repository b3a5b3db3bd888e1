// The container lifecycle, as the runc-compatible CLI (stack-runtime) and the engine's shim use
// it: create, start, state, kill, delete, run, exec, pause/resume, update, list, ps.
//
// State lives in <root>/<id>/ (state.json, exec.fifo while created); every operation that changes
// a container holds an flock on that directory. Kernel objects (cgroups, the init process) are
// removed by explicit calls (delete), never by destructors.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/syscalls.h"
#include "stack/runtime/spec.h"

namespace stack::runtime {

enum class ContainerStatus { kCreating, kCreated, kRunning, kPaused, kStopped };
const char* status_name(ContainerStatus s);

struct ContainerState {
  std::string id;
  ContainerStatus status = ContainerStatus::kStopped;
  pid_t pid = 0;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339, UTC
  std::string owner;
  std::map<std::string, std::string> annotations;
};

// The OCI state document ({"ociVersion", "id", "status", "pid", "bundle", "annotations"}) plus
// runc's extra fields (rootfs, created, owner), as `state` prints it.
std::string state_to_json(const ContainerState& state);

struct CreateOptions {
  std::string id;
  std::string bundle;  // directory holding config.json; made absolute
  std::string pid_file;
  std::string console_socket;  // AF_UNIX path that receives the pty master when terminal
  int console_fd = -1;         // or an already connected AF_UNIX socket for it (not owned)
  bool no_pivot = false;
  int preserve_fds = 0;  // fds 3 .. 3+n-1 are passed to the container process
};

struct ExecOptions {
  std::string console_socket;
  std::string pid_file;
  bool detach = false;
  int preserve_fds = 0;
};

class Runtime {
 public:
  // root: the state directory (runc's --root). sys: the syscall seam for the container init.
  Runtime(std::string root, Syscalls& sys);

  // Sets up the container and leaves its init waiting for start(). Returns the init's pid.
  // On failure nothing is left behind: no state directory, cgroup, mount or process.
  Result<pid_t> create(const CreateOptions& options);

  // Lets a created container's init exec the user process, then runs poststart hooks.
  Status start(const std::string& id);

  // create + start + wait: returns the container's exit status (128+signal when killed), then
  // deletes the container unless keep. Signals sent to the caller are forwarded to the
  // container. A terminal without --console-socket is proxied to the caller's stdin/stdout
  // (raw mode and window size when they are a tty), as runc does. With detach, returns 0 once
  // started.
  Result<int> run(const CreateOptions& options, bool detach, bool keep = false);

  Result<ContainerState> state(const std::string& id);

  // The config the container was created with (exec starts from its process, as runc's does).
  Result<Spec> config(const std::string& id);
  Result<std::vector<ContainerState>> list();

  // Sends sig to the init, or with all to every process in the container's cgroup.
  Status kill(const std::string& id, int sig, bool all);

  // Removes a stopped (or, with force, any) container: kills what is left, removes the cgroup,
  // runs poststop hooks and removes the state directory.
  Status remove(const std::string& id, bool force);

  // Runs process in the running container's namespaces and cgroup. Returns its exit status, or
  // its pid when detached.
  Result<int> exec(const std::string& id, const Process& process, const ExecOptions& options);

  Status pause(const std::string& id);
  Status resume(const std::string& id);
  Status update(const std::string& id, const Resources& resources);
  Result<std::vector<pid_t>> processes(const std::string& id);

 private:
  std::string root_;
  Syscalls& sys_;
};

}  // namespace stack::runtime
