// LocalHost: opening the state root, names, observe and listing (local_host.h).
#include "stack/engine/local_host.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <ctime>

#include <nlohmann/json.hpp>

#include "local_impl.h"
#include "stack/common/atomic_file.h"
#include "stack/common/log.h"

namespace stack::engine {

using local::ContainerRecord;

namespace {

Status make_dir(const std::string& path, mode_t mode = 0711) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return errno_error("creating " + path);
  return {};
}

std::vector<std::string> dir_entries(const std::string& path) { return local::list_dir(path); }

// $<env>, else <name> beside this executable (the binaries are installed together).
std::string companion_binary(const char* env_name, const char* name) {
  if (const char* env = std::getenv(env_name); env && *env) return env;
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return name;
  std::string path(self, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + name;
}

}  // namespace

LocalHost::LocalHost(LocalHostOptions options, Syscalls& sys)
    : options_(std::move(options)), sys_(sys) {}

LocalHost::~LocalHost() = default;

Result<std::unique_ptr<LocalHost>> LocalHost::open(const LocalHostOptions& options,
                                                   Syscalls& sys) {
  LocalHostOptions o = options;
  if (o.shim_binary.empty()) o.shim_binary = companion_binary("STACK_SHIM", "stack-shim");
  if (o.init_binary.empty()) o.init_binary = companion_binary("STACK_INIT", "stack-init");
  if (o.netd_binary.empty()) o.netd_binary = companion_binary("STACK_NETD", "stack-netd");
  std::unique_ptr<LocalHost> host(new LocalHost(o, sys));
  host->impl_ = std::make_unique<Impl>(o, sys);
  for (const std::string& dir :
       {o.root, host->impl_->containers_dir, host->impl_->names_dir, host->impl_->networks_dir,
        host->impl_->networks_dir + "/ipam", o.root + "/projects"})
    STACK_TRY_VOID(make_dir(dir));
  // The namespace files live in a private directory under /run (gone at reboot, like the
  // namespaces themselves).
  const std::string& ns = o.netns_dir;
  for (size_t slash = ns.find('/', 1);; slash = ns.find('/', slash + 1)) {
    STACK_TRY_VOID(make_dir(ns.substr(0, slash), 0755));
    if (slash == std::string::npos) break;
  }
  return host;
}

Result<UniqueFd> lock_project(const std::string& root, const std::string& project) {
  std::string dir = root + "/projects";
  if (::mkdir(root.c_str(), 0711) != 0 && errno != EEXIST) return errno_error("creating " + root);
  if (::mkdir(dir.c_str(), 0711) != 0 && errno != EEXIST) return errno_error("creating " + dir);
  std::string path = dir + "/" + project + ".lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return errno_error("opening " + path);
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return errno_error("locking " + path);
  return fd;
}

// ---- Impl ----

LocalHost::Impl::Impl(const LocalHostOptions& o, Syscalls& s)
    : options(o),
      sys(s),
      containers_dir(o.root + "/containers"),
      names_dir(o.root + "/containers/.names"),
      networks_dir(o.root + "/networks"),
      runtime(o.runtime_root, s),
      netns_dir(o.netns_dir),
      ipam(o.root + "/networks/ipam") {}

Result<UniqueFd> LocalHost::Impl::lock_names() const {
  std::string path = containers_dir + "/.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return errno_error("opening " + path);
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return errno_error("locking " + path);
  return fd;
}

std::string LocalHost::Impl::link_target(const std::string& name) const {
  char buf[128];
  ssize_t n = ::readlink((names_dir + "/" + name).c_str(), buf, sizeof buf);
  if (n <= 0 || n >= static_cast<ssize_t>(sizeof buf)) return {};
  return std::string(buf, static_cast<size_t>(n));
}

bool LocalHost::Impl::has_record(const std::string& id) const {
  struct stat st;
  return ::stat((dir_of(id) + "/" + local::kRecordFile).c_str(), &st) == 0;
}

Result<std::string> LocalHost::Impl::find_id(const std::string& name) const {
  std::string id = link_target(name);
  if (!id.empty() && has_record(id)) return id;
  // Also by id or unique id prefix, as Docker accepts.
  if (name.size() >= 4 && name.find_first_not_of("0123456789abcdef") == std::string::npos) {
    std::string found;
    for (const auto& e : dir_entries(containers_dir)) {
      if (e.compare(0, name.size(), name) != 0 || !has_record(e)) continue;
      if (!found.empty()) return Error(EINVAL, "multiple containers match id prefix " + name);
      found = e;
    }
    if (!found.empty()) return found;
  }
  // container.json is the truth about names; the link is only the claim. A record whose link
  // is gone (a damaged names directory) is still found.
  for (const auto& e : dir_entries(containers_dir)) {
    if (!has_record(e)) continue;
    auto text = read_file(dir_of(e) + "/" + local::kRecordFile);
    if (!text.ok()) continue;
    auto rec = local::parse_record(*text, e);
    if (rec.ok() && rec->name == name) return e;
  }
  return Error(ENOENT, "no such container: " + name);
}

Result<LocalHost::Impl::Loaded> LocalHost::Impl::load(const std::string& id) const {
  Loaded l;
  l.dir = dir_of(id);
  std::string path = l.dir + "/" + local::kRecordFile;
  STACK_TRY(auto text, read_file(path));
  STACK_TRY(l.record, local::parse_record(text, path));
  l.alive = shim_alive(l.dir);
  if (auto st = read_file(l.dir + "/" + kShimStatusFile); st.ok()) {
    auto parsed = parse_shim_status(*st, l.dir + "/" + kShimStatusFile);
    if (parsed.ok()) l.status = *parsed;
  }
  struct stat sb;
  l.paused = ::stat((l.dir + "/" + local::kPausedFile).c_str(), &sb) == 0;
  return l;
}

ObservedContainer LocalHost::Impl::observed(const Loaded& l, const std::string& host) const {
  ObservedContainer c;
  c.name = l.record.name;
  c.id = l.record.id;
  c.host = host;
  if (auto labels = parse_container_labels(l.record.labels); labels.ok()) c.labels = *labels;
  if (!l.status) {
    c.state = ContainerState::kCreated;
    return c;
  }
  const ShimStatus& s = *l.status;
  c.exit_code = s.exit_code;
  auto state = parse_container_state(s.state);
  c.state = state.ok() ? *state : ContainerState::kExited;
  if (!l.alive && (c.state == ContainerState::kRunning || c.state == ContainerState::kRestarting)) {
    // The shim is gone without recording an exit (killed, or the machine rebooted): the
    // container is not supervised any more, so it counts as exited and the next `up` or
    // `start` starts it again under a new shim.
    c.state = ContainerState::kExited;
    c.exit_code = 255;
  }
  if (l.alive && l.paused && c.state == ContainerState::kRunning) c.state = ContainerState::kPaused;
  if (c.state == ContainerState::kRunning || c.state == ContainerState::kPaused) {
    auto health = parse_health(s.health.status == "none" ? "" : s.health.status);
    c.health = health.ok() ? *health : Health::kNone;
  }
  return c;
}

// A directory without container.json is a create that did not finish. Its creator holds a
// flock on the directory while it builds; when the lock is free the creator is gone, and the
// leftovers (the rootfs mount, the name claim) are removed.
void LocalHost::Impl::collect_unfinished(const std::string& id) const {
  std::string dir = dir_of(id);
  // Under the names lock: a create makes its directory and takes its flock under that lock, so
  // a directory found here is either flock'ed by a live creator (or remover) or abandoned.
  auto lock = lock_names();
  if (!lock.ok()) return;
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return;
  if (has_record(id)) return;
  // Addresses and the namespace a crashed create took (owned by the container id).
  local::ContainerRecord partial;
  partial.id = id;
  partial.name = id;
  partial.netns = netns_dir + "/" + id;
  partial.network_mode = "none";  // a create makes no veths (start does)
  if (auto nets = ipam.list(); nets.ok())
    for (const auto& n : *nets) partial.endpoints.push_back({EndpointInfo{n.network}, "", ""});
  if (Status st = release_endpoints(partial); !st.ok()) log::warn(st.error().to_string());
  (void)sys.umount2(dir + "/rootfs", MNT_DETACH);
  if (Status st = local::remove_container_dir(containers_dir, id); !st.ok()) log::warn(st.error().to_string());
  for (const auto& name : dir_entries(names_dir))
    if (link_target(name) == id) ::unlink((names_dir + "/" + name).c_str());
}

std::vector<LocalHost::Impl::Loaded> LocalHost::Impl::load_all(const std::string& project) const {
  std::vector<Loaded> out;
  for (const auto& id : dir_entries(containers_dir)) {
    if (!has_record(id)) {
      collect_unfinished(id);
      continue;
    }
    auto l = load(id);
    if (!l.ok()) {
      log::warn(l.error().to_string());
      continue;
    }
    if (!project.empty()) {
      auto it = l->record.labels.find(std::string(kLabelProject));
      if (it == l->record.labels.end() || it->second != project) continue;
    }
    out.push_back(std::move(*l));
  }
  std::sort(out.begin(), out.end(),
            [](const Loaded& a, const Loaded& b) { return a.record.name < b.record.name; });
  return out;
}

// ---- observe / list ----

Result<Snapshot> LocalHost::observe(const std::string& project) {
  Snapshot snap;
  for (const auto& l : impl_->load_all(project)) snap.containers.push_back(impl_->observed(l, name_));
  for (auto& n : impl_->load_networks()) {
    if (!project.empty() && n.labels[std::string(kLabelProject)] != project) continue;
    snap.networks.push_back({n.name, n.labels[std::string(kLabelNetwork)], name_});
  }
  STACK_TRY(auto volumes, impl_->project_volumes(project));
  for (auto& v : volumes) {
    v.host = name_;
    snap.volumes.push_back(std::move(v));
  }
  return snap;
}

ContainerInfo LocalHost::Impl::info(const Loaded& l, const std::string& host) const {
  ContainerInfo i;
  i.observed = observed(l, host);
  i.labels = l.record.labels;
  i.image = l.record.image;
  for (const auto& arg : l.record.command) i.command += (i.command.empty() ? "" : " ") + arg;
  i.created = l.record.created;
  i.ports = l.record.ports;
  i.published = l.record.published;
  i.network_mode = l.record.network_mode;
  for (const auto& e : l.record.endpoints) i.endpoints.push_back(e.info);
  i.netns = l.record.netns;
  i.links = l.record.links;
  i.external_links = l.record.external_links;
  i.dns = l.record.dns;
  i.exposed = l.record.exposed;
  for (const auto& [target, volume] : l.record.anonymous) i.anonymous_volumes.push_back(volume);
  if (l.status) {
    i.started_at = l.status->started_at;
    i.finished_at = l.status->finished_at;
    i.pid = l.alive ? l.status->pid : 0;
    i.restart_count = l.status->restart_count;
    i.error = l.status->error;
  }
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  const int64_t now_ns = now.tv_sec * 1000000000LL + now.tv_nsec;
  i.status_text = local::status_text(i.observed, i.started_at, i.finished_at, now_ns);
  if (int64_t at = local::parse_rfc3339_ns(i.created))
    i.running_for = local::human_duration(std::max<int64_t>(0, now_ns - at)) + " ago";
  return i;
}

Result<std::vector<ContainerInfo>> LocalHost::containers(const std::string& project) {
  std::vector<ContainerInfo> out;
  for (const auto& l : impl_->load_all(project)) out.push_back(impl_->info(l, name_));
  return out;
}

Result<ContainerInfo> LocalHost::inspect(const std::string& name) {
  STACK_TRY(auto id, impl_->find_id(name));
  STACK_TRY(auto l, impl_->load(id));
  return impl_->info(l, name_);
}

Result<std::string> LocalHost::container_dir(const std::string& name) {
  STACK_TRY(auto id, impl_->find_id(name));
  return impl_->dir_of(id);
}

Result<std::string> LocalHost::runtime_id(const std::string& name) { return impl_->find_id(name); }

}  // namespace stack::engine
