// reconcile() and plan_down(): golden plans for Compose's convergence rules.
#include <algorithm>

#include <catch2/catch.hpp>

#include "stack/engine/reconcile.h"

using namespace stack::engine;

namespace {

DesiredService svc(const std::string& name, int replicas = 1) {
  DesiredService s;
  s.name = name;
  s.replicas = replicas;
  s.config_hash = "hash-" + name;
  s.image_ref = name + ":latest";
  s.image_digest = "sha256:" + name;
  s.networks = {"default"};
  return s;
}

// db (healthcheck, volume data) ← api (service_healthy) ← web (service_started).
DesiredProject chain() {
  DesiredProject p;
  p.name = "app";
  auto db = svc("db");
  db.has_healthcheck = true;
  db.volumes = {"data"};
  auto api = svc("api");
  api.depends_on["db"] = {Condition::kHealthy, true, false};
  auto web = svc("web");
  web.depends_on["api"] = {Condition::kStarted, true, false};
  p.services = {api, db, web};
  p.networks = {{"default", "app_default", false}};
  p.volumes = {{"data", "app_data", false}};
  return p;
}

DesiredService& find(DesiredProject& p, const std::string& name) {
  for (auto& s : p.services) {
    if (s.name == name) return s;
  }
  FAIL("no service " << name);
  throw;
}

// A container as reconcile would have created it: labels from the desired service, running,
// healthy when the service has a healthcheck. ids read "<service><n>0000…".
ObservedContainer ctr(const DesiredProject& p, const DesiredService& s, int n,
                      ContainerState state = ContainerState::kRunning) {
  ObservedContainer c;
  c.name = s.replica_name(p.name, n);
  c.id = s.name + std::to_string(n);
  c.id.resize(64, '0');
  c.labels.project = p.name;
  c.labels.service = s.name;
  c.labels.number = n;
  c.labels.config_hash = s.config_hash;
  c.labels.image_digest = s.image_digest;
  c.labels.depends_on = s.depends_on;
  c.state = state;
  c.health = s.has_healthcheck ? Health::kHealthy : Health::kNone;
  return c;
}

// Every replica running, every network and volume present.
Snapshot converged(const DesiredProject& p) {
  Snapshot snap;
  for (const auto& s : p.services) {
    for (int n = 1; n <= s.replicas; ++n) snap.containers.push_back(ctr(p, s, n));
  }
  for (const auto& n : p.networks) snap.networks.push_back({n.name, n.key});
  for (const auto& v : p.volumes) snap.volumes.push_back({v.name, v.key});
  return snap;
}

std::string plan_text(const DesiredProject& p, const Snapshot& snap,
                      const ReconcileOptions& options = {}) {
  auto plan = reconcile(p, snap, options);
  if (!plan.ok()) return "error: " + plan.error().message;
  return "\n" + plan->to_string();  // so that goldens start on their own line
}

}  // namespace

TEST_CASE("reconcile: fresh project with a healthcheck-gated chain") {
  auto p = chain();
  CHECK(plan_text(p, Snapshot{}) == R"(
1  create_network  network:app_default  local  missing
2  create_volume   volume:app_data      local  missing
3  create          container:app-db-1   local  missing          after 1,2
4  start           container:app-db-1   local  missing          after 3
5  wait_healthy    service:db           local  service_healthy  after 4
6  create          container:app-api-1  local  missing          after 1,5
7  start           container:app-api-1  local  missing          after 6
8  create          container:app-web-1  local  missing          after 1,7
9  start           container:app-web-1  local  missing          after 8
)");
}

TEST_CASE("reconcile: a converged project gives an empty plan") {
  auto p = chain();
  auto plan = reconcile(p, converged(p), {});
  REQUIRE(plan.ok());
  CHECK(plan->empty());
  CHECK(plan->warnings().empty());
}

TEST_CASE("reconcile: a config change recreates only that service, not its dependents") {
  auto p = chain();
  auto snap = converged(p);
  find(p, "api").config_hash = "hash-api-v2";
  CHECK(plan_text(p, snap) == R"(
1  create  container:api100000000_app-api-1  local  config hash changed
2  stop    container:app-api-1               local  config hash changed  after 1
3  remove  container:app-api-1               local  config hash changed  after 2
4  rename  container:api100000000_app-api-1  local  config hash changed  after 3  to=app-api-1
5  start   container:app-api-1               local  config hash changed  after 4
)");  // What the executor reads beyond the text form.
  auto plan = reconcile(p, snap, {});
  REQUIRE(plan->nodes().size() == 5);
  using Details = std::map<std::string, std::string>;
  CHECK(plan->nodes()[0].details ==
        Details{{"number", "1"}, {"replaces", "api100000000"}, {"service", "api"}});
  CHECK(plan->nodes()[1].details == Details{{"id", "api100000000"}});
  CHECK(plan->nodes()[2].details == Details{{"id", "api100000000"}});
  CHECK(plan->nodes()[3].details == Details{{"to", "app-api-1"}});
  CHECK(plan->nodes()[4].host == "local");
}

TEST_CASE("reconcile: an image digest change recreates, after creating a missing network") {
  auto p = chain();
  auto snap = converged(p);
  snap.networks.clear();
  find(p, "web").image_digest = "sha256:web-v2";
  CHECK(plan_text(p, snap) == R"(
1  create_network  network:app_default               local  missing
2  create          container:web100000000_app-web-1  local  image changed  after 1
3  stop            container:app-web-1               local  image changed  after 2
4  remove          container:app-web-1               local  image changed  after 3
5  rename          container:web100000000_app-web-1  local  image changed  after 4  to=app-web-1
6  start           container:app-web-1               local  image changed  after 5
)");
}

TEST_CASE("reconcile: restart: true dependents restart around their dependency's recreate") {
  auto p = chain();
  find(p, "web").depends_on["api"].restart = true;
  auto snap = converged(p);
  find(p, "api").config_hash = "hash-api-v2";
  CHECK(plan_text(p, snap) == R"(
1  create  container:api100000000_app-api-1  local  config hash changed
6  stop    container:app-web-1               local  dependency api recreated
2  stop    container:app-api-1               local  config hash changed       after 1,6
3  remove  container:app-api-1               local  config hash changed       after 2
4  rename  container:api100000000_app-api-1  local  config hash changed       after 3  to=app-api-1
5  start   container:app-api-1               local  config hash changed       after 4
7  start   container:app-web-1               local  dependency api recreated  after 5,6
)");
}

TEST_CASE("reconcile: scale up 1 → 3 numbers the new replicas 2 and 3") {
  auto p = chain();
  ReconcileOptions o;
  o.scale["web"] = 3;
  CHECK(plan_text(p, converged(p), o) == R"(
1  create  container:app-web-2  local  missing
2  start   container:app-web-2  local  missing  after 1
3  create  container:app-web-3  local  missing
4  start   container:app-web-3  local  missing  after 3
)");
}

TEST_CASE("reconcile: scale down 3 → 1 removes obsolete containers first, then the highest") {
  auto p = chain();
  find(p, "web").replicas = 3;
  auto snap = converged(p);
  find(p, "web").replicas = 1;
  for (auto& c : snap.containers) {
    if (c.name == "app-web-2") c.labels.config_hash = "hash-web-old";
  }
  // Keeps app-web-1 (up to date, lowest); app-web-2 (obsolete) and app-web-3 go.
  CHECK(plan_text(p, snap) == R"(
1  stop    container:app-web-3  local  scale down
2  remove  container:app-web-3  local  scale down  after 1
3  stop    container:app-web-2  local  scale down
4  remove  container:app-web-2  local  scale down  after 3
)");
}

TEST_CASE("reconcile: gaps in numbers: new replicas continue after the highest") {
  auto p = chain();
  find(p, "web").replicas = 3;
  auto snap = converged(p);
  snap.containers.erase(std::remove_if(snap.containers.begin(), snap.containers.end(),
                                       [](auto& c) { return c.name == "app-web-2"; }),
                        snap.containers.end());
  CHECK(plan_text(p, snap) == R"(
1  create  container:app-web-4  local  missing
2  start   container:app-web-4  local  missing  after 1
)");
}

TEST_CASE("reconcile: force_recreate and no_recreate") {
  auto p = chain();
  auto snap = converged(p);
  ReconcileOptions force;
  force.force_recreate = true;
  force.services = {"web"};
  SECTION("forced: only the named service; its dependencies only with always_recreate_deps") {
    CHECK(plan_text(p, snap, force) == R"(
1  create  container:web100000000_app-web-1  local  forced
2  stop    container:app-web-1               local  forced  after 1
3  remove  container:app-web-1               local  forced  after 2
4  rename  container:web100000000_app-web-1  local  forced  after 3  to=app-web-1
5  start   container:app-web-1               local  forced  after 4
)");
    force.always_recreate_deps = true;
    auto all = reconcile(p, snap, force);
    REQUIRE(all.ok());
    int creates = 0;
    for (const auto& n : all->nodes()) creates += n.op == Op::kCreate && n.cause == "forced";
    CHECK(creates == 3);
  }
  SECTION("no_recreate leaves a changed service alone") {
    find(p, "api").config_hash = "hash-api-v2";
    ReconcileOptions keep;
    keep.no_recreate = true;
    auto plan = reconcile(p, snap, keep);
    REQUIRE(plan.ok());
    CHECK(plan->empty());
  }
  SECTION("both is an error") {
    force.no_recreate = true;
    CHECK(plan_text(p, snap, force) ==
          "error: --force-recreate and --no-recreate are incompatible");
  }
}

TEST_CASE("reconcile: stopped and created containers are started, gated by dependencies") {
  auto p = chain();
  auto snap = converged(p);
  for (auto& c : snap.containers) {
    if (c.name == "app-db-1") c.state = ContainerState::kExited, c.health = Health::kNone;
    if (c.name == "app-api-1") c.state = ContainerState::kExited;
    if (c.name == "app-web-1") c.state = ContainerState::kCreated;
  }
  CHECK(plan_text(p, snap) == R"(
1  start         container:app-db-1   local  stopped
2  wait_healthy  service:db           local  service_healthy  after 1
3  start         container:app-api-1  local  stopped          after 2
4  start         container:app-web-1  local  created          after 3
)");
}

TEST_CASE("reconcile: selected services bring their dependencies, not their dependents") {
  auto p = chain();
  ReconcileOptions o;
  o.services = {"api"};
  CHECK(plan_text(p, Snapshot{}, o) == R"(
1  create_network  network:app_default  local  missing
2  create_volume   volume:app_data      local  missing
3  create          container:app-db-1   local  missing          after 1,2
4  start           container:app-db-1   local  missing          after 3
5  wait_healthy    service:db           local  service_healthy  after 4
6  create          container:app-api-1  local  missing          after 1,5
7  start           container:app-api-1  local  missing          after 6
)");
  o.no_deps = true;
  CHECK(plan_text(p, Snapshot{}, o) == R"(
1  create_network  network:app_default  local  missing
2  create_volume   volume:app_data      local  missing
3  create          container:app-api-1  local  missing  after 1
4  start           container:app-api-1  local  missing  after 3
)");
  o.services = {"nope"};
  CHECK(plan_text(p, Snapshot{}, o) == "error: no such service: nope");
}

TEST_CASE("reconcile: orphans are a warning, or removed with remove_orphans") {
  auto p = chain();
  p.disabled_services = {"debug"};
  auto snap = converged(p);
  auto old = svc("old");
  snap.containers.push_back(ctr(p, old, 1));
  snap.containers.push_back(ctr(p, svc("debug"), 1));  // profile-disabled: not an orphan
  auto oneoff = ctr(p, svc("api"), 1);
  oneoff.name = "app-api-run-0123456789ab";
  oneoff.labels.oneoff = true;
  oneoff.labels.config_hash = "whatever";
  snap.containers.push_back(oneoff);  // one-offs are never converged
  auto other = ctr(p, svc("web"), 1);
  other.labels.project = "other";
  other.name = "other-web-1";
  snap.containers.push_back(other);  // another project's
  auto plan = reconcile(p, snap, {});
  REQUIRE(plan.ok());
  CHECK(plan->empty());
  CHECK(plan->warnings() ==
        std::vector<std::string>{
            "Found orphan containers ([app-old-1]) for this project. If you removed or renamed "
            "this service in your compose file, you can run this command with the "
            "--remove-orphans flag to clean it up."});
  ReconcileOptions o;
  o.remove_orphans = true;
  auto removing = reconcile(p, snap, o);
  REQUIRE(removing.ok());
  CHECK(removing->warnings().empty());
  CHECK("\n" + removing->to_string() == R"(
1  stop    container:app-old-1  local  orphan
2  remove  container:app-old-1  local  orphan  after 1
)");
}

TEST_CASE("reconcile: a dependency cycle is an error naming it") {
  auto p = chain();
  find(p, "db").depends_on["web"] = {Condition::kStarted, true, false};
  CHECK(plan_text(p, Snapshot{}) == "error: dependency cycle: api → db → web → api");
  auto q = chain();
  find(q, "web").depends_on["ghost"] = {Condition::kStarted, false, false};
  CHECK(reconcile(q, converged(q), {})->empty());  // optional and absent: skipped
  find(q, "web").depends_on["ghost"].required = true;
  CHECK(plan_text(q, converged(q)) == "error: service web depends on undefined service ghost");
}

TEST_CASE("reconcile: no_start creates in dependency order and starts nothing") {
  auto p = chain();
  ReconcileOptions o;
  o.no_start = true;
  CHECK(plan_text(p, Snapshot{}, o) == R"(
1  create_network  network:app_default  local  missing
2  create_volume   volume:app_data      local  missing
3  create          container:app-db-1   local  missing  after 1,2
4  create          container:app-api-1  local  missing  after 1,3
5  create          container:app-web-1  local  missing  after 1,4
)");
}

TEST_CASE("reconcile: completed_successfully gates on a one-shot job") {
  DesiredProject p;
  p.name = "app";
  auto migrate = svc("migrate");
  migrate.networks.clear();
  auto app = svc("app");
  app.networks.clear();
  app.depends_on["migrate"] = {Condition::kCompletedSuccessfully, true, false};
  p.services = {app, migrate};
  CHECK(plan_text(p, Snapshot{}) == R"(
1  create          container:app-migrate-1  local  missing
2  start           container:app-migrate-1  local  missing                         after 1
3  wait_completed  service:migrate          local  service_completed_successfully  after 2
4  create          container:app-app-1      local  missing                         after 3
5  start           container:app-app-1      local  missing                         after 4
)");
  // An exited one-shot runs again on every up, as Compose's startService starts every
  // container that is not running; what depends on it waits again.
  Snapshot snap;
  snap.containers.push_back(ctr(p, migrate, 1, ContainerState::kExited));
  snap.containers.push_back(ctr(p, app, 1));
  p.services[0].config_hash = "hash-app-v2";
  CHECK(plan_text(p, snap) == R"(
1  start           container:app-migrate-1           local  stopped
2  wait_completed  service:migrate                   local  service_completed_successfully  after 1
3  create          container:app100000000_app-app-1  local  config hash changed             after 2
4  stop            container:app-app-1               local  config hash changed             after 3
5  remove          container:app-app-1               local  config hash changed             after 4
6  rename          container:app100000000_app-app-1  local  config hash changed             after 5  to=app-app-1
7  start           container:app-app-1               local  config hash changed             after 6
)");
}

TEST_CASE("reconcile: an interrupted recreate converges without duplicates") {
  auto p = chain();
  auto snap = converged(p);
  auto web = find(p, "web");
  auto leftover = ctr(p, web, 1, ContainerState::kCreated);
  leftover.id = "feedfacecafe" + std::string(52, '0');
  leftover.name = recreate_temp_name(ctr(p, web, 1).id, "app-web-1");
  SECTION("original still there: the replacement is an extra") {
    snap.containers.push_back(leftover);
    CHECK(plan_text(p, snap) == R"(
1  stop    container:web100000000_app-web-1  local  interrupted recreate
2  remove  container:web100000000_app-web-1  local  interrupted recreate  after 1
)");
  }
  SECTION("original gone: the replacement takes the name and starts") {
    snap.containers.erase(std::remove_if(snap.containers.begin(), snap.containers.end(),
                                         [](auto& c) { return c.name == "app-web-1"; }),
                          snap.containers.end());
    snap.containers.push_back(leftover);
    CHECK(plan_text(p, snap) == R"(
1  rename  container:web100000000_app-web-1  local  interrupted recreate  to=app-web-1
2  start   container:app-web-1               local  interrupted recreate  after 1
)");
  }
}

TEST_CASE("reconcile: only the temporary-name pattern counts as an interrupted recreate") {
  auto p = chain();
  auto snap = converged(p);
  for (auto& c : snap.containers) {
    if (c.name == "app-web-1") c.name = "hand-made";  // renamed by the user: left alone
  }
  auto plan = reconcile(p, snap, {});
  REQUIRE(plan.ok());
  CHECK(plan->empty());
}

TEST_CASE("reconcile: container_name cannot be scaled") {
  auto p = chain();
  find(p, "db").container_name = "postgres";
  ReconcileOptions o;
  o.scale["db"] = 2;
  CHECK(plan_text(p, Snapshot{}, o) ==
        "error: service db: container_name \"postgres\" requires a single replica; remove the "
        "custom name to scale the service");
  o.scale["db"] = 1;
  CHECK(plan_text(p, Snapshot{}, o).find("container:postgres") != std::string::npos);
}

TEST_CASE("plan_down: reverse dependency order, one-offs too, networks, volumes with -v") {
  auto p = chain();
  find(p, "web").replicas = 2;
  auto snap = converged(p);
  auto oneoff = ctr(p, svc("api"), 1, ContainerState::kExited);
  oneoff.name = "app-api-run-0123456789ab";
  oneoff.labels.oneoff = true;
  snap.containers.push_back(oneoff);
  CHECK("\n" + plan_down(snap, {}).to_string() == R"(
 1  stop            container:app-web-1                 local  down
 2  stop            container:app-web-2                 local  down
 3  stop            container:app-api-1                 local  down  after 1,2
 4  stop            container:app-api-run-0123456789ab  local  down  after 1,2
 5  stop            container:app-db-1                  local  down  after 3,4
 6  remove          container:app-web-1                 local  down  after 1
 7  remove          container:app-web-2                 local  down  after 2
 8  remove          container:app-api-1                 local  down  after 3
 9  remove          container:app-api-run-0123456789ab  local  down  after 4
10  remove          container:app-db-1                  local  down  after 5
11  remove_network  network:app_default                 local  down  after 6,7,8,9,10
)");
  DownOptions v;
  v.volumes = true;
  CHECK("\n" + plan_down(snap, v).to_string() == R"(
 1  stop            container:app-web-1                 local  down
 2  stop            container:app-web-2                 local  down
 3  stop            container:app-api-1                 local  down     after 1,2
 4  stop            container:app-api-run-0123456789ab  local  down     after 1,2
 5  stop            container:app-db-1                  local  down     after 3,4
 6  remove          container:app-web-1                 local  down     after 1
 7  remove          container:app-web-2                 local  down     after 2
 8  remove          container:app-api-1                 local  down     after 3
 9  remove          container:app-api-run-0123456789ab  local  down     after 4
10  remove          container:app-db-1                  local  down     after 5
11  remove_network  network:app_default                 local  down     after 6,7,8,9,10
12  remove_volume   volume:app_data                     local  down -v  after 6,7,8,9,10
)");
}
