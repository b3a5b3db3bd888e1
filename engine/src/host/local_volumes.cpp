// LocalHost's project volumes through the local volume driver (<root>/volumes).
#include "local_impl.h"

namespace stack::engine {

Result<volumes::LocalDriver*> LocalHost::Impl::driver() {
  std::lock_guard<std::mutex> lock(driver_mu);
  if (!driver_) {
    STACK_TRY(auto d, volumes::LocalDriver::open(options.root + "/volumes", sys));
    driver_.emplace(std::move(d));
  }
  return &*driver_;
}

Result<std::vector<ObservedVolume>> LocalHost::Impl::project_volumes(const std::string& project) {
  STACK_TRY(auto* d, driver());
  STACK_TRY(auto all, d->list());
  std::vector<ObservedVolume> out;
  for (const auto& v : all) {
    auto p = v.labels.find(std::string(kLabelProject));
    if (p == v.labels.end() || (!project.empty() && p->second != project)) continue;
    ObservedVolume o;
    o.name = v.name;
    if (auto k = v.labels.find(std::string(kLabelVolume)); k != v.labels.end()) o.key = k->second;
    out.push_back(std::move(o));
  }
  return out;
}

Status LocalHost::create_volume(const std::string& name, const compose::Volume& volume,
                                const compose::Mapping& labels) {
  STACK_TRY(auto* d, impl_->driver());
  STACK_TRY(auto existing, d->get(name));
  if (existing) return {};
  if (volume.external)
    return Error(ENOENT, "external volume \"" + name + "\" not found");
  if (!volume.driver.empty() && volume.driver != volumes::kLocalDriverName)
    return Error(ENOTSUP, "volume " + name + ": driver \"" + volume.driver +
                              "\" is not supported (local only)");
  volumes::VolumeSpec spec;
  spec.name = name;
  spec.driver_opts = volume.driver_opts;
  spec.labels = volume.labels;
  for (const auto& [k, v] : labels) spec.labels[k] = v;
  STACK_TRY_VOID(d->create(spec).wrap("volume " + name));
  return {};
}

Status LocalHost::remove_volume(const std::string& name) {
  STACK_TRY(auto* d, impl_->driver());
  return d->remove(name, false).wrap("volume " + name);
}

}  // namespace stack::engine
