// LocalHost: start (spawning the shim), stop, kill, pause, rename and remove (local_host.h).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "local_impl.h"
#include "spawn_ready.h"
#include "stack/engine/netd.h"
#include "stack/common/atomic_file.h"
#include "stack/common/log.h"

extern char** environ;

namespace stack::engine {

namespace {

constexpr long kOverlayMagic = 0x794c7630;  // OVERLAYFS_SUPER_MAGIC
constexpr int kReadyTimeoutMs = 120000;

bool is_overlay(const std::string& path) {
  struct statfs st;
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == kOverlayMagic;
}

// Waits until no shim holds dir's pid lock (the shim exits right after its last reply).
bool wait_shim_gone(const std::string& dir, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (shim_alive(dir)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Runs `stack-shim --dir D --ready-fd 3` and waits for its report: "0" once the container
// runs, else the error text. The shim detaches itself (setsid, double fork).
Status spawn_shim(const std::string& shim, const std::string& dir) {
  return spawn_and_await_ready({shim, "--dir", dir, "--ready-fd", "3"},
                               dir + "/" + kShimOwnLogFile, false, kReadyTimeoutMs);
}

}  // namespace

// A shim that supervises dir but has not reported a start yet (spawned by a `stack` that was
// killed, or by a concurrent one): waits until it records an outcome, or dies. True when the
// container runs (or ran) under it; false when the shim went away without starting it.
Result<bool> LocalHost::Impl::await_running_shim(const std::string& id) {
  const std::string dir = dir_of(id);
  const std::string before = read_file(dir + "/" + kShimStatusFile).value_or("");
  if (auto l = load(id); l.ok() && l->alive && l->status &&
                         (l->status->state == "running" || l->status->state == "restarting"))
    return true;
  for (int i = 0; i < 12000 && shim_alive(dir); ++i) {  // the shim's own ready timeout is 120 s
    std::string now = read_file(dir + "/" + kShimStatusFile).value_or("");
    if (now != before && !now.empty()) {
      STACK_TRY(auto st, parse_shim_status(now, dir + "/" + kShimStatusFile));
      if (st.state == "exited" && !st.error.empty()) return Error(EIO, st.error);
      if (st.state != "created") return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

Status LocalHost::start_container(const std::string& name) {
  STACK_TRY(auto id, impl_->find_id(name));
  const std::string dir = impl_->dir_of(id);
  if (shim_alive(dir)) {
    STACK_TRY(bool running, impl_->await_running_shim(id).wrap("container " + name));
    if (running) return {};
  }
  STACK_TRY(auto l, impl_->load(id));
  // After a reboot the overlay is gone; it is mounted again from the recorded layers.
  if (!is_overlay(dir + "/rootfs")) {
    std::string data = "lowerdir=";
    for (size_t i = 0; i < l.record.lowers.size(); ++i)
      data += (i ? ":" : "") + l.record.lowers[i];
    data += ",upperdir=" + dir + "/upper,workdir=" + dir + "/work";
    STACK_TRY_VOID(sys_.mount("overlay", dir + "/rootfs", "overlay", 0, data)
                       .wrap("container " + name + ": mounting the rootfs"));
  }
  ::unlink((dir + "/" + local::kPausedFile).c_str());
  STACK_TRY_VOID(impl_->attach_endpoints(l.record));
  // The embedded DNS listens in the namespace before the container's first query.
  if (l.record.network_mode == "bridge" && !l.record.endpoints.empty())
    STACK_TRY_VOID(
        netd_sync(options_, options_.netd_binary, true, id).wrap("container " + name));
  Status st = spawn_shim(options_.shim_binary, dir);
  if (st.ok() && !l.record.published.empty())
    st = impl_->sync_firewall().wrap("publishing ports");
  if (!st.ok() && st.error().message.find("already supervises") != std::string::npos) {
    // A shim spawned by a `stack` that was killed before it heard the report took the
    // container first: its outcome is ours.
    STACK_TRY(bool running, impl_->await_running_shim(id).wrap("container " + name));
    if (running) return {};
  }
  return std::move(st).wrap("container " + name);
}

// A container whose shim is gone (killed) may still have a live init and runtime state: kill
// and delete it through the runtime directly, and record the exit.
void LocalHost::Impl::reap_orphan(const Loaded& l) {
  if (runtime.state(l.record.id).ok()) {
    (void)runtime.kill(l.record.id, SIGKILL, true);
    for (int i = 0; i < 200 && runtime.remove(l.record.id, true).ok() == false; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (l.status && (l.status->state == "running" || l.status->state == "restarting")) {
    ShimStatus s = *l.status;
    s.state = "exited";
    s.pid = 0;
    s.exit_code = 137;
    s.finished_at = rfc3339_nano_now();
    (void)write_file_atomic(l.dir + "/" + kShimStatusFile, shim_status_to_json(s), 0644,
                            Durability::kNoSync);
  }
}

Status LocalHost::stop_container(const std::string& name, const StopOptions& options) {
  STACK_TRY(auto id, impl_->find_id(name));
  STACK_TRY(auto l, impl_->load(id));
  if (!l.alive) {
    impl_->reap_orphan(l);
    return {};
  }
  if (l.paused) STACK_TRY_VOID(unpause_container(name));
  int64_t timeout = options.timeout_ms.value_or(l.record.stop_grace_ms);
  std::string req = "{\"op\":\"stop\",\"timeout_ms\":" + std::to_string(timeout) + "}";
  auto reply = shim_request(l.dir, req, static_cast<int>(timeout) + 30000);
  // A shim whose container just exited closes and removes its socket before it finishes
  // cleaning up: no socket (ENOENT, ECONNREFUSED) or a connection it drops (ECONNRESET, EPIPE)
  // means it is on its way out, and the wait below covers it.
  const int code = reply.ok() ? 0 : reply.error().code;
  if (!reply.ok() && code != ENOENT && code != ECONNREFUSED && code != ECONNRESET &&
      code != EPIPE && shim_alive(l.dir))
    return std::move(reply).error().wrap("stopping container " + name);
  if (!wait_shim_gone(l.dir, 10000))
    return Error(ETIMEDOUT, "stopping container " + name + ": stack-shim did not exit");
  // A stopped replica gets no new connections.
  if (!l.record.published.empty()) return impl_->sync_firewall().wrap("stopping " + name);
  return {};
}

Status LocalHost::kill_container(const std::string& name, const std::string& signal) {
  STACK_TRY(auto id, impl_->find_id(name));
  STACK_TRY(auto l, impl_->load(id));
  if (!l.alive || !l.status || l.status->state != "running")
    return Error(EINVAL, "cannot kill container " + name + ": container is not running");
  STACK_TRY(auto sig, parse_signal(signal));
  if (l.paused && sig != SIGKILL) STACK_TRY_VOID(unpause_container(name));
  auto reply = shim_request(l.dir, "{\"op\":\"kill\",\"signal\":\"" + std::to_string(sig) + "\"}",
                            10000);
  if (!reply.ok()) return std::move(reply).error().wrap("killing container " + name);
  if (reply->find("\"error\"") != std::string::npos)
    return Error(EIO, "killing container " + name + ": " + *reply);
  if (l.paused && sig == SIGKILL) (void)unpause_container(name);
  return {};
}

Status LocalHost::pause_container(const std::string& name) {
  STACK_TRY(auto id, impl_->find_id(name));
  STACK_TRY(auto l, impl_->load(id));
  if (!l.alive || !l.status || l.status->state != "running")
    return Error(EINVAL, "container " + name + " is not running");
  if (l.paused) return Error(EINVAL, "container " + name + " is already paused");
  STACK_TRY_VOID(impl_->runtime.pause(id).wrap("pausing container " + name));
  return write_file_atomic(l.dir + "/" + local::kPausedFile, "", 0644, Durability::kNoSync);
}

Status LocalHost::unpause_container(const std::string& name) {
  STACK_TRY(auto id, impl_->find_id(name));
  const std::string dir = impl_->dir_of(id);
  struct stat st;
  if (::stat((dir + "/" + local::kPausedFile).c_str(), &st) != 0)
    return Error(EINVAL, "container " + name + " is not paused");
  STACK_TRY_VOID(impl_->runtime.resume(id).wrap("unpausing container " + name));
  ::unlink((dir + "/" + local::kPausedFile).c_str());
  return {};
}

Status LocalHost::rename_container(const std::string& name, const std::string& to) {
  STACK_TRY(auto id, impl_->find_id(name));
  STACK_TRY(auto lock, impl_->lock_names());
  const std::string link = impl_->names_dir + "/" + to;
  std::string owner = impl_->link_target(to);
  if (!owner.empty() && owner != id) {
    if (impl_->has_record(owner) || ::access(impl_->dir_of(owner).c_str(), F_OK) == 0)
      return Error(EEXIST, "renaming " + name + ": container name \"" + to +
                               "\" is already in use by " + owner.substr(0, 12));
    ::unlink(link.c_str());
  }
  if (owner.empty() && ::symlink(id.c_str(), link.c_str()) != 0)
    return errno_error("renaming " + name + ": claiming " + link);
  STACK_TRY(auto l, impl_->load(id));
  l.record.name = to;
  STACK_TRY_VOID(write_file_atomic(l.dir + "/" + local::kRecordFile,
                                   local::record_to_json(l.record), 0600));
  if (impl_->link_target(name) == id) ::unlink((impl_->names_dir + "/" + name).c_str());
  return {};
}

Status LocalHost::remove_container(const std::string& name, bool force) {
  STACK_TRY(auto id, impl_->find_id(name));
  STACK_TRY(auto l, impl_->load(id));
  if (l.alive) {
    if (!force)
      return Error(EBUSY, "cannot remove container " + name +
                              ": container is running: stop the container before removing or "
                              "force remove");
    STACK_TRY_VOID(stop_container(name, StopOptions{0}));
  } else {
    impl_->reap_orphan(l);
  }
  // Order for a crash at any point: volumes are released while the record still names them
  // (releasing twice is harmless), then the record goes, which turns the rest into leftovers
  // of an unfinished directory that the next observe removes.
  // The directory stays flock'ed while it is taken apart, so that a concurrent observe does
  // not collect it as an abandoned create halfway through.
  UniqueFd dir_lock(::open(l.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_lock) ::flock(dir_lock.get(), LOCK_EX);
  if (Status st = impl_->release_endpoints(l.record); !st.ok()) log::warn(st.error().to_string());
  if (!l.record.volumes.empty()) {
    STACK_TRY(auto* driver, impl_->driver());
    for (const auto& v : l.record.volumes)
      if (Status st = driver->release(v, id); !st.ok()) log::warn(st.error().to_string());
  }
  if (::unlink((l.dir + "/" + local::kRecordFile).c_str()) != 0 && errno != ENOENT)
    return errno_error("removing container " + name);
  if (Status st = sys_.umount2(l.dir + "/rootfs", MNT_DETACH); !st.ok() && is_overlay(l.dir + "/rootfs"))
    return std::move(st).error().wrap("removing container " + name);
  STACK_TRY_VOID(local::remove_container_dir(impl_->containers_dir, id).wrap("removing container " + name));
  STACK_TRY(auto lock, impl_->lock_names());
  if (impl_->link_target(l.record.name) == id)
    ::unlink((impl_->names_dir + "/" + l.record.name).c_str());
  return {};
}

Result<std::vector<int>> LocalHost::processes(const std::string& name) {
  STACK_TRY(auto id, impl_->find_id(name));
  STACK_TRY(auto l, impl_->load(id));
  if (!l.alive) return Error(EINVAL, "container " + name + " is not running");
  STACK_TRY(auto pids, impl_->runtime.processes(id));
  return std::vector<int>(pids.begin(), pids.end());
}

}  // namespace stack::engine
