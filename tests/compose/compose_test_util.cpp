#include "compose_test_util.h"

namespace stack::compose::testing {

Result<Project> load_yaml(const std::string& yaml, const Env& env, const Files& files, LoadOptions options) {
  MemoryFileSource fs(files);
  fs.add("/project/compose.yaml", yaml);
  if (options.working_dir.empty()) options.working_dir = "/project";
  if (options.environment.empty()) options.environment = env;
  return load(options, fs);
}

Project load_ok(const std::string& yaml, const Env& env, const Files& files, LoadOptions options) {
  auto r = load_yaml(yaml, env, files, std::move(options));
  INFO((r.ok() ? std::string() : r.error().to_string()));
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string load_error(const std::string& yaml, const Env& env, const Files& files, LoadOptions options) {
  auto r = load_yaml(yaml, env, files, std::move(options));
  INFO((r.ok() ? project_to_json(*r).dump(2) : std::string()));
  REQUIRE_FALSE(r.ok());
  return r.error().to_string();
}

Json service_json(const std::string& yaml, const std::string& service, const Env& env, const Files& files) {
  Project p = load_ok(yaml, env, files);
  const Service* s = p.find_service(service);
  INFO("service " << service);
  REQUIRE(s != nullptr);
  return service_to_json(*s);
}

void check_round_trip(const Project& p, const Env& env, LoadOptions o) {
  Json first = project_to_json(p);
  MemoryFileSource fs;
  fs.add(p.working_dir + "/compose.json", to_json_text(escape_dollars(first)));
  o.working_dir = p.working_dir;
  o.files = {p.working_dir + "/compose.json"};
  o.environment = env;
  auto again = load(o, fs);
  INFO("canonical JSON:\n" << first.dump(2));
  INFO((again.ok() ? std::string() : again.error().to_string()));
  REQUIRE(again.ok());
  CHECK(project_to_json(*again).dump(2) == first.dump(2));
  CHECK(again->services == p.services);
  CHECK(again->networks == p.networks);
  CHECK(again->volumes == p.volumes);
  CHECK(again->secrets == p.secrets);
  CHECK(again->configs == p.configs);
}

}  // namespace stack::compose::testing
