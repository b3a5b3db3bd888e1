// LocalHost::create_container: the container directory, its overlay rootfs, volumes, the /etc
// files, secrets and configs, the OCI spec and shim.json. The record (container.json) is
// written last; until then the directory is flock'ed by this process, and a failure or a
// crash leaves nothing that the next observe does not remove (local_host.cpp).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/openat2.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "local_impl.h"
#include "stack/common/atomic_file.h"
#include "stack/common/fd_util.h"
#include "stack/common/log.h"
#include "stack/common/path.h"
#include "stack/engine/container_spec.h"
#include "stack/engine/image/reference.h"
#include "stack/engine/image/store.h"
#include "stack/engine/image/unpack.h"
#include "stack/volumes/tree.h"

namespace stack::engine {

namespace img = engine::image;

namespace {

Status make_dir(const std::string& path, mode_t mode = 0700) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return errno_error("creating " + path);
  return {};
}

// The stored image a container is created from: by its reference when that still points at
// the digest, else any reference with that config digest.
Result<img::IndexEntry> find_image(const img::ContentStore& store, const std::string& ref,
                                   const std::string& digest) {
  if (auto parsed = img::parse_reference(ref); parsed.ok())
    if (auto e = store.resolve(parsed->string()); e && e->config_digest == digest) return *e;
  for (const auto& e : store.list())
    if (e.config_digest == digest) return e;
  return Error(ENOENT, "image " + ref + " (" + digest + ") is not in the local store");
}

// Compose's short syntax creates a missing bind source (create_host_path), the long syntax
// refuses it unless bind.create_host_path is set.
Status prepare_bind(const compose::ServiceVolume& v) {
  struct stat st;
  if (::stat(v.source.c_str(), &st) == 0) return {};
  if (!v.bind || !v.bind->create_host_path.value_or(false))
    return Error(ENOENT, "bind source path does not exist: " + v.source);
  const std::string clean = clean_path(v.source);
  for (size_t slash = clean.find('/', 1); ; slash = clean.find('/', slash + 1)) {
    STACK_TRY_VOID(make_dir(clean.substr(0, slash), 0755));
    if (slash == std::string::npos) break;
  }
  return {};
}

Status write_owned_file(const std::string& path, const std::string& content,
                        const compose::FileReference& ref, unsigned default_mode) {
  unsigned mode = ref.mode.value_or(default_mode);
  STACK_TRY_VOID(write_file_atomic(path, content, mode, Durability::kNoSync));
  uid_t uid = ref.uid.empty() ? 0 : static_cast<uid_t>(std::stoul(ref.uid));
  gid_t gid = ref.gid.empty() ? 0 : static_cast<gid_t>(std::stoul(ref.gid));
  if (::chown(path.c_str(), uid, gid) != 0) return errno_error("chown " + path);
  if (::chmod(path.c_str(), mode) != 0) return errno_error("chmod " + path);
  return {};
}

}  // namespace

// Everything create_container does between claiming the name and writing the record.
struct CreateJob {
  LocalHost::Impl& impl;
  const ContainerRequest& req;
  std::string id, dir;
  std::vector<std::string> acquired;  // volumes, released again on failure
  std::vector<std::string> lowers;
  std::map<std::string, std::string> anonymous;  // mount point → volume
  bool mounted = false;
  local::ContainerRecord net;  // network mode, endpoints and ports, released again on failure

  Status run(local::ContainerRecord& record);
  Status mount_rootfs(const img::ContentStore& store, const img::IndexEntry& image);
  Status prepare_volumes(compose::Service& svc, const img::ImageConfig& image, int root_fd,
                         ContainerContext& ctx);
  Status prepare_files(const compose::Service& svc, ContainerContext& ctx);
  void rollback();
};

Status CreateJob::mount_rootfs(const img::ContentStore& store, const img::IndexEntry& image) {
  STACK_TRY(lowers, img::image_lower_dirs(store, image));
  for (const char* sub : {"rootfs", "upper", "work"})
    STACK_TRY_VOID(make_dir(dir + "/" + sub, sub == std::string("rootfs") ? 0755 : 0700));
  if (lowers.empty()) {
    STACK_TRY_VOID(make_dir(dir + "/empty"));
    lowers.push_back(dir + "/empty");
  }
  std::string data = "lowerdir=";
  for (size_t i = 0; i < lowers.size(); ++i) data += (i ? ":" : "") + lowers[i];
  data += ",upperdir=" + dir + "/upper,workdir=" + dir + "/work";
  STACK_TRY_VOID(impl.sys.mount("overlay", dir + "/rootfs", "overlay", 0, data)
                     .wrap("mounting the rootfs of " + req.name));
  mounted = true;
  return {};
}

Status CreateJob::prepare_volumes(compose::Service& svc, const img::ImageConfig& image,
                                  int root_fd, ContainerContext& ctx) {
  // The image's VOLUMEs that no service mount covers become anonymous volumes, as Docker does.
  std::set<std::string> targets;
  for (const auto& v : svc.volumes) targets.insert(clean_path(v.target));
  for (const auto& path : image.volumes)
    if (!targets.count(clean_path(path))) {
      compose::ServiceVolume v;
      v.type = "volume";
      v.target = clean_path(path);
      svc.volumes.push_back(v);
    }
  STACK_TRY(auto* driver, impl.driver());
  // A replacement takes over its predecessor's anonymous volumes (Compose's recreate).
  std::map<std::string, std::string> inherit;
  if (!req.replaces.empty())
    if (auto old_id = impl.find_id(req.replaces); old_id.ok())
      if (auto old = impl.load(*old_id); old.ok()) inherit = old->record.anonymous;
  for (const auto& v : svc.volumes) {
    if (v.type == "bind") {
      STACK_TRY_VOID(prepare_bind(v).wrap("volume " + v.source));
      continue;
    }
    if (v.type != "volume") continue;
    std::string name;
    if (v.source.empty()) {
      const std::string target = clean_path(v.target);
      if (auto it = inherit.find(target); it != inherit.end()) {
        name = it->second;
      } else {
        volumes::VolumeSpec spec;
        spec.name = volumes::anonymous_volume_name();
        spec.labels = {{volumes::kAnonymousLabel, ""},
                       {std::string(kLabelProject), req.project}};
        STACK_TRY_VOID(driver->create(spec));
        name = spec.name;
      }
      anonymous[target] = name;
    } else {
      auto it = req.volume_names.find(v.source);
      if (it == req.volume_names.end())
        return Error(ENOENT, "volume \"" + v.source + "\" is not declared in the project");
      name = it->second;
    }
    STACK_TRY(auto path, driver->acquire(name, id));
    acquired.push_back(name);
    ctx.volume_sources[v.source.empty() ? v.target : v.source] = path;
    // A new volume is filled with the image's content at its mount point (Docker's copy-up),
    // unless nocopy; copy_up leaves a volume that already has content alone.
    if (v.volume && v.volume->nocopy) continue;
    auto src = impl.sys.openat2(root_fd, v.target, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                                RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    if (!src.ok()) continue;  // nothing in the image there
    UniqueFd dst(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dst) return errno_error("opening volume " + name);
    STACK_TRY_VOID(volumes::copy_up(src->get(), dst.get()).wrap("filling volume " + name));
  }
  return {};
}

Status CreateJob::prepare_files(const compose::Service& svc, ContainerContext& ctx) {
  const bool host_net = net.network_mode == "host";
  std::vector<std::string> own_addresses;
  if (!net.endpoints.empty()) {
    for (const auto* a : {&net.endpoints[0].info.ipv4, &net.endpoints[0].info.ipv6})
      if (!a->empty()) own_addresses.push_back(*a);
  }
  std::string hostname = svc.hostname.empty() ? id.substr(0, 12) : svc.hostname;
  ctx.hosts_file = dir + "/hosts";
  ctx.resolv_conf_file = dir + "/resolv.conf";
  ctx.hostname_file = dir + "/hostname";
  STACK_TRY_VOID(write_file_atomic(
      ctx.hosts_file,
      local::hosts_content(hostname, svc.domainname, svc.extra_hosts, host_net, own_addresses),
      0644, Durability::kNoSync));
  std::string host_resolv = read_file("/etc/resolv.conf").value_or("");
  STACK_TRY_VOID(write_file_atomic(ctx.resolv_conf_file,
                                   local::resolv_content(host_resolv, svc, host_net,
                                                         !net.endpoints.empty()),
                                   0644,
                                   Durability::kNoSync));
  STACK_TRY_VOID(
      write_file_atomic(ctx.hostname_file, hostname + "\n", 0644, Durability::kNoSync));
  if (!svc.secrets.empty() || !svc.configs.empty()) STACK_TRY_VOID(make_dir(dir + "/files"));
  for (const auto& [refs, contents, out, kind, mode] :
       {std::tuple{&svc.secrets, &req.secrets, &ctx.secret_files, "secret", 0444u},
        std::tuple{&svc.configs, &req.configs, &ctx.config_files, "config", 0444u}}) {
    for (const auto& ref : *refs) {
      auto it = contents->find(ref.source);
      if (it == contents->end())
        return Error(ENOENT, std::string(kind) + " \"" + ref.source + "\" is not declared");
      // One file per reference: two references to one secret may differ in owner and mode.
      const std::string target = file_reference_target(ref, kind == std::string("secret"));
      std::string path = dir + "/files/" + kind + "-" + std::to_string(out->size());
      STACK_TRY_VOID(write_owned_file(path, it->second, ref, mode));
      (*out)[target] = path;
    }
  }
  return {};
}

Status CreateJob::run(local::ContainerRecord& record) {
  STACK_TRY(auto store, img::ContentStore::open(impl.options.root + "/images"));
  STACK_TRY(auto image, find_image(store, req.image_ref, req.image_digest));
  STACK_TRY(auto stored, img::read_stored_image(store, image));
  STACK_TRY_VOID(mount_rootfs(store, image));
  UniqueFd root_fd(::open((dir + "/rootfs").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return errno_error("opening the rootfs of " + req.name);

  compose::Service svc = req.service;
  ContainerContext ctx;
  ctx.project = req.project;
  ctx.service = svc.name;
  ctx.container_name = req.name;
  ctx.working_dir = req.working_dir;
  ctx.number = req.number;
  ctx.rootfs = dir + "/rootfs";
  ctx.cgroups_path = "/stack/" + id;
  ctx.labels = req.labels;
  net.id = id;
  net.name = req.name;
  STACK_TRY_VOID(impl.allocate_endpoints(req, id, dir, net));
  ctx.host_network = net.network_mode == "host";
  if (!net.netns.empty()) ctx.join_namespaces["network"] = net.netns;
  ctx.passwd = read_file_in_root(impl.sys, root_fd.get(), "/etc/passwd");
  ctx.group = read_file_in_root(impl.sys, root_fd.get(), "/etc/group");
  if (svc.hostname.empty()) svc.hostname = id.substr(0, 12);
  STACK_TRY_VOID(prepare_volumes(svc, stored.config, root_fd.get(), ctx));
  STACK_TRY_VOID(prepare_files(svc, ctx));
  STACK_TRY(auto spec, build_container_spec(svc, stored.config, ctx));
  if (svc.init.value_or(false) && spec.process) {
    // Docker's `init: true`: its init binary, bind-mounted read-only, runs the command as its
    // child, forwards signals and reaps zombies (cmd/init_main.cpp).
    if (::access(impl.options.init_binary.c_str(), X_OK) != 0)
      return errno_error("init: " + impl.options.init_binary);
    spec.mounts.push_back(runtime::Mount{"/sbin/docker-init", "bind", impl.options.init_binary,
                                         {"rbind", "ro", "rprivate"}, {}});
    spec.process->args.insert(spec.process->args.begin(), {"/sbin/docker-init", "--"});
  }
  STACK_TRY_VOID(make_dir(dir + "/bundle", 0700));
  STACK_TRY_VOID(write_file_atomic(dir + "/bundle/config.json", runtime::spec_to_json(spec), 0600,
                                   Durability::kNoSync));
  STACK_TRY(auto shim, local::shim_config_for(svc, stored.config, id, dir + "/bundle",
                                              impl.options.runtime_root));
  shim.cgroups_path = ctx.cgroups_path;
  STACK_TRY_VOID(write_file_atomic(dir + "/" + kShimConfigFile, shim_config_to_json(shim), 0600,
                                   Durability::kNoSync));
  record.id = id;
  record.name = req.name;
  record.created = rfc3339_nano_now();
  record.image = req.image_ref;
  record.image_digest = req.image_digest;
  record.labels = req.labels;
  if (spec.process) record.command = spec.process->args;
  record.ports = svc.ports;
  record.volumes = acquired;
  record.lowers = lowers;
  record.anonymous = anonymous;
  record.stop_grace_ms = shim.stop_grace_ms;
  record.network_mode = net.network_mode;
  record.netns = net.netns;
  record.endpoints = net.endpoints;
  record.published = net.published;
  record.links = net.links;
  record.external_links = net.external_links;
  record.dns = net.dns;
  // Exposed ports as Docker lists them: "80/tcp"; expose: takes "80", "80/udp" or a range.
  std::set<std::string> exposed(stored.config.exposed_ports.begin(),
                                stored.config.exposed_ports.end());
  for (const auto& e : svc.expose) {
    std::string spec = e, proto = "tcp";
    if (size_t slash = spec.find('/'); slash != std::string::npos) {
      proto = spec.substr(slash + 1);
      spec.resize(slash);
    }
    unsigned first = 0, last = 0;
    char dash = 0;
    int n = std::sscanf(spec.c_str(), "%u%c%u", &first, &dash, &last);
    if (n == 1) last = first;
    if (n < 1 || (n == 3 && dash != '-') || n == 2 || last < first || last - first > 1000) continue;
    for (unsigned port = first; port <= last; ++port)
      exposed.insert(std::to_string(port) + "/" + proto);
  }
  for (const auto& p : svc.ports)
    exposed.insert(std::to_string(p.target) + "/" + (p.protocol.empty() ? "tcp" : p.protocol));
  record.exposed.assign(exposed.begin(), exposed.end());
  return {};
}

void CreateJob::rollback() {
  if (Status st = impl.release_endpoints(net); !st.ok()) log::warn(st.error().to_string());
  if (mounted) (void)impl.sys.umount2(dir + "/rootfs", MNT_DETACH);
  if (auto* d = impl.driver().value_or(nullptr))
    for (const auto& v : acquired) (void)d->release(v, id);
  if (Status st = local::remove_container_dir(impl.containers_dir, id); !st.ok()) log::warn(st.error().to_string());
}

Status LocalHost::create_container(const ContainerRequest& req) {
  auto fail = [&](Error e) { return std::move(e).wrap("container " + req.name); };
  const std::string id = local::random_hex(32);
  const std::string dir = impl_->dir_of(id);
  UniqueFd dir_lock;
  {
    // Claim the name. A claim whose container never got its record (a crashed create) is
    // taken over; see collect_unfinished.
    STACK_TRY(auto lock, impl_->lock_names());
    const std::string link = impl_->names_dir + "/" + req.name;
    std::string owner = impl_->link_target(req.name);
    if (!owner.empty()) {
      if (impl_->has_record(owner) || ::access(impl_->dir_of(owner).c_str(), F_OK) == 0)
        return Error(EEXIST, "container name \"" + req.name + "\" is already in use by " +
                                 owner.substr(0, 12));
      ::unlink(link.c_str());
    }
    if (::mkdir(dir.c_str(), 0711) != 0) return fail(errno_error("creating " + dir));
    // flock'ed before the names lock is released: a concurrent observe (stack-netd's, for
    // one) never takes the new directory for an abandoned create.
    dir_lock.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_lock) ::flock(dir_lock.get(), LOCK_EX);
    if (::symlink(id.c_str(), link.c_str()) != 0) {
      Error e = errno_error("claiming " + link);
      ::rmdir(dir.c_str());
      return fail(e);
    }
  }
  CreateJob job{*impl_, req, id, dir};
  local::ContainerRecord record;
  Status st = job.run(record);
  if (st.ok())
    st = write_file_atomic(dir + "/" + local::kRecordFile, local::record_to_json(record), 0600);
  if (!st.ok()) {
    job.rollback();
    auto lock = impl_->lock_names();
    if (impl_->link_target(req.name) == id)
      ::unlink((impl_->names_dir + "/" + req.name).c_str());
    return fail(st.error());
  }
  return {};
}

}  // namespace stack::engine
