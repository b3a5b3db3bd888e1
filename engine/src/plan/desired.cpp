// desired_project(): the engine's view of a loaded Compose project (stack/engine/model.h).
#include <set>

#include "stack/compose/canonical.h"
#include "stack/engine/model.h"

namespace stack::engine {
namespace {

// compose-go's ServiceConfig.GetScale: scale wins over deploy.replicas; 1 by default.
int64_t replicas_of(const compose::Service& s) {
  if (s.scale) return *s.scale;
  if (s.deploy && s.deploy->replicas) return *s.deploy->replicas;
  return 1;
}

bool has_healthcheck(const compose::Service& s) {
  if (!s.healthcheck || s.healthcheck->disable) return false;
  // Without a test of its own the image's HEALTHCHECK applies, which only the executor sees.
  const auto& test = s.healthcheck->test;
  return test && !test->empty() && (*test)[0] != "NONE";
}

Result<DesiredService> desired_service(const compose::Service& s,
                                       const std::map<std::string, std::string>& digests) {
  auto fail = [&](std::string msg) { return Error(EINVAL, "service " + s.name + ": " + msg); };
  DesiredService d;
  d.name = s.name;
  int64_t replicas = replicas_of(s);
  if (replicas < 0) return fail("replicas must not be negative");
  d.replicas = static_cast<int>(replicas);
  if (!s.container_name.empty() && d.replicas > 1) {
    return fail("container_name \"" + s.container_name +
                "\" requires a single replica; remove the custom name to scale the service");
  }
  d.container_name = s.container_name;
  d.config_hash = compose::config_hash(s);
  d.image_ref = s.image;
  if (auto it = digests.find(s.name); it != digests.end()) d.image_digest = it->second;
  if (d.image_digest.empty() && d.replicas > 0) return fail("no image digest resolved");
  for (const auto& [name, dep] : s.depends_on) {
    auto cond = parse_condition(dep.condition);
    if (!cond.ok()) return fail("depends_on." + name + ": " + cond.error().message);
    d.depends_on[name] = Dependency{*cond, dep.required, dep.restart};
  }
  d.has_healthcheck = has_healthcheck(s);
  for (const auto& [key, _] : s.networks) d.networks.push_back(key);
  std::set<std::string> vols;
  for (const auto& v : s.volumes) {
    if (v.type == "volume" && !v.source.empty()) vols.insert(v.source);
  }
  d.volumes.assign(vols.begin(), vols.end());
  return d;
}

}  // namespace

Result<DesiredProject> desired_project(const compose::Project& project,
                                       const std::map<std::string, std::string>& image_digests) {
  DesiredProject out;
  out.name = project.name;
  out.working_dir = project.working_dir;
  out.config_files = project.config_files;
  std::set<std::string> used_networks, used_volumes;
  for (const auto& s : project.services) {
    STACK_TRY(auto d, desired_service(s, image_digests));
    used_networks.insert(d.networks.begin(), d.networks.end());
    used_volumes.insert(d.volumes.begin(), d.volumes.end());
    out.services.push_back(std::move(d));
  }
  for (const auto& s : project.disabled_services) out.disabled_services.push_back(s.name);
  for (const auto& [key, n] : project.networks) {
    if (!used_networks.count(key)) continue;
    out.networks.push_back({key, n.name.empty() ? resource_name(project.name, key) : n.name,
                            n.external});
  }
  for (const auto& [key, v] : project.volumes) {
    if (!used_volumes.count(key)) continue;
    out.volumes.push_back({key, v.name.empty() ? resource_name(project.name, key) : v.name,
                           v.external});
  }
  return out;
}

}  // namespace stack::engine
