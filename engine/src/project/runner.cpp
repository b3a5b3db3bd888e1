// HostRunner: plan nodes → Host calls (runner.h).
#include "stack/engine/runner.h"

#include <chrono>
#include <cstdlib>

#include "stack/common/atomic_file.h"

namespace stack::engine {

std::string resource_id(const Node& node) {
  size_t colon = node.resource.find(':');
  return colon == std::string::npos ? node.resource : node.resource.substr(colon + 1);
}

HostRunner::HostRunner(Host& host, const compose::Project* project,
                       const DesiredProject* desired, RunnerOptions options)
    : host_(host), project_(project), desired_(desired), options_(options) {}

namespace {

// The content of a secret or config: its file, an environment variable, or inline content.
Result<std::string> file_object_content(const compose::FileObject& o, const char* kind) {
  if (o.external)
    return Error(ENOTSUP, std::string(kind) + " " + o.key +
                              ": external secrets and configs need a swarm; not supported");
  if (!o.file.empty()) return read_file(o.file);
  if (!o.environment.empty()) {
    const char* v = std::getenv(o.environment.c_str());
    if (!v)
      return Error(ENOENT, std::string(kind) + " " + o.key + ": environment variable " +
                               o.environment + " is not set");
    return std::string(v);
  }
  return o.content;
}

}  // namespace

Result<ContainerRequest> HostRunner::container_request(const std::string& service, int number,
                                                       const std::string& name) const {
  if (!project_ || !desired_) return Error(EINVAL, "creating " + name + ": no project loaded");
  const compose::Service* svc = project_->find_service(service);
  const DesiredService* ds = desired_->find_service(service);
  if (!svc || !ds) return Error(ENOENT, "no such service: " + service);
  ContainerRequest r;
  r.name = name;
  r.service = *svc;
  r.project = desired_->name;
  r.working_dir = desired_->working_dir;
  r.number = number;
  r.image_ref = svc->image;
  r.image_digest = ds->image_digest;
  r.labels = svc->labels;
  for (const auto& [k, v] : container_labels(*desired_, *ds, number, false)) r.labels[k] = v;
  for (const auto& v : desired_->volumes) r.volume_names[v.key] = v.name;
  for (const auto& n : desired_->networks) {
    r.network_names[n.key] = n.name;
    if (n.external) r.external_networks.push_back(n.name);
  }
  auto wrap = [&](Error e) { return std::move(e).wrap("service " + service); };
  for (const auto& ref : svc->secrets) {
    auto it = project_->secrets.find(ref.source);
    if (it == project_->secrets.end())
      return wrap(Error(ENOENT, "secret \"" + ref.source + "\" is not declared"));
    auto content = file_object_content(it->second, "secret");
    if (!content.ok()) return wrap(std::move(content).error());
    r.secrets[ref.source] = *content;
  }
  for (const auto& ref : svc->configs) {
    auto it = project_->configs.find(ref.source);
    if (it == project_->configs.end())
      return wrap(Error(ENOENT, "config \"" + ref.source + "\" is not declared"));
    auto content = file_object_content(it->second, "config");
    if (!content.ok()) return wrap(std::move(content).error());
    r.configs[ref.source] = *content;
  }
  return r;
}

Status HostRunner::create(const Node& node) {
  auto service = node.details.find("service");
  auto number = node.details.find("number");
  if (service == node.details.end() || number == node.details.end())
    return Error(EINVAL, "create node " + std::to_string(node.id) + " lacks service/number");
  STACK_TRY(auto req, container_request(service->second, std::atoi(number->second.c_str()),
                                        resource_id(node)));
  if (auto replaces = node.details.find("replaces"); replaces != node.details.end())
    req.replaces = replaces->second;
  return host_.create_container(req);
}

Status HostRunner::wait_service(const Node& node, const CancelToken& cancel, bool healthy) {
  const std::string service = resource_id(node);
  const std::string project = desired_ ? desired_->name : "";
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    STACK_TRY(auto all, host_.containers(project));
    bool done = true;
    int replicas = 0;
    for (const auto& c : all) {
      const auto& o = c.observed;
      if (o.labels.service != service || o.labels.oneoff) continue;
      ++replicas;
      if (healthy) {
        if (o.state == ContainerState::kExited || o.state == ContainerState::kDead)
          return Error(EIO, "container " + o.name + " exited (" + std::to_string(o.exit_code) +
                                ")");
        if (o.health == Health::kUnhealthy)
          return Error(EIO, "container " + o.name + " is unhealthy");
        if (o.state == ContainerState::kRunning && o.health == Health::kNone)
          return Error(EINVAL, "container " + o.name + " has no healthcheck configured");
        if (o.health != Health::kHealthy) done = false;
      } else {
        if (o.state != ContainerState::kExited && o.state != ContainerState::kDead) {
          done = false;
        } else if (o.exit_code != 0) {
          return Error(EIO, "service \"" + service + "\" didn't complete successfully: exit " +
                                std::to_string(o.exit_code));
        }
      }
    }
    if (replicas == 0 && !healthy) return {};  // scaled to zero: nothing to wait for
    if (done) return {};
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (options_.wait_timeout_ms > 0 && waited.count() >= options_.wait_timeout_ms)
      return Error(ETIMEDOUT, "service " + service + ": timed out waiting to be " +
                                  (healthy ? "healthy" : "completed"));
    if (cancel.wait_for(std::chrono::milliseconds(options_.poll_ms)))
      return Error(ECANCELED, "cancelled");
  }
}

Status HostRunner::run(const Node& node, const CancelToken& cancel) {
  const std::string id = resource_id(node);
  switch (node.op) {
    case Op::kCreate:
      return create(node);
    case Op::kStart:
      return host_.start_container(id);
    case Op::kStop:
      return host_.stop_container(id, StopOptions{options_.stop_timeout_ms});
    case Op::kRemove:
      return host_.remove_container(id, true);
    case Op::kRename: {
      auto to = node.details.find("to");
      if (to == node.details.end()) return Error(EINVAL, "rename node lacks its target name");
      return host_.rename_container(id, to->second);
    }
    case Op::kWaitHealthy:
      return wait_service(node, cancel, true);
    case Op::kWaitCompleted:
      return wait_service(node, cancel, false);
    case Op::kCreateNetwork: {
      std::string key = id;
      if (desired_)
        for (const auto& n : desired_->networks)
          if (n.name == id) key = n.key;
      compose::Network config;
      if (project_)
        if (auto it = project_->networks.find(key); it != project_->networks.end())
          config = it->second;
      compose::Mapping labels = config.labels;
      for (const auto& [k, v] : network_labels(desired_ ? desired_->name : "", key)) labels[k] = v;
      return host_.create_network(id, config, labels);
    }
    case Op::kRemoveNetwork:
      return host_.remove_network(id);
    case Op::kCreateVolume: {
      if (!desired_ || !project_) return Error(EINVAL, "creating volume " + id + ": no project");
      for (const auto& v : desired_->volumes) {
        if (v.name != id) continue;
        auto it = project_->volumes.find(v.key);
        compose::Volume spec = it != project_->volumes.end() ? it->second : compose::Volume{};
        compose::Mapping labels = v.external ? compose::Mapping{}
                                             : volume_labels(desired_->name, v.key);
        return host_.create_volume(id, spec, labels);
      }
      return Error(ENOENT, "volume " + id + " is not part of the project");
    }
    case Op::kRemoveVolume:
      return host_.remove_volume(id);
  }
  return Error(EINVAL, "unknown operation");
}

}  // namespace stack::engine
