// Observing and pausing a container through its cgroup: freezer, process list, OOM kills.
#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include "cgroup_internal.h"
#include "stack/runtime/cgroup.h"

namespace stack::runtime {
namespace {

using namespace cgroup_detail;

constexpr auto kFreezePoll = std::chrono::milliseconds(1);
constexpr int kFreezePolls = 2000;  // about two seconds
// A v1 freezer can stay FREEZING while a task sits in an uninterruptible sleep or the cgroup
// gains tasks (fork during freeze); writing FROZEN again retries the walk, as runc's freezer
// loop does.
constexpr int kRewriteEvery = 50;

Status freeze_v1(const std::string& dir, bool frozen) {
  const std::string target = frozen ? "FROZEN" : "THAWED";
  for (int i = 0; i < kFreezePolls; ++i) {
    if (i % kRewriteEvery == 0) STACK_TRY_VOID(write_value(dir, "freezer.state", target));
    STACK_TRY(std::string state, read_file_in(dir, "freezer.state"));
    if (trim(state) == target) return {};
    std::this_thread::sleep_for(kFreezePoll);
  }
  if (frozen) (void)write_value(dir, "freezer.state", "THAWED");
  return Error(EBUSY, "freezer.state: still FREEZING after 2 s; thawed again");
}

// cgroup.freeze requests the state; cgroup.events "frozen" reports when every task has stopped
// (Documentation/admin-guide/cgroup-v2.rst, "Core Interface Files").
Status freeze_v2(const std::string& dir, bool frozen) {
  STACK_TRY_VOID(write_value(dir, "cgroup.freeze", frozen ? "1" : "0"));
  const uint64_t want = frozen ? 1 : 0;
  for (int i = 0; i < kFreezePolls; ++i) {
    STACK_TRY(std::string events, read_file_in(dir, "cgroup.events"));
    if (keyed_value(events, "frozen").value_or(0) == want) return {};
    std::this_thread::sleep_for(kFreezePoll);
  }
  if (!frozen) return Error(EBUSY, "cgroup.events: still frozen after 2 s");
  (void)write_value(dir, "cgroup.freeze", "0");
  return Error(EBUSY, "cgroup.events: not frozen after 2 s; thawed again");
}

Status collect_pids(const std::string& dir, std::vector<pid_t>& out) {
  STACK_TRY(std::string text, read_file_in(dir, "cgroup.procs"));
  std::istringstream in(text);
  for (long pid; in >> pid;) out.push_back(static_cast<pid_t>(pid));
  for (const auto& child : subdirectories(dir)) STACK_TRY_VOID(collect_pids(child, out));
  return {};
}

}  // namespace

Status Cgroup::freeze(bool frozen) {
  if (auto it = paths_.find("freezer"); it != paths_.end()) {
    auto st = freeze_v1(it->second, frozen);
    if (!st) return std::move(st).error().wrap(it->second);
    return {};
  }
  if (auto it = paths_.find("unified"); it != paths_.end()) {
    auto st = freeze_v2(it->second, frozen);
    if (!st) return std::move(st).error().wrap(it->second);
    return {};
  }
  return Error(ENOTSUP, "freezing: neither the v1 freezer nor cgroup2 is in use");
}

Result<bool> Cgroup::frozen() const {
  if (auto it = paths_.find("freezer"); it != paths_.end()) {
    auto state = read_file_in(it->second, "freezer.state");
    if (!state) return std::move(state).error().wrap(it->second);
    return trim(*state) == "FROZEN";
  }
  if (auto it = paths_.find("unified"); it != paths_.end()) {
    auto events = read_file_in(it->second, "cgroup.events");
    if (!events) return std::move(events).error().wrap(it->second);
    return keyed_value(*events, "frozen").value_or(0) == 1;
  }
  return false;
}

Result<std::vector<pid_t>> Cgroup::processes() const {
  // Any hierarchy lists the same processes; pids and freezer are the v1 ones runc reads.
  std::string dir;
  for (const char* key : {"pids", "freezer", "unified"}) {
    if (auto it = paths_.find(key); it != paths_.end()) {
      dir = it->second;
      break;
    }
  }
  if (dir.empty() && !paths_.empty()) dir = paths_.begin()->second;
  std::vector<pid_t> pids;
  if (dir.empty()) return pids;
  if (auto st = collect_pids(dir, pids); !st) return std::move(st).error().wrap(dir);
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

Result<uint64_t> Cgroup::oom_kill_count() const {
  std::string dir, file;
  if (auto it = paths_.find("memory"); it != paths_.end()) {
    dir = it->second;
    file = "memory.oom_control";  // "oom_kill N" since Linux 4.13
  } else if (auto u = paths_.find("unified");
             u != paths_.end() && std::count(host_.unified_controllers.begin(),
                                             host_.unified_controllers.end(), "memory") > 0) {
    dir = u->second;
    file = "memory.events";
  } else {
    return uint64_t{0};
  }
  auto text = read_file_in(dir, file);
  if (!text) return std::move(text).error().wrap(dir);
  return keyed_value(*text, "oom_kill").value_or(0);
}

}  // namespace stack::runtime
