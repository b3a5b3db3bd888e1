// Mounts: the service's volumes (bind, volume, tmpfs), tmpfs entries, secrets and configs, the
// /etc files the engine wrote, and /dev/shm (size, ipc host/none) — moby daemon/oci_linux.go
// withMounts and container/mounts_unix.go, with compose v2's secret and config targets.
#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "container/spec_internal.h"
#include "stack/common/path.h"

namespace stack::engine::container_detail {
namespace {

runtime::Mount bind_mount(std::string dest, std::string source, std::vector<std::string> options) {
  return runtime::Mount{std::move(dest), "bind", std::move(source), std::move(options), {}};
}

runtime::Mount tmpfs_mount(std::string dest, std::vector<std::string> options) {
  return runtime::Mount{std::move(dest), "tmpfs", "tmpfs", merge_tmpfs_options(options), {}};
}

std::string octal(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%o", mode);
  return buf;
}

// Docker mounts tmpfs with noexec,nosuid,nodev unless the options say otherwise.
std::vector<std::string> tmpfs_defaults() { return {"noexec", "nosuid", "nodev"}; }

Result<std::vector<std::string>> bind_options(const compose::ServiceVolume& v) {
  std::string recursive = v.bind ? v.bind->recursive : "";
  std::string propagation = v.bind && !v.bind->propagation.empty() ? v.bind->propagation
                                                                   : "rprivate";
  static const std::set<std::string> kPropagation = {"private", "rprivate", "shared",
                                                     "rshared", "slave",    "rslave"};
  if (!kPropagation.count(propagation))
    return Error(EINVAL, "bind.propagation \"" + propagation + "\": unknown propagation");
  static const std::set<std::string> kRecursive = {"", "enabled", "disabled", "writable",
                                                   "readonly"};
  if (!kRecursive.count(recursive))
    return Error(EINVAL, "bind.recursive \"" + recursive + "\": unknown mode");
  std::vector<std::string> o = {recursive == "disabled" ? "bind" : "rbind"};
  if (v.read_only) {
    o.push_back("ro");
    // Docker ≥ 25 makes read-only binds recursively read-only unless told "writable"; every
    // kernel this runtime supports has mount_setattr(2).
    if (recursive != "writable" && recursive != "disabled") o.push_back("rro");
  }
  o.push_back(propagation);
  return o;
}

Result<runtime::Mount> volume_mount(const compose::ServiceVolume& v, const ContainerContext& ctx) {
  if (v.type == "bind") {
    if (v.source.empty() || v.source.front() != '/')
      return Error(EINVAL, "source \"" + v.source + "\" must be an absolute host path");
    STACK_TRY(auto options, bind_options(v));
    return bind_mount(v.target, v.source, std::move(options));
  }
  if (v.type == "volume") {
    const std::string key = v.source.empty() ? v.target : v.source;
    auto it = ctx.volume_sources.find(key);
    if (it == ctx.volume_sources.end())
      return Error(ENOENT, "volume \"" + key + "\" has not been created");
    std::string source = it->second;
    if (v.volume && !v.volume->subpath.empty()) {
      const std::string sub = clean_path(v.volume->subpath);
      if (sub.front() == '/' || sub == ".." || sub.rfind("../", 0) == 0)
        return Error(EINVAL, "volume.subpath \"" + v.volume->subpath + "\" leaves the volume");
      source += "/" + sub;
    }
    std::vector<std::string> o = {"rbind"};
    if (v.read_only) o.push_back("ro");
    o.push_back("rprivate");
    return bind_mount(v.target, std::move(source), std::move(o));
  }
  if (v.type == "tmpfs") {
    std::vector<std::string> o = tmpfs_defaults();
    if (v.read_only) o.push_back("ro");
    if (v.tmpfs && v.tmpfs->size > 0) o.push_back("size=" + std::to_string(v.tmpfs->size));
    if (v.tmpfs && v.tmpfs->mode != 0) o.push_back("mode=" + octal(v.tmpfs->mode));
    return tmpfs_mount(v.target, std::move(o));
  }
  return Error(ENOTSUP, "type \"" + v.type + "\" is not supported");
}

// A `tmpfs:` entry: "/path" or "/path:opt,opt" (docker run --tmpfs).
runtime::Mount tmpfs_entry(const std::string& entry) {
  const auto colon = entry.find(':');
  std::vector<std::string> o = tmpfs_defaults();
  if (colon != std::string::npos) {
    std::string opts = entry.substr(colon + 1);
    size_t start = 0;
    while (start <= opts.size()) {
      size_t comma = opts.find(',', start);
      if (comma == std::string::npos) comma = opts.size();
      if (comma > start) o.push_back(opts.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return tmpfs_mount(entry.substr(0, colon), std::move(o));
}

// Secrets go below /run/secrets; configs default to /<name> and relative targets are made
// absolute from "/" (compose v2 convergence.go / secrets.go).
Result<runtime::Mount> file_mount(const compose::FileReference& ref,
                                  const std::map<std::string, std::string>& files, bool secret) {
  const char* kind = secret ? "secret" : "config";
  if (ref.source.empty() && ref.target.empty())
    return Error(EINVAL, std::string(kind) + ": a source is required");
  const std::string target = file_reference_target(ref, secret);
  auto it = files.find(target);
  if (it == files.end()) it = files.find(ref.source);
  if (it == files.end())
    return Error(ENOENT, std::string(kind) + " \"" + ref.source + "\" has not been prepared");
  return bind_mount(target, it->second, {"rbind", "ro", "rprivate"});
}

size_t depth(const std::string& path) { return std::count(path.begin(), path.end(), '/'); }

Status collect_user_mounts(const compose::Service& svc, const ContainerContext& ctx,
                           std::vector<runtime::Mount>& out) {
  for (size_t i = 0; i < svc.volumes.size(); ++i) {
    auto m = volume_mount(svc.volumes[i], ctx);
    if (!m.ok()) return std::move(m).error().wrap("volumes[" + std::to_string(i) + "]");
    out.push_back(std::move(*m));
  }
  for (const auto& t : svc.tmpfs) out.push_back(tmpfs_entry(t));
  for (const auto& s : svc.secrets) {
    STACK_TRY(auto m, file_mount(s, ctx.secret_files, true));
    out.push_back(std::move(m));
  }
  for (const auto& c : svc.configs) {
    STACK_TRY(auto m, file_mount(c, ctx.config_files, false));
    out.push_back(std::move(m));
  }
  std::set<std::string> seen;
  for (auto& m : out) {
    if (m.destination.empty() || m.destination.front() != '/')
      return Error(EINVAL, "mount target \"" + m.destination + "\" must be an absolute path");
    m.destination = clean_path(m.destination);
    if (!seen.insert(m.destination).second)
      return Error(EINVAL, "duplicate mount point " + m.destination);
  }
  return {};
}

// /dev/shm: Docker's per-container tmpfs sized by shm_size, the host's with ipc host, none with
// ipc none. A joined ipc namespace keeps a private /dev/shm (only SysV IPC is shared).
void adjust_shm(const compose::Service& svc, runtime::Spec& spec) {
  auto& mounts = spec.mounts;
  auto it = std::find_if(mounts.begin(), mounts.end(),
                         [](const runtime::Mount& m) { return m.destination == "/dev/shm"; });
  if (it == mounts.end()) return;
  if (svc.ipc == "none") {
    mounts.erase(it);
  } else if (svc.ipc == "host") {
    *it = bind_mount("/dev/shm", "/dev/shm", {"rbind", "rprivate"});
  } else if (svc.shm_size > 0) {
    for (auto& o : it->options)
      if (o.rfind("size=", 0) == 0) o = "size=" + std::to_string(svc.shm_size);
  }
}

}  // namespace

std::vector<std::string> merge_tmpfs_options(const std::vector<std::string>& options) {
  static const std::vector<std::pair<std::string, std::string>> kOpposites = {
      {"exec", "noexec"}, {"suid", "nosuid"}, {"dev", "nodev"}, {"rw", "ro"},
      {"atime", "noatime"}, {"diratime", "nodiratime"}};
  std::vector<std::string> out;
  auto key_of = [](const std::string& o) { return o.substr(0, o.find('=')); };
  for (const auto& o : options) {
    if (o.empty()) continue;
    std::string opposite;
    for (const auto& [a, b] : kOpposites) {
      if (o == a) opposite = b;
      if (o == b) opposite = a;
    }
    const std::string key = key_of(o);
    out.erase(std::remove_if(out.begin(), out.end(),
                             [&](const std::string& e) {
                               return e == opposite || e == o ||
                                      (o.find('=') != std::string::npos && key_of(e) == key);
                             }),
              out.end());
    out.push_back(o);
  }
  return out;
}

Status apply_mounts(const compose::Service& svc, const ContainerContext& ctx, runtime::Spec& spec) {
  std::vector<runtime::Mount> user;
  STACK_TRY_VOID(collect_user_mounts(svc, ctx, user));
  auto mounted = [&user](const std::string& dest) {
    return std::any_of(user.begin(), user.end(),
                       [&](const runtime::Mount& m) { return m.destination == dest; });
  };
  // The engine's /etc files are writable unless the rootfs is read-only (moby setupMounts).
  std::vector<std::string> etc_options = {"rbind", "rprivate"};
  if (svc.read_only) etc_options.push_back("ro");
  const std::pair<const char*, const std::string*> etc_files[] = {
      {"/etc/hostname", &ctx.hostname_file},
      {"/etc/hosts", &ctx.hosts_file},
      {"/etc/resolv.conf", &ctx.resolv_conf_file}};
  for (const auto& [dest, source] : etc_files)
    if (!source->empty() && !mounted(dest)) user.push_back(bind_mount(dest, *source, etc_options));

  adjust_shm(svc, spec);
  // A service mount replaces a default one at the same place (a tmpfs on /dev/shm, …).
  auto& defaults = spec.mounts;
  defaults.erase(std::remove_if(defaults.begin(), defaults.end(),
                                [&](const runtime::Mount& m) { return mounted(m.destination); }),
                 defaults.end());
  // Parents before children, as moby's sortMounts: mounting /a after /a/b would hide /a/b.
  std::stable_sort(user.begin(), user.end(), [](const runtime::Mount& a, const runtime::Mount& b) {
    return depth(a.destination) < depth(b.destination);
  });
  for (auto& m : user) defaults.push_back(std::move(m));
  return {};
}

}  // namespace stack::engine::container_detail

namespace stack::engine {

std::string file_reference_target(const compose::FileReference& ref, bool secret) {
  std::string target = ref.target.empty() ? ref.source : ref.target;
  if (target.empty() || target.front() != '/') target = (secret ? "/run/secrets/" : "/") + target;
  return clean_path(target);
}

}  // namespace stack::engine
