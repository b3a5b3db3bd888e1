// Naming, labels and state spellings of the engine's model (stack/engine/model.h).
#include "stack/engine/model.h"

#include <charconv>

#ifndef STACK_VERSION
#define STACK_VERSION "dev"
#endif

namespace stack::engine {

std::string_view label_version() { return STACK_VERSION; }

std::string container_name(std::string_view project, std::string_view service, int number) {
  return std::string(project) + "-" + std::string(service) + "-" + std::to_string(number);
}

std::string oneoff_container_name(std::string_view project, std::string_view service,
                                  std::string_view hex12) {
  return std::string(project) + "-" + std::string(service) + "-run-" + std::string(hex12);
}

std::string resource_name(std::string_view project, std::string_view key) {
  return std::string(project) + "_" + std::string(key);
}

std::string recreate_temp_name(std::string_view old_id, std::string_view name) {
  return std::string(old_id.substr(0, 12)) + "_" + std::string(name);
}

std::string_view to_string(Condition condition) {
  switch (condition) {
    case Condition::kStarted: return "service_started";
    case Condition::kHealthy: return "service_healthy";
    case Condition::kCompletedSuccessfully: return "service_completed_successfully";
  }
  return "service_started";
}

Result<Condition> parse_condition(std::string_view text) {
  if (text.empty() || text == "service_started") return Condition::kStarted;
  if (text == "service_healthy") return Condition::kHealthy;
  if (text == "service_completed_successfully") return Condition::kCompletedSuccessfully;
  return Error(EINVAL, "unknown depends_on condition \"" + std::string(text) + "\"");
}

std::string DesiredService::replica_name(std::string_view project, int number) const {
  return container_name.empty() ? engine::container_name(project, name, number) : container_name;
}

const DesiredService* DesiredProject::find_service(std::string_view wanted) const {
  for (const auto& s : services) {
    if (s.name == wanted) return &s;
  }
  return nullptr;
}

namespace {

std::string join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    out.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

Error bad_label(std::string_view key, std::string_view value, std::string_view why) {
  return Error(EINVAL, "label " + std::string(key) + "=\"" + std::string(value) + "\": " +
                           std::string(why));
}

// "db:service_healthy:false" entries, comma-separated, as Compose writes them (the restart
// flag last; required is not recorded by Compose and defaults to true).
Result<std::map<std::string, Dependency>> parse_depends_on(std::string_view value) {
  std::map<std::string, Dependency> out;
  for (const auto& entry : split(value, ',')) {
    auto fields = split(entry, ':');
    if (fields.empty() || fields[0].empty() || fields.size() > 3) {
      return bad_label(kLabelDependsOn, value, "expected service:condition:restart entries");
    }
    Dependency dep;
    if (fields.size() >= 2) {
      auto cond = parse_condition(fields[1]);
      if (!cond.ok()) return bad_label(kLabelDependsOn, value, cond.error().message);
      dep.condition = *cond;
    }
    if (fields.size() == 3) {
      if (fields[2] != "true" && fields[2] != "false") {
        return bad_label(kLabelDependsOn, value, "restart must be true or false");
      }
      dep.restart = fields[2] == "true";
    }
    out[fields[0]] = dep;
  }
  return out;
}

}  // namespace

compose::Mapping container_labels(const DesiredProject& project, const DesiredService& service,
                                  int number, bool oneoff) {
  std::vector<std::string> deps;
  for (const auto& [name, dep] : service.depends_on) {
    deps.push_back(name + ":" + std::string(to_string(dep.condition)) + ":" +
                   (dep.restart ? "true" : "false"));
  }
  compose::Mapping labels = {
      {std::string(kLabelProject), project.name},
      {std::string(kLabelService), service.name},
      {std::string(kLabelNumber), std::to_string(number)},
      {std::string(kLabelConfigHash), service.config_hash},
      {std::string(kLabelOneoff), oneoff ? "True" : "False"},
      {std::string(kLabelWorkingDir), project.working_dir},
      {std::string(kLabelConfigFiles), join(project.config_files, ',')},
      {std::string(kLabelImage), service.image_digest},
      {std::string(kLabelDependsOn), join(deps, ',')},
      {std::string(kLabelVersion), std::string(label_version())},
  };
  return labels;
}

Result<ContainerLabels> parse_container_labels(const compose::Mapping& labels) {
  ContainerLabels out;
  auto get = [&](std::string_view key) -> const std::string* {
    auto it = labels.find(std::string(key));
    return it == labels.end() ? nullptr : &it->second;
  };
  if (auto* v = get(kLabelProject)) out.project = *v;
  if (auto* v = get(kLabelService)) out.service = *v;
  if (auto* v = get(kLabelNumber)) {
    int n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || end != v->data() + v->size() || n < 0) {
      return bad_label(kLabelNumber, *v, "not a container number");
    }
    out.number = n;
  }
  if (auto* v = get(kLabelConfigHash)) out.config_hash = *v;
  if (auto* v = get(kLabelImage)) out.image_digest = *v;
  if (auto* v = get(kLabelOneoff)) {
    if (*v != "True" && *v != "False") return bad_label(kLabelOneoff, *v, "not True or False");
    out.oneoff = *v == "True";
  }
  if (auto* v = get(kLabelWorkingDir)) out.working_dir = *v;
  if (auto* v = get(kLabelConfigFiles)) out.config_files = split(*v, ',');
  if (auto* v = get(kLabelDependsOn)) {
    STACK_TRY(out.depends_on, parse_depends_on(*v));
  }
  if (auto* v = get(kLabelVersion)) out.version = *v;
  return out;
}

compose::Mapping network_labels(std::string_view project, std::string_view key) {
  return {{std::string(kLabelProject), std::string(project)},
          {std::string(kLabelNetwork), std::string(key)},
          {std::string(kLabelVersion), std::string(label_version())}};
}

compose::Mapping volume_labels(std::string_view project, std::string_view key) {
  return {{std::string(kLabelProject), std::string(project)},
          {std::string(kLabelVolume), std::string(key)},
          {std::string(kLabelVersion), std::string(label_version())}};
}

namespace {
constexpr std::string_view kStateNames[] = {"created", "running", "paused",
                                            "restarting", "exited", "dead"};
constexpr std::string_view kHealthNames[] = {"", "starting", "healthy", "unhealthy"};
}  // namespace

std::string_view to_string(ContainerState state) { return kStateNames[static_cast<int>(state)]; }
std::string_view to_string(Health health) { return kHealthNames[static_cast<int>(health)]; }

Result<ContainerState> parse_container_state(std::string_view text) {
  for (int i = 0; i < 6; ++i) {
    if (kStateNames[i] == text) return static_cast<ContainerState>(i);
  }
  return Error(EINVAL, "unknown container state \"" + std::string(text) + "\"");
}

Result<Health> parse_health(std::string_view text) {
  if (text == "none") return Health::kNone;
  for (int i = 0; i < 4; ++i) {
    if (kHealthNames[i] == text) return static_cast<Health>(i);
  }
  return Error(EINVAL, "unknown health status \"" + std::string(text) + "\"");
}

}  // namespace stack::engine
