// A container's persisted state: <root>/<id>/state.json, written atomically (tmp + rename; no
// fsync: the state root is meaningless after a reboot, as runc's /run), plus exec.fifo while the
// container is created but not started.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/common/unique_fd.h"
#include "stack/runtime/container.h"

namespace stack::runtime {

struct StoredState {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22: tells a reused pid from ours
  std::string bundle;
  std::string rootfs;
  std::string created;
  std::string owner;
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> cgroup_paths;
  std::vector<std::string> cgroup_created;  // directories create() made (parents removed at delete)
  bool keep_config = false;  // config.json copied beside state.json (hooks run at start/delete)
};

// Valid ids as runc accepts them: [A-Za-z0-9_+.-]+, not "." or "..".
Status check_container_id(const std::string& id);

std::string container_dir(const std::string& root, const std::string& id);
std::string fifo_path(const std::string& root, const std::string& id);

// Opens the container's directory and takes an exclusive flock on it. ENOENT → "container "x"
// does not exist".
Result<UniqueFd> lock_container(const std::string& root, const std::string& id);

Status save_state(const std::string& root, const StoredState& state);
Result<StoredState> load_state(const std::string& root, const std::string& id);

// /proc/<pid>/stat: start time, and whether the process is a zombie. ENOENT when gone.
struct ProcStat {
  uint64_t start_time = 0;
  char state = '?';
};
Result<ProcStat> read_proc_stat(pid_t pid);

// True if the state's init is still the process it was (same pid and start time, not a zombie).
bool init_alive(const StoredState& state);

// created (fifo present) / running / paused (cgroup frozen) / stopped.
ContainerStatus derive_status(const std::string& root, const StoredState& state);

ContainerState public_state(const StoredState& stored, ContainerStatus status);

std::string now_rfc3339();

}  // namespace stack::runtime
