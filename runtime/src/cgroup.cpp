// Cgroup lifetime: resolving cgroupsPath, making the directories, moving processes in, removing
// the directories again.
#include "stack/runtime/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "cgroup_internal.h"

namespace stack::runtime {
namespace {

using namespace cgroup_detail;

constexpr const char* kPathField = "linux.cgroupsPath";

struct Hierarchy {
  std::string key;       // paths() key: the v1 controller name or "unified"
  std::string mount;     // mount point (below fs_root)
  std::string self_key;  // parse_proc_cgroup key
};

// Every mounted hierarchy is used, named ones ("name=systemd") included, so that tools which
// look up a container by its cgroup (systemd, ps -o cgroup) find it in all of them, as with
// runc's cgroupfs manager. On hybrid hosts the unified hierarchy is used as well.
std::vector<Hierarchy> hierarchies(const CgroupHost& host) {
  std::vector<Hierarchy> out;
  for (const auto& [controller, mount] : host.v1) out.push_back({controller, mount, controller});
  if (host.layout != CgroupLayout::kV1 && !host.unified.empty()) {
    out.push_back({"unified", host.unified, ""});
  }
  return out;
}

Status validate_cgroups_path(const std::string& path) {
  if (!path.empty() && path[0] != '/' && std::count(path.begin(), path.end(), ':') == 2) {
    return Error(EINVAL, std::string(kPathField) +
                             ": systemd cgroup paths (\"slice:prefix:name\") need "
                             "--systemd-cgroup, which stack-runtime does not support");
  }
  std::istringstream in(path);
  for (std::string part; std::getline(in, part, '/');) {
    if (part == "..") {
      return Error(EINVAL, std::string(kPathField) + ": \"" + path + "\" must not contain \"..\"");
    }
  }
  return {};
}

// The directory below the hierarchy's mount point. Absolute paths are taken from the root;
// relative ones from the process's own cgroup (runc's cgroupfs manager). On the unified
// hierarchy relative paths start at the *parent* of our own cgroup instead, as runc's fs2
// defaultDirPath does: v2 forbids enabling controllers for children of a cgroup that has
// processes (the "no internal processes" rule, cgroup-v2.rst), and our own cgroup has at least
// this process. The parent has none by the same rule, unless it is the root, which is exempt.
std::string inner_path(const Hierarchy& h, const std::string& path,
                       const std::map<std::string, std::string>& self_cgroup) {
  if (!path.empty() && path[0] == '/') return path;
  auto it = self_cgroup.find(h.self_key);
  std::string base = it == self_cgroup.end() ? "/" : it->second;
  if (h.key == "unified") base = parent_path(base);
  return join_path(base, path);
}

// mkdir -p of mount_dir/inner, recording each directory it made (parents first).
Status make_dirs(const std::string& mount_dir, const std::string& inner,
                 std::vector<std::string>& created) {
  std::string dir = mount_dir;
  std::istringstream in(inner);
  for (std::string part; std::getline(in, part, '/');) {
    if (part.empty() || part == ".") continue;
    dir = join_path(dir, part);
    if (::mkdir(dir.c_str(), 0755) == 0) {
      created.push_back(dir);
    } else if (errno != EEXIST) {
      return errno_error("creating " + dir);
    }
  }
  return {};
}

// Directories from mount_dir down to leaf, both included.
std::vector<std::string> chain(const std::string& mount_dir, const std::string& leaf) {
  std::vector<std::string> out;
  for (std::string d = leaf; d.size() > mount_dir.size(); d = parent_path(d)) out.push_back(d);
  out.push_back(mount_dir);
  std::reverse(out.begin(), out.end());
  return out;
}

// A new v1 cpuset has empty cpuset.cpus and cpuset.mems, and the kernel refuses tasks in it
// (ENOSPC) until both are set; copy them down from the nearest ancestor, as runc's
// cpusetEnsureParent does.
Status inherit_cpuset(const std::string& mount_dir, const std::string& leaf) {
  auto dirs = chain(mount_dir, leaf);
  for (size_t i = 1; i < dirs.size(); ++i) {
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
      STACK_TRY(std::string own, read_file_in(dirs[i], file));
      if (!trim(own).empty()) continue;
      STACK_TRY(std::string inherited, read_file_in(dirs[i - 1], file));
      auto st = write_value(dirs[i], file, trim(inherited));
      if (!st) return std::move(st).error().wrap(dirs[i]);
    }
  }
  return {};
}

// Enables every available controller in each ancestor's cgroup.subtree_control so the leaf gets
// its interface files. All at once first; if the kernel refuses the set (EINVAL for cpu while
// realtime tasks run, EBUSY), one by one, keeping whatever succeeds: a controller left out makes
// apply() fail on the field that needs it, which names the problem better than this would.
void enable_controllers(const std::string& mount_dir, const std::string& leaf) {
  auto dirs = chain(mount_dir, leaf);
  dirs.pop_back();
  for (const auto& dir : dirs) {
    auto text = read_file_in(dir, "cgroup.controllers");
    if (!text) continue;
    std::istringstream words(*text);
    std::vector<std::string> controllers;
    for (std::string w; words >> w;) controllers.push_back("+" + w);
    if (controllers.empty()) continue;
    std::string all;
    for (const auto& c : controllers) all += (all.empty() ? "" : " ") + c;
    if (write_value(dir, "cgroup.subtree_control", all)) continue;
    for (const auto& c : controllers) (void)write_value(dir, "cgroup.subtree_control", c);
  }
}

void remove_created(const std::vector<std::string>& created) {
  for (auto it = created.rbegin(); it != created.rend(); ++it) (void)remove_dir(*it);
}

}  // namespace

Result<Cgroup> Cgroup::create(const CgroupHost& host, const std::string& fs_root,
                              const std::string& cgroups_path, const std::string& container_id,
                              const std::map<std::string, std::string>& self_cgroup) {
  STACK_TRY_VOID(validate_cgroups_path(cgroups_path));
  std::string path = cgroups_path.empty() ? container_id : cgroups_path;
  if (path.empty()) return Error(EINVAL, std::string(kPathField) + ": empty, and no container id");
  Cgroup cg;
  cg.host_ = host;
  cg.fs_root_ = fs_root;
  auto fail = [&](Error e) -> Result<Cgroup> {
    remove_created(cg.created_);
    return std::move(e.wrap(kPathField));
  };
  for (const auto& h : hierarchies(host)) {
    std::string mount_dir = join_path(fs_root, h.mount);
    std::string leaf = join_path(mount_dir, inner_path(h, path, self_cgroup));
    if (auto st = make_dirs(mount_dir, leaf.substr(mount_dir.size()), cg.created_); !st) {
      return fail(std::move(st).error());
    }
    if (h.key == "cpuset") {
      if (auto st = inherit_cpuset(mount_dir, leaf); !st) return fail(std::move(st).error());
    }
    if (h.key == "unified") enable_controllers(mount_dir, leaf);
    cg.paths_[h.key] = leaf;
  }
  return cg;
}

Cgroup Cgroup::from_paths(const CgroupHost& host, const std::string& fs_root,
                          std::map<std::string, std::string> paths, std::vector<std::string> created) {
  Cgroup cg;
  cg.created_ = std::move(created);
  cg.host_ = host;
  cg.fs_root_ = fs_root;
  cg.paths_ = std::move(paths);
  return cg;
}

Status Cgroup::add_process(pid_t pid) {
  std::set<std::string> done;  // co-mounted controllers share one directory
  for (const auto& [key, dir] : paths_) {
    if (!done.insert(dir).second) continue;
    auto st = write_value(dir, "cgroup.procs", std::to_string(pid));
    if (!st) {
      return std::move(st).error().wrap("adding process " + std::to_string(pid) + " to " + dir);
    }
  }
  return {};
}

Result<UniqueFd> Cgroup::open_unified_dir() const {
  auto it = paths_.find("unified");
  if (it == paths_.end()) return UniqueFd();
  UniqueFd fd(::open(it->second.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error("opening " + it->second);
  return fd;
}

Status Cgroup::destroy() {
  std::vector<Error> errors;
  std::set<std::string> leaves;
  for (const auto& [key, dir] : paths_) {
    if (!leaves.insert(dir).second) continue;
    if (auto st = remove_tree(dir); !st) errors.push_back(std::move(st).error());
  }
  // Parents made by create() go only when nothing else lives in them any more: a sibling
  // container may share "stack/" (rmdir then fails with EBUSY, which is fine).
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    if (leaves.count(*it) == 0) remove_if_empty(*it);
  }
  created_.clear();
  if (errors.empty()) return {};
  Error out = errors.front();
  for (size_t i = 1; i < errors.size(); ++i) out.message += "; " + errors[i].to_string();
  return std::move(out.wrap("removing cgroup"));
}

}  // namespace stack::runtime
