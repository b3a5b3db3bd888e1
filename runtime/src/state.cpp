#include "state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "stack/common/atomic_file.h"
#include "stack/runtime/cgroup.h"

namespace stack::runtime {

using nlohmann::json;

const char* status_name(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::kCreating: return "creating";
    case ContainerStatus::kCreated: return "created";
    case ContainerStatus::kRunning: return "running";
    case ContainerStatus::kPaused: return "paused";
    case ContainerStatus::kStopped: return "stopped";
  }
  return "unknown";
}

Status check_container_id(const std::string& id) {
  bool ok = !id.empty() && id != "." && id != ".." && id.size() <= 1024;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' || c == '.')) ok = false;
  if (!ok) return Error(EINVAL, "invalid container id \"" + id + "\": use letters, digits, _ + - and .");
  return {};
}

std::string container_dir(const std::string& root, const std::string& id) { return root + "/" + id; }
std::string fifo_path(const std::string& root, const std::string& id) { return root + "/" + id + "/exec.fifo"; }

Result<UniqueFd> lock_container(const std::string& root, const std::string& id) {
  STACK_TRY_VOID(check_container_id(id));
  UniqueFd fd(::open(container_dir(root, id).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd && errno == ENOENT) return Error(ENOENT, "container \"" + id + "\" does not exist");
  if (!fd) return errno_error("opening state of container \"" + id + "\"");
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return errno_error("locking container \"" + id + "\"");
  return fd;
}

Status save_state(const std::string& root, const StoredState& s) {
  json j = {{"id", s.id},           {"pid", s.pid},         {"pid_start_time", s.pid_start_time},
            {"bundle", s.bundle},   {"rootfs", s.rootfs},   {"created", s.created},
            {"owner", s.owner},     {"annotations", s.annotations},
            {"cgroup_paths", s.cgroup_paths}, {"cgroup_created", s.cgroup_created},
            {"keep_config", s.keep_config}};
  return write_file_atomic(container_dir(root, s.id) + "/state.json", j.dump(), 0600, Durability::kNoSync);
}

Result<StoredState> load_state(const std::string& root, const std::string& id) {
  STACK_TRY_VOID(check_container_id(id));
  auto text = read_file(container_dir(root, id) + "/state.json");
  if (!text.ok() && text.error().code == ENOENT) return Error(ENOENT, "container \"" + id + "\" does not exist");
  if (!text.ok()) return std::move(text).error();
  try {
    json j = json::parse(*text);
    StoredState s;
    s.id = j.at("id").get<std::string>();
    s.pid = j.at("pid").get<pid_t>();
    s.pid_start_time = j.at("pid_start_time").get<uint64_t>();
    s.bundle = j.at("bundle").get<std::string>();
    s.rootfs = j.at("rootfs").get<std::string>();
    s.created = j.at("created").get<std::string>();
    s.owner = j.value("owner", "");
    s.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    s.cgroup_paths = j.at("cgroup_paths").get<std::map<std::string, std::string>>();
    s.cgroup_created = j.value("cgroup_created", std::vector<std::string>{});
    s.keep_config = j.value("keep_config", false);
    return s;
  } catch (const std::exception& e) {
    return Error(EINVAL, "state of container \"" + id + "\" is corrupt: " + e.what());
  }
}

Result<ProcStat> read_proc_stat(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text.ok()) return std::move(text).error();
  // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
  auto close = text->rfind(')');
  if (close == std::string::npos || close + 2 >= text->size()) return Error(EINVAL, "malformed /proc stat");
  ProcStat st;
  st.state = (*text)[close + 2];
  size_t pos = close + 2;
  for (int field = 3; field < 22; ++field) {
    pos = text->find(' ', pos);
    if (pos == std::string::npos) return Error(EINVAL, "malformed /proc stat");
    ++pos;
  }
  st.start_time = std::strtoull(text->c_str() + pos, nullptr, 10);
  return st;
}

bool init_alive(const StoredState& state) {
  if (state.pid <= 0) return false;
  auto st = read_proc_stat(state.pid);
  return st.ok() && st->start_time == state.pid_start_time && st->state != 'Z' && st->state != 'X';
}

ContainerStatus derive_status(const std::string& root, const StoredState& state) {
  if (!init_alive(state)) return ContainerStatus::kStopped;
  if (::access(fifo_path(root, state.id).c_str(), F_OK) == 0) return ContainerStatus::kCreated;
  auto freezer = state.cgroup_paths.find("freezer");
  if (freezer != state.cgroup_paths.end()) {
    auto text = read_file(freezer->second + "/freezer.state");
    if (text.ok() && text->rfind("FROZEN", 0) == 0) return ContainerStatus::kPaused;
  } else if (auto unified = state.cgroup_paths.find("unified"); unified != state.cgroup_paths.end()) {
    auto text = read_file(unified->second + "/cgroup.freeze");
    if (text.ok() && text->rfind("1", 0) == 0) return ContainerStatus::kPaused;
  }
  return ContainerStatus::kRunning;
}

ContainerState public_state(const StoredState& s, ContainerStatus status) {
  ContainerState out;
  out.id = s.id;
  out.status = status;
  out.pid = status == ContainerStatus::kStopped ? 0 : s.pid;
  out.bundle = s.bundle;
  out.rootfs = s.rootfs;
  out.created = s.created;
  out.owner = s.owner;
  out.annotations = s.annotations;
  return out;
}

std::string state_to_json(const ContainerState& s) {
  json j = {{"ociVersion", "1.2.0"}, {"id", s.id},         {"status", status_name(s.status)},
            {"pid", s.pid},          {"bundle", s.bundle}, {"rootfs", s.rootfs},
            {"created", s.created},  {"owner", s.owner}};
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j.dump(2);
}

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  struct tm tm {};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(ns % 1000000000));
  return buf;
}

}  // namespace stack::runtime
