// The Plan DAG (order, checks, text form) and the engine model (naming, labels, desired
// project from a Compose project).
#include <catch2/catch.hpp>

#include "stack/engine/model.h"
#include "stack/engine/plan.h"

using namespace stack::engine;
namespace compose = stack::compose;

TEST_CASE("plan: to_string aligns columns in topological order, smallest id first") {
  Plan p;
  const std::string temp = "container:0123456789ab_app-web-1";
  int net = p.add(Op::kCreateNetwork, "network:app_default", "local", "missing");
  int create = p.add(Op::kCreate, temp, "local", "config hash changed", {net},
                     {{"service", "web"}, {"number", "1"}});
  int rename = p.add(Op::kRename, temp, "local", "config hash changed", {create},
                     {{"to", "app-web-1"}});
  int start = p.add(Op::kStart, "container:app-web-1", "local", "config hash changed", {rename});
  // Added last but depends on nothing: it comes before the start that waits for it.
  int stop = p.add(Op::kStop, "container:app-old-1", "local", "orphan", {}, {{"id", "0123"}});
  p.add_dep(start, stop);
  p.add_dep(start, stop);  // duplicates are ignored
  REQUIRE(p.validate().ok());
  CHECK(*p.topological_order() == std::vector<int>{1, 2, 3, 5, 4});
  CHECK(p.find(start)->deps == std::vector<int>{3, 5});
  CHECK(p.find(create)->details.at("number") == "1");  // details reach the executor
  // Only a rename's target is shown: the rest of the details is for the executor.
  CHECK("\n" + p.to_string() == R"(
1  create_network  network:app_default               local  missing
2  create          container:0123456789ab_app-web-1  local  config hash changed  after 1
3  rename          container:0123456789ab_app-web-1  local  config hash changed  after 2  to=app-web-1
5  stop            container:app-old-1               local  orphan
4  start           container:app-web-1               local  config hash changed  after 3,5
)");
}

TEST_CASE("plan: empty plan prints nothing") {
  Plan p;
  CHECK(p.empty());
  CHECK(p.to_string().empty());
  CHECK(p.validate().ok());
}

TEST_CASE("plan: ids of ten and more are right-aligned") {
  Plan p;
  int prev = 0;
  for (int i = 0; i < 10; ++i) {
    prev = p.add(Op::kStart, "container:c" + std::to_string(i), "local", "stopped",
                 prev ? std::vector<int>{prev} : std::vector<int>{});
  }
  std::string text = p.to_string();
  CHECK(text.substr(0, 3) == " 1 ");
  CHECK(text.find("\n10  start  container:c9  local  stopped  after 9\n") != std::string::npos);
  CHECK(text.find("\n 2  start  container:c1  local  stopped  after 1\n") != std::string::npos);
}

TEST_CASE("plan: validate names unknown deps and cycles") {
  Plan p;
  int a = p.add(Op::kStart, "container:a", "local", "x");
  p.add_dep(a, 9);
  auto s = p.validate();
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message == "plan: node 1 depends on unknown node 9");

  Plan q;
  int x = q.add(Op::kStart, "container:x", "local", "x");
  int y = q.add(Op::kStart, "container:y", "local", "x", {x});
  int z = q.add(Op::kStart, "container:z", "local", "x", {y});
  q.add_dep(y, z);
  auto c = q.topological_order();
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message == "plan: cycle through nodes 2 → 3 → 2");
  // Text form still prints (in id order) so that a bad plan can be shown.
  CHECK(q.to_string().substr(0, 2) == "1 ");

  Plan self;
  int n = self.add(Op::kStop, "container:s", "local", "x");
  self.add_dep(n, n);
  CHECK(self.validate().error().message == "plan: node 1 depends on itself");
}

TEST_CASE("model: Compose's names") {
  CHECK(container_name("app", "web", 3) == "app-web-3");
  CHECK(oneoff_container_name("app", "web", "0123456789ab") == "app-web-run-0123456789ab");
  CHECK(resource_name("app", "default") == "app_default");
  CHECK(recreate_temp_name("0123456789abcdef0123", "app-web-1") == "0123456789ab_app-web-1");
  DesiredService s;
  s.name = "db";
  CHECK(s.replica_name("app", 2) == "app-db-2");
  s.container_name = "postgres";
  CHECK(s.replica_name("app", 1) == "postgres");
}

TEST_CASE("model: container labels round-trip with Compose's keys and spellings") {
  DesiredProject project;
  project.name = "app";
  project.working_dir = "/srv/app";
  project.config_files = {"/srv/app/compose.yml", "/srv/app/compose.override.yml"};
  DesiredService s;
  s.name = "web";
  s.config_hash = "abc";
  s.image_digest = "sha256:1111";
  s.depends_on["db"] = {Condition::kHealthy, true, true};
  s.depends_on["cache"] = {Condition::kStarted, true, false};
  auto labels = container_labels(project, s, 2, false);
  CHECK(labels.at("com.docker.compose.project") == "app");
  CHECK(labels.at("com.docker.compose.service") == "web");
  CHECK(labels.at("com.docker.compose.container-number") == "2");
  CHECK(labels.at("com.docker.compose.config-hash") == "abc");
  CHECK(labels.at("com.docker.compose.oneoff") == "False");
  CHECK(labels.at("com.docker.compose.project.working_dir") == "/srv/app");
  CHECK(labels.at("com.docker.compose.project.config_files") ==
        "/srv/app/compose.yml,/srv/app/compose.override.yml");
  CHECK(labels.at("com.docker.compose.image") == "sha256:1111");
  CHECK(labels.at("com.docker.compose.depends_on") ==
        "cache:service_started:false,db:service_healthy:true");
  CHECK(labels.at("com.docker.compose.version") == std::string(label_version()));
  CHECK(labels.size() == 10);
  CHECK(container_labels(project, s, 1, true).at("com.docker.compose.oneoff") == "True");

  auto back = parse_container_labels(labels);
  REQUIRE(back.ok());
  CHECK(back->project == "app");
  CHECK(back->service == "web");
  CHECK(back->number == 2);
  CHECK(back->config_hash == "abc");
  CHECK(back->image_digest == "sha256:1111");
  CHECK_FALSE(back->oneoff);
  CHECK(back->config_files == project.config_files);
  CHECK(back->depends_on == s.depends_on);
  CHECK(back->version == std::string(label_version()));
}

TEST_CASE("model: malformed labels are quoted") {
  auto bad = [](const char* key, const char* value) {
    auto r = parse_container_labels({{key, value}});
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  CHECK(bad("com.docker.compose.container-number", "x1") ==
        "label com.docker.compose.container-number=\"x1\": not a container number");
  CHECK(bad("com.docker.compose.oneoff", "true") ==
        "label com.docker.compose.oneoff=\"true\": not True or False");
  CHECK(bad("com.docker.compose.depends_on", "db:service_ready:false") ==
        "label com.docker.compose.depends_on=\"db:service_ready:false\": unknown depends_on "
        "condition \"service_ready\"");
  // Labels written by Compose itself (short forms) still parse.
  auto ok = parse_container_labels({{"com.docker.compose.depends_on", "db:service_healthy"}});
  REQUIRE(ok.ok());
  CHECK(ok->depends_on.at("db").condition == Condition::kHealthy);
}

TEST_CASE("model: network and volume labels, state spellings") {
  auto n = network_labels("app", "default");
  CHECK(n.at("com.docker.compose.project") == "app");
  CHECK(n.at("com.docker.compose.network") == "default");
  CHECK(volume_labels("app", "data").at("com.docker.compose.volume") == "data");
  CHECK(*parse_container_state("restarting") == ContainerState::kRestarting);
  CHECK(to_string(ContainerState::kExited) == "exited");
  CHECK_FALSE(parse_container_state("up").ok());
  CHECK(*parse_health("healthy") == Health::kHealthy);
  CHECK(*parse_health("") == Health::kNone);
  CHECK(to_string(Condition::kCompletedSuccessfully) == "service_completed_successfully");
  CHECK(*parse_condition("") == Condition::kStarted);
}

namespace {

compose::Service service(const char* name, const char* image = "busybox") {
  compose::Service s;
  s.name = name;
  s.image = image;
  return s;
}

}  // namespace

TEST_CASE("model: desired project from a Compose project") {
  compose::Project p;
  p.name = "app";
  p.working_dir = "/srv/app";
  auto db = service("db", "postgres");
  db.healthcheck = compose::Healthcheck{};
  db.healthcheck->test = std::vector<std::string>{"CMD", "pg_isready"};
  compose::ServiceVolume mount;
  mount.type = "volume";
  mount.source = "data";
  mount.target = "/var/lib/pg";
  db.volumes.push_back(mount);
  db.networks["default"] = std::nullopt;
  auto job = service("job");
  job.scale = 0;
  job.deploy = compose::Deploy{};
  job.deploy->replicas = 4;  // scale wins, as compose-go's GetScale
  auto web = service("web");
  web.deploy = compose::Deploy{};
  web.deploy->replicas = 3;
  web.depends_on["db"] = compose::DependsOn{"service_healthy", true, true, {}};
  web.networks["default"] = std::nullopt;
  p.services = {db, job, web};
  p.disabled_services = {service("debug")};
  for (const char* key : {"default", "unused"}) {
    p.networks[key].key = key;
    p.networks[key].name = std::string("app_") + key;
  }
  p.volumes["data"].key = "data";  // name left empty: <project>_<key>
  p.volumes["ext"].key = "ext";
  p.volumes["ext"].name = "shared";
  p.volumes["ext"].external = true;

  std::map<std::string, std::string> digests = {{"db", "sha256:d1"}, {"web", "sha256:w1"}};
  auto d = desired_project(p, digests);
  REQUIRE(d.ok());
  REQUIRE(d->services.size() == 3);
  const DesiredService& dbs = *d->find_service("db");
  CHECK(dbs.replicas == 1);
  CHECK(dbs.has_healthcheck);
  CHECK(dbs.image_ref == "postgres");
  CHECK(dbs.image_digest == "sha256:d1");
  CHECK(dbs.config_hash.size() == 64);
  CHECK(dbs.volumes == std::vector<std::string>{"data"});
  CHECK(d->find_service("job")->replicas == 0);  // no digest needed without replicas
  const DesiredService& ws = *d->find_service("web");
  CHECK(ws.replicas == 3);
  CHECK_FALSE(ws.has_healthcheck);
  CHECK(ws.depends_on.at("db") == Dependency{Condition::kHealthy, true, true});
  CHECK(ws.config_hash != dbs.config_hash);
  CHECK(d->disabled_services == std::vector<std::string>{"debug"});
  // Unused networks and volumes are left out; a volume without name: gets <project>_<key>.
  REQUIRE(d->networks.size() == 1);
  CHECK(d->networks[0].name == "app_default");
  REQUIRE(d->volumes.size() == 1);
  CHECK(d->volumes[0].name == "app_data");

  SECTION("a missing digest names the service") {
    digests.erase("web");
    auto r = desired_project(p, digests);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "service web: no image digest resolved");
  }
  SECTION("container_name cannot scale") {
    p.services[2].container_name = "www";
    auto r = desired_project(p, digests);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "service web: container_name \"www\" requires a single replica; "
                               "remove the custom name to scale the service");
  }
}
